const express = require("express");
const app = express();
app.post("/calc", (req, res) => {
  res.json({ value: JSON.parse(req.body.payload) });
});
