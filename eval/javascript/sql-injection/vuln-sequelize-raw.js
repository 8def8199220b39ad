const express = require("express");
const app = express();
const { sequelize } = require("./db");

app.get("/report", async (req, res) => {
  const sql = "SELECT * FROM sales WHERE region = '" + req.query.region + "'";
  res.json(await sequelize.query(sql));
});
