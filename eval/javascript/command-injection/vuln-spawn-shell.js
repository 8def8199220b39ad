const express = require("express");
const { spawn } = require("child_process");
const app = express();

app.get("/grep", (req, res) => {
  const child = spawn("grep -r " + req.query.pattern + " /srv/logs", { shell: true });
  child.stdout.pipe(res);
});
