const express = require("express");
const app = express();
app.post("/calc", (req, res) => {
  res.json({ value: eval(req.body.expression) });
});
