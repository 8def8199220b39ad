const express = require("express");
const app = express();
app.get("/dl/:file", (req, res) => {
  res.sendFile(req.params.file, { root: "/srv/files" });
});
