const express = require("express");
const cp = require("child_process");
const { exec, execFile } = require("child_process");

const app = express();

app.get("/ping", (req, res) => {
  const host = req.query.host;
  // ruleid: javascript-command-injection
  exec("ping -c 1 " + host, (err, out) => res.send(out));
});

app.post("/convert", (req, res) => {
  // ruleid: javascript-command-injection
  const out = cp.execSync(`convert ${req.body.file} out.png`);
  // ok: javascript-command-injection
  execFile("convert", [req.body.file, "out.png"], () => {});
  res.send(out);
});

app.get("/repo/:name", function (req, res) {
  // ruleid: javascript-command-injection
  cp.spawn("git clone " + req.params.name, [], { shell: true });
  // ok: javascript-command-injection
  cp.spawn("git", ["clone", req.params.name]);
  res.end();
});

app.get("/match", (req, res) => {
  const pattern = /^[a-z]+$/;
  // ok: javascript-command-injection
  res.send(pattern.exec(req.query.name));
});

function cleanup() {
  // ok: javascript-command-injection
  exec("rm -rf /tmp/cache");
}
