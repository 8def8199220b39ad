const express = require("express");
const escapeHtml = require("escape-html");

const app = express();

app.get("/hello", (req, res) => {
  // ruleid: javascript-xss-response
  res.send("<h1>Hello " + req.query.name + "</h1>");
});

app.get("/echo", (req, res) => {
  const text = req.query.text;
  // ruleid: javascript-xss-response
  res.write(`<p>${text}</p>`);
  res.end();
});

app.get("/hello-safe", (req, res) => {
  // ok: javascript-xss-response
  res.send("<h1>Hello " + escapeHtml(req.query.name) + "</h1>");
});

app.get("/api/echo", (req, res) => {
  // ok: javascript-xss-response
  res.json({ text: req.query.text });
});
