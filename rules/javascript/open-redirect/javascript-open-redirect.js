const express = require("express");

const app = express();

app.post("/login", (req, res) => {
  // ruleid: javascript-open-redirect
  res.redirect(req.query.next);
});

app.get("/go", (req, res) => {
  const target = req.query.to;
  // ruleid: javascript-open-redirect
  res.redirect(302, target);
});

app.get("/profile", (req, res) => {
  // ok: javascript-open-redirect
  res.redirect("/users/" + encodeURIComponent(req.query.id));
});

app.get("/search", (req, res) => {
  // ok: javascript-open-redirect
  res.redirect("/search?q=" + req.query.q);
});

app.get("/mirror", (req, res) => {
  // ruleid: javascript-open-redirect
  res.redirect("//" + req.query.host + "/index.html");
});

app.get("/home", (req, res) => {
  // ok: javascript-open-redirect
  res.redirect("/");
});
