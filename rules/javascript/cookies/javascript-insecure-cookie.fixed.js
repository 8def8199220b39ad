const express = require("express");
const session = require("express-session");

const app = express();
// ruleid: javascript-insecure-cookie
app.use(session({ secret: process.env.SESSION_SECRET, cookie: { secure: true } }));

app.post("/login", (req, res) => {
  // ruleid: javascript-insecure-cookie
  res.cookie("sid", "value", { httpOnly: true, secure: true });
  // ok: javascript-insecure-cookie
  res.cookie("theme", "dark", { httpOnly: true, secure: true, sameSite: "lax" });
  res.end();
});
