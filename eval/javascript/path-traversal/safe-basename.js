const express = require("express");
const app = express();
const fs = require("fs");
const path = require("path");

app.get("/img", (req, res) => {
  fs.readFile(path.join("/srv/img", path.basename(req.query.file)), (e, d) => res.send(d));
});
