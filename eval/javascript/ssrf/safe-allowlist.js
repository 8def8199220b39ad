const express = require("express");
const app = express();
const TARGETS = { status: "https://status.example.org/api" };

app.get("/proxy", async (req, res) => {
  const r = await fetch(TARGETS[req.query.name] || TARGETS.status);
  res.send(await r.text());
});
