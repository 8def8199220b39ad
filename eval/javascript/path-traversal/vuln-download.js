const express = require("express");
const app = express();
app.get("/dl/:file", (req, res) => {
  res.download("/srv/files/" + req.params.file);
});
