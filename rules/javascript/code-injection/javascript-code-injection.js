const express = require("express");
const vm = require("vm");

const app = express();

app.get("/calc", (req, res) => {
  // ruleid: javascript-code-injection
  const value = eval(req.query.expr);
  // ok: javascript-code-injection
  const parsed = JSON.parse(req.query.expr);
  res.json({ value, parsed });
});

app.post("/rule", (req, res) => {
  const body = req.body;
  // ruleid: javascript-code-injection
  const check = new Function("item", body.predicate);
  // ruleid: javascript-code-injection
  vm.runInNewContext(body.template, {});
  // ok: javascript-code-injection
  setTimeout(() => check(body.item), 10);
  res.end();
});

function constant() {
  // ok: javascript-code-injection
  return eval("1 + 1");
}
