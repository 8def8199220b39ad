const express = require("express");
const serialize = require("node-serialize");

const app = express();

app.get("/profile", (req, res) => {
  const raw = Buffer.from(req.cookies.profile, "base64").toString();
  // ruleid: javascript-node-serialize
  const profile = serialize.unserialize(raw);
  // ok: javascript-node-serialize
  const safe = JSON.parse(raw);
  // ok: javascript-node-serialize
  res.send(serialize.serialize({ profile, safe }));
});
