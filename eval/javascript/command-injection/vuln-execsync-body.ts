import { execSync } from "child_process";
import express from "express";

const app = express();
app.post("/zip", (req, res) => {
  const name: string = req.body.name;
  res.send(execSync("zip -r out.zip " + name).toString());
});
