const express = require("express");
const axios = require("axios");

const app = express();

app.get("/preview", async (req, res) => {
  // ruleid: javascript-ssrf
  const page = await axios.get(req.query.url);
  res.send(page.data);
});

app.post("/hook", async (req, res) => {
  const target = req.body.callback;
  // ruleid: javascript-ssrf
  await fetch(target, { method: "POST", body: "{}" });
  res.end();
});

app.get("/avatar/:user", async (req, res) => {
  // ok: javascript-ssrf
  const image = await fetch("https://avatars.example.org/u/" + req.params.user);
  res.send(await image.text());
});

const FEEDS = { news: "https://feeds.example.org/news.xml" };

app.get("/feed", async (req, res) => {
  // ok: javascript-ssrf
  const feed = await fetch(FEEDS[req.query.feed]);
  // ruleid: javascript-ssrf
  const direct = await fetch(req.query["url"]);
  res.send(await feed.text() + await direct.text());
});

async function health() {
  // ok: javascript-ssrf
  return fetch("http://localhost:8080/health");
}
