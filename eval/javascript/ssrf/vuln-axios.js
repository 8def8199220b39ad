const express = require("express");
const app = express();
const axios = require("axios");

app.get("/proxy", async (req, res) => {
  const r = await axios.get(req.query.target);
  res.send(r.data);
});
