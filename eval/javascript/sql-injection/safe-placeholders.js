const express = require("express");
const app = express();
const mysql = require("mysql");
const pool = mysql.createPool({ host: "db" });

app.get("/item", (req, res) => {
  pool.query("SELECT * FROM items WHERE sku = ?", [req.query.sku], (e, r) => res.json(r));
});
