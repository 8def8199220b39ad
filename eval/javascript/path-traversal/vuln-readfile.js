const express = require("express");
const app = express();
const fs = require("fs");

app.get("/img", (req, res) => {
  fs.readFile("/srv/img/" + req.query.file, (err, data) => res.send(data));
});
