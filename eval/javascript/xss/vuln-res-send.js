const express = require("express");
const app = express();
app.get("/search", (req, res) => {
  res.send(`<p>No results for ${req.query.q}</p>`);
});
