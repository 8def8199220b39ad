import express from "express";

const app = express();
app.post("/ping-hook", async (req, res) => {
  await fetch(req.body.url, { method: "POST" });
  res.end();
});
