const express = require("express");
const app = express();
const axios = require("axios");

app.get("/user/:id", async (req, res) => {
  const r = await axios.get("https://api.internal.example/users/" + req.params.id);
  res.send(r.data);
});
