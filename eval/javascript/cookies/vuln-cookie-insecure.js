const express = require("express");
const app = express();
app.get("/login", (req, res) => {
  res.cookie("token", "abc", { secure: false, httpOnly: false });
  res.end();
});
