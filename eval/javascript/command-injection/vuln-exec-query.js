const express = require("express");
const app = express();
const { exec } = require("child_process");

app.get("/whois", (req, res) => {
  exec(`whois ${req.query.domain}`, (err, out) => res.send(out));
});
