const express = require("express");
const fs = require("fs");
const path = require("path");
const app = express();
const BASE = path.resolve("/srv/files");

app.get("/f", (req, res) => {
  const target = path.resolve(BASE, req.query.name);
  if (!target.startsWith(BASE + path.sep)) {
    return res.status(404).end();
  }
  return fs.createReadStream(target).pipe(res);
});
