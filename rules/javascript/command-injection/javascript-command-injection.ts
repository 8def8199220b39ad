import { exec as run } from "node:child_process";
import express, { Request, Response } from "express";

const app = express();

app.get("/lookup", (req: Request, res: Response) => {
  const name = String(req.query.name);
  // ruleid: javascript-command-injection
  run(`nslookup ${name}`, (_err, out) => res.send(out));
  // ok: javascript-command-injection
  run("nslookup example.org", (_err, out) => res.send(out));
});
