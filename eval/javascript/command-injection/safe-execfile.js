const express = require("express");
const app = express();
const { execFile } = require("child_process");

app.get("/whois", (req, res) => {
  execFile("whois", [req.query.domain], (err, out) => res.send(out));
});
