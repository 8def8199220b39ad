import { promises as fsp } from "fs";
import * as fs from "fs";
import express from "express";

const app = express();

app.post("/upload", async (req, res) => {
  // ruleid: javascript-path-traversal
  fs.writeFileSync("/srv/uploads/" + req.body.filename, req.body.content);
  // ok: javascript-path-traversal
  await fsp.writeFile("/srv/uploads/latest.txt", String(req.body.content).length.toString());
  res.end();
});
