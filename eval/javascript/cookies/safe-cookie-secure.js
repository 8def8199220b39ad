const express = require("express");
const app = express();
app.get("/login", (req, res) => {
  res.cookie("token", "abc", { secure: true, httpOnly: true, sameSite: "strict" });
  res.end();
});
