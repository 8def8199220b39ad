const express = require("express");
const mysql = require("mysql2");
const { exec } = require("child_process");

const app = express();
const db = mysql.createConnection({ host: "db" });

app.get("/users", (req, res) => {
  // ruleid: javascript-sql-injection-request
  db.query("SELECT * FROM users WHERE name = '" + req.query.name + "'", (e, rows) => res.json(rows));
});

app.get("/orders/:id", (req, res) => {
  const sql = `SELECT * FROM orders WHERE id = ${req.params.id}`;
  // ruleid: javascript-sql-injection-request
  db.query(sql, (e, rows) => res.json(rows));
});

app.get("/users-safe", (req, res) => {
  // ok: javascript-sql-injection-request
  db.query("SELECT * FROM users WHERE name = ?", [req.query.name], (e, rows) => res.json(rows));
});

app.get("/page", (req, res) => {
  // ok: javascript-sql-injection-request
  db.query("SELECT * FROM items LIMIT " + parseInt(req.query.n, 10), (e, rows) => res.json(rows));
});

app.get("/lookup", (req, res) => {
  // ok: javascript-sql-injection-request
  exec("nslookup " + req.query.host, (e, out) => res.send(out));
});
