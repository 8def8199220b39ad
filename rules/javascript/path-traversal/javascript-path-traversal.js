const express = require("express");
const fs = require("fs");
const path = require("path");

const app = express();
const BASE = "/srv/files";

app.get("/read", (req, res) => {
  // ruleid: javascript-path-traversal
  const text = fs.readFileSync(path.join(BASE, req.query.name), "utf8");
  res.send(text);
});

app.get("/file/:name", (req, res) => {
  // ruleid: javascript-path-traversal
  res.sendFile(BASE + "/" + req.params.name);
});

app.get("/safe/:name", (req, res) => {
  // ok: javascript-path-traversal
  res.sendFile(req.params.name, { root: BASE });
});

app.delete("/file", (req, res) => {
  // ok: javascript-path-traversal
  fs.unlinkSync(path.join(BASE, path.basename(req.body.name)));
  res.end();
});
