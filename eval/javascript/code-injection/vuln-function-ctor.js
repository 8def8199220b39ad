const express = require("express");
const app = express();
app.get("/filter", (req, res) => {
  const predicate = new Function("row", "return " + req.query.where);
  res.json([1, 2, 3].filter(predicate));
});
