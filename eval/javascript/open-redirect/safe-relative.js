const express = require("express");
const app = express();
app.get("/product", (req, res) => {
  res.redirect("/products/" + encodeURIComponent(req.query.id));
});
