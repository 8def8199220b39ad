"""The structure step on real source in every language it names."""

from __future__ import annotations

import json
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.structure import (
    LANGUAGES,
    context_for,
    detect_language,
    parse,
    parses,
    replacement_parses,
    semgrep_language,
)

PYTHON = """\
import os


@dataclass
class Handler:
    @staticmethod
    def get(req):
        def inner():
            return 1
        return inner()


def top():
    pass
"""

JAVASCRIPT = """\
const express = require("express");
class Handler {
  get(req, res) {
    res.send(req.query.q);
  }
}
const render = (name) => {
  return `<p>${name}</p>`;
};
app.get("/", function (req, res) {
  res.send("ok");
});
"""

TYPESCRIPT = """\
import { Request } from "express";

@Controller("/users")
export class UserController {
  private cache = new Map<string, string>();

  find(id: string): string | undefined {
    return this.cache.get(id);
  }
}

export const load = async (id: string): Promise<void> => {
  await fetch(id);
};
interface Store {
  get(id: string): string;
}
"""

TSX = """\
import React from "react";

export function Greeting({ name }: { name: string }) {
  const onClick = () => {
    alert(name);
  };
  return <button onClick={onClick}>Hi {name}</button>;
}
"""

GO = """\
package server

import "net/http"

type Server struct {
\tname string
}

func (s *Server) Handle(w http.ResponseWriter, r *http.Request) {
\tgo func() {
\t\ts.log(r)
\t}()
\tw.Write([]byte(s.name))
}

func New() *Server { return &Server{} }
"""

JAVA = """\
package app;

import java.util.List;

public class UserService {
    private final List<String> names;

    public UserService(List<String> names) {
        this.names = names;
    }

    @Override
    public String toString() {
        return String.join(",", names);
    }
}
"""

RUBY = """\
require "json"

module Shop
  class Cart
    def total(items)
      items.sum(&:price)
    end

    def self.build
      new
    end
  end
end
"""

PHP = """\
<?php
namespace App;

class UserController extends Controller
{
    public function show($id)
    {
        $user = User::find($id);
        return view('user', ['user' => $user]);
    }
}

function format_price($x) {
    return $x;
}
"""

C = """\
#include <string.h>

struct buffer {
    char data[64];
};

static char *copy_name(struct buffer *buf, const char *name)
{
    strcpy(buf->data, name);
    return buf->data;
}
"""

CPP = """\
#include <string>

namespace app {
class Handler {
public:
    std::string get(int id) {
        return std::to_string(id);
    }
    void post();
};

void Handler::post() {
    run();
}
}  // namespace app
"""

RUST = """\
use std::fmt;

pub struct Server {
    name: String,
}

impl Server {
    #[inline]
    pub fn handle(&self, path: &str) -> String {
        format!("{}{}", self.name, path)
    }
}

trait Greet {
    fn hello(&self) -> String;
}
"""

CSHARP = """\
using System;

namespace App
{
    public class OrderService
    {
        [HttpGet]
        public int Total(int[] prices)
        {
            return prices.Sum();
        }
    }
}
"""

BASH = """\
#!/bin/bash
set -eu

deploy() {
  local target="$1"
  rsync -a build/ "$target"
}

deploy "$HOST"
"""

SOURCES = {
    "python": PYTHON, "javascript": JAVASCRIPT, "typescript": TYPESCRIPT,
    "tsx": TSX, "go": GO, "java": JAVA, "ruby": RUBY, "php": PHP, "c": C,
    "cpp": CPP, "rust": RUST, "csharp": CSHARP, "bash": BASH,
}

# (language, line, kind, qualified name, start line, end line); kind None
# means no scope encloses the line.
EXPECTED = [
    ("python", 1, None, "", 0, 0),
    ("python", 4, "class", "Handler", 4, 10),
    ("python", 6, "method", "Handler.get", 6, 10),
    ("python", 9, "function", "Handler.get.inner", 8, 9),
    ("python", 11, None, "", 0, 0),
    ("python", 14, "function", "top", 13, 14),
    ("javascript", 1, None, "", 0, 0),
    ("javascript", 4, "method", "Handler.get", 3, 5),
    ("javascript", 6, "class", "Handler", 2, 6),
    ("javascript", 8, "function", "render", 7, 9),
    ("javascript", 11, "function", "<anonymous>", 10, 12),
    ("typescript", 1, None, "", 0, 0),
    ("typescript", 3, "class", "UserController", 3, 10),
    ("typescript", 8, "method", "UserController.find", 7, 9),
    ("typescript", 13, "function", "load", 12, 14),
    ("typescript", 16, "interface", "Store", 15, 17),
    ("tsx", 1, None, "", 0, 0),
    ("tsx", 5, "function", "Greeting.onClick", 4, 6),
    ("tsx", 7, "function", "Greeting", 3, 8),
    ("go", 3, None, "", 0, 0),
    ("go", 6, "type", "Server", 5, 7),
    ("go", 11, "function", "Server.Handle.<anonymous>", 10, 12),
    ("go", 13, "method", "Server.Handle", 9, 14),
    ("go", 16, "function", "New", 16, 16),
    ("java", 3, None, "", 0, 0),
    ("java", 6, "class", "UserService", 5, 16),
    ("java", 9, "constructor", "UserService.UserService", 8, 10),
    ("java", 12, "method", "UserService.toString", 12, 15),
    ("ruby", 1, None, "", 0, 0),
    ("ruby", 6, "method", "Shop.Cart.total", 5, 7),
    ("ruby", 8, "class", "Shop.Cart", 4, 12),
    ("ruby", 10, "method", "Shop.Cart.build", 9, 11),
    ("ruby", 13, "module", "Shop", 3, 13),
    ("php", 2, None, "", 0, 0),
    ("php", 8, "method", "UserController.show", 6, 10),
    ("php", 14, "function", "format_price", 13, 15),
    ("c", 1, None, "", 0, 0),
    ("c", 4, "struct", "buffer", 3, 5),
    ("c", 9, "function", "copy_name", 7, 11),
    ("cpp", 1, None, "", 0, 0),
    ("cpp", 7, "method", "Handler.get", 6, 8),
    ("cpp", 9, "class", "Handler", 4, 10),
    ("cpp", 11, None, "", 0, 0),
    ("cpp", 13, "function", "Handler.post", 12, 14),
    ("rust", 1, None, "", 0, 0),
    ("rust", 4, "struct", "Server", 3, 5),
    ("rust", 8, "method", "Server.handle", 8, 11),
    ("rust", 10, "method", "Server.handle", 8, 11),
    ("rust", 13, None, "", 0, 0),
    ("rust", 15, "trait", "Greet", 14, 16),
    ("csharp", 1, None, "", 0, 0),
    ("csharp", 4, None, "", 0, 0),
    ("csharp", 6, "class", "OrderService", 5, 12),
    ("csharp", 10, "method", "OrderService.Total", 7, 11),
    ("bash", 2, None, "", 0, 0),
    ("bash", 6, "function", "deploy", 4, 7),
    ("bash", 9, None, "", 0, 0),
]


def _lines(text: str, start: int, end: int) -> str:
    return "\n".join(text.split("\n")[start - 1:end])


@pytest.mark.parametrize(("language", "line", "kind", "qualified", "start", "end"),
                         EXPECTED)
def test_enclosing_scope(language, line, kind, qualified, start, end):
    text = SOURCES[language]
    tree = parse(text, language)
    assert tree is not None and not tree.has_errors

    scope = tree.enclosing(line)

    if kind is None:
        assert scope is None
        return
    assert scope is not None
    assert (scope.kind, scope.qualified_name) == (kind, qualified)
    assert scope.name == qualified.rsplit(".", 1)[-1]
    assert (scope.start_line, scope.end_line) == (start, end)
    assert scope.text == _lines(text, start, end)


def test_every_language_has_a_case():
    assert {case[0] for case in EXPECTED} == LANGUAGES == set(SOURCES)


def test_unknown_language_has_no_tree():
    assert parse("x = 1\n", "cobol") is None


def test_lines_out_of_range_have_no_scope():
    tree = parse(PYTHON, "python")

    assert tree.line_count == 14
    assert tree.enclosing(0) is None
    assert tree.enclosing(15) is None


def test_scopes_lists_outer_before_inner():
    tree = parse(PYTHON, "python")

    names = [(s.kind, s.qualified_name) for s in tree.scopes()]

    assert names == [("class", "Handler"), ("method", "Handler.get"),
                     ("function", "Handler.get.inner"), ("function", "top")]


CLASS_WITH_METHODS = """\
class Store:
    def load(self):
        return 1

    def save(self):
        return 2
"""


def test_scopes_for_lines_skips_blank_lines_between_methods():
    tree = parse(CLASS_WITH_METHODS, "python")

    names = [s.qualified_name for s in tree.scopes_for_lines(3, 6)]

    assert names == ["Store.load", "Store.save"]


def test_scopes_for_lines_keeps_a_range_of_blank_lines():
    tree = parse(CLASS_WITH_METHODS, "python")

    assert [s.qualified_name for s in tree.scopes_for_lines(4, 4)] == ["Store"]


def test_scopes_for_lines_lists_each_scope_once_in_order():
    tree = parse(PYTHON, "python")

    names = [s.qualified_name for s in tree.scopes_for_lines(1, 99)]

    assert names == ["Handler", "Handler.get", "Handler.get.inner", "top"]


def test_scopes_for_lines_refuses_a_reversed_range():
    with pytest.raises(ValueError, match="reversed"):
        parse(PYTHON, "python").scopes_for_lines(5, 4)


JS_NAMES = """\
const obj = {
  handle: () => 1,
};
obj.run = function () {
  return 2;
};
class Widget {
  onClick = () => {
    this.clicked = true;
  };
}
"""


@pytest.mark.parametrize(("line", "kind", "qualified"), [
    (2, "function", "handle"),
    (5, "function", "run"),
    (9, "method", "Widget.onClick"),
])
def test_functions_take_the_name_they_are_assigned_to(line, kind, qualified):
    scope = parse(JS_NAMES, "javascript").enclosing(line)

    assert (scope.kind, scope.qualified_name) == (kind, qualified)


def test_go_function_literal_takes_its_variable_name():
    text = "package m\n\nfunc f() {\n\tcheck := func() bool {\n\t\treturn true\n\t}\n}\n"

    scope = parse(text, "go").enclosing(5)

    assert (scope.qualified_name, scope.start_line, scope.end_line) == ("f.check", 4, 6)


@pytest.mark.parametrize(("path", "language"), [
    ("app/main.py", "python"), ("stubs/os.pyi", "python"),
    ("web/app.js", "javascript"), ("web/app.mjs", "javascript"),
    ("web/app.cjs", "javascript"), ("web/App.jsx", "javascript"),
    ("src/index.ts", "typescript"), ("src/index.mts", "typescript"),
    ("src/index.cts", "typescript"), ("src/App.tsx", "tsx"),
    ("cmd/main.go", "go"), ("src/Main.java", "java"), ("lib/cart.rb", "ruby"),
    ("public/index.php", "php"), ("src/buf.c", "c"), ("src/buf.h", "c"),
    ("src/a.cc", "cpp"), ("src/a.cpp", "cpp"), ("src/a.cxx", "cpp"),
    ("src/a.hpp", "cpp"), ("src/a.hh", "cpp"), ("src/lib.rs", "rust"),
    ("src/Order.cs", "csharp"), ("ci/run.sh", "bash"), ("ci/env.bash", "bash"),
    ("LEGACY.PY", "python"), ("README.md", None), ("Makefile", None),
])
def test_detect_language_from_extension(path, language):
    assert detect_language(path) == language


@pytest.mark.parametrize(("head", "language"), [
    (b"#!/usr/bin/env python3\nimport os\n", "python"),
    (b"#!/usr/bin/python3.11\n", "python"),
    (b"#!/usr/bin/env node\n", "javascript"),
    (b"#!/usr/bin/env -S node --no-warnings\n", "javascript"),
    (b"#!/bin/sh\n", "bash"),
    (b"#!/bin/bash -eu\n", "bash"),
    (b"#!/usr/bin/env LANG=C ruby -w\n", "ruby"),
    (b"#!/usr/bin/php\n<?php\n", "php"),
    (b"#!/usr/bin/perl\n", None),
    (b"#!\n", None),
    (b"print('no shebang')\n", None),
    (b"", None),
])
def test_detect_language_from_shebang(head, language):
    assert detect_language("bin/tool", head) == language


def test_extension_wins_over_shebang():
    assert detect_language("tool.py", b"#!/bin/sh\n") == "python"
    assert detect_language("notes.txt", b"#!/usr/bin/env ruby\n") == "ruby"


def test_semgrep_language_names():
    assert semgrep_language("tsx") == "typescript"
    assert semgrep_language("csharp") == "csharp"
    assert semgrep_language("python") == "python"
    assert semgrep_language("cobol") is None


def test_semgrep_accepts_every_language_name(tmp_path):
    semgrep = shutil.which("semgrep")
    if semgrep is None:
        pytest.skip("semgrep is not installed")

    rules = ["rules:"]
    for language in sorted(LANGUAGES):
        rules += [f"  - id: probe-{language}",
                  f"    languages: [{semgrep_language(language)}]",
                  "    message: probe", "    severity: INFO",
                  "    pattern: probe_call(...)"]
    (tmp_path / "rules.yaml").write_text("\n".join(rules) + "\n")
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "a.py").write_text("probe_call(1)\n")

    done = subprocess.run(
        [semgrep, "scan", "--metrics=off", "--disable-version-check", "--json",
         "--config", str(tmp_path / "rules.yaml"), str(tmp_path / "target")],
        capture_output=True, text=True, timeout=120, check=False)

    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["errors"] == []
    assert [r["check_id"].rsplit(".", 1)[-1] for r in report["results"]] == ["probe-python"]


@pytest.mark.parametrize("language", sorted(SOURCES))
def test_parses_real_source(language):
    assert parses(SOURCES[language], language)


@pytest.mark.parametrize("language", sorted(SOURCES))
def test_does_not_parse_unclosed_brackets(language):
    assert not parses(SOURCES[language] + "call(((\n", language)


def test_tsx_needs_the_tsx_grammar():
    assert not parses(TSX, "typescript")


def test_parses_refuses_an_unknown_language():
    with pytest.raises(ValueError, match="cobol"):
        parses("x", "cobol")


def test_error_lines_name_the_broken_line():
    text = "def f():\n    return 1\n\nvalue = (1,\nother = 2\n"

    tree = parse(text, "python")

    assert tree.has_errors
    assert tree.error_lines() == [4]
    assert tree.error_count == 1


def test_clean_file_has_no_error_lines():
    tree = parse(JAVA, "java")

    assert not tree.has_errors
    assert tree.error_lines() == []
    assert tree.error_count == 0


def test_replacement_that_breaks_the_file_is_rejected():
    assert not replacement_parses(PYTHON, "python", 9, 9, "            return (1\n")
    assert not replacement_parses(
        JAVASCRIPT, "javascript", 4, 4, "    res.send(escape(req.query.q);")


def test_replacement_that_parses_is_accepted():
    assert replacement_parses(PYTHON, "python", 9, 9, "            return 2\n")
    assert replacement_parses(
        JAVASCRIPT, "javascript", 4, 4, "    res.send(escape(req.query.q));")


def test_replacement_may_span_several_lines():
    fixed = "            value = compute()\n            return value\n"

    assert replacement_parses(PYTHON, "python", 9, 9, fixed)
    broken = "        items = [\n            1,\n        return items\n"
    assert not replacement_parses(PYTHON, "python", 8, 10, broken)


def test_replacement_may_insert_or_delete_lines():
    assert replacement_parses(PYTHON, "python", 9, 8, "            log()\n")
    assert replacement_parses(PYTHON, "python", 13, 14, "")
    assert not replacement_parses(JAVASCRIPT, "javascript", 6, 6, "")


def test_replacement_is_judged_against_errors_already_there():
    broken = PYTHON + "tail = (\n"

    assert replacement_parses(broken, "python", 9, 9, "            return 2\n")
    assert not replacement_parses(broken, "python", 9, 9, "            return (\n")


def test_replacement_outside_the_file_is_refused():
    with pytest.raises(ValueError, match="outside"):
        replacement_parses(PYTHON, "python", 14, 15, "pass\n")
    with pytest.raises(ValueError, match="outside"):
        replacement_parses(PYTHON, "python", 0, 1, "pass\n")


def test_replacement_in_unknown_language_stands_unchecked():
    assert replacement_parses("key: [1\n", "text", 1, 1, "key: [1, (\n")
    with pytest.raises(ValueError, match="outside"):
        replacement_parses("key: 1\n", "text", 2, 2, "key: 2\n")


def test_context_is_the_enclosing_scope():
    tree = parse(PYTHON, "python")

    symbol, code = context_for(tree, PYTHON, 9)

    assert symbol == "Handler.get.inner"
    assert code == "        def inner():\n            return 1"


def _long_function(body_lines: int) -> str:
    body = "".join(f"    step_{n} = {n}\n" for n in range(body_lines))
    return "import os\n\ndef long():\n" + body + "    return step_0\n"


def test_context_of_a_long_scope_is_a_window_inside_it():
    text = _long_function(100)
    tree = parse(text, "python")

    symbol, code = context_for(tree, text, 60, max_lines=11)

    assert symbol == "long"
    assert code == _lines(text, 55, 65)


def test_context_window_stays_inside_the_scope():
    text = _long_function(100)
    tree = parse(text, "python")

    symbol, code = context_for(tree, text, 4, max_lines=10)

    assert symbol == "long"
    assert code.split("\n")[0] == "def long():"
    assert code == _lines(text, 3, 12)


def test_context_without_a_scope_is_a_window_of_the_file():
    text = "".join(f"line_{n} = {n}\n" for n in range(1, 201))

    symbol, code = context_for(parse(text, "python"), text, 100, max_lines=5)

    assert symbol == ""
    assert code == _lines(text, 98, 102)


def test_context_without_a_tree_is_a_window_at_the_end():
    text = "".join(f"line {n}\n" for n in range(1, 21))

    symbol, code = context_for(None, text, 20, max_lines=4)

    assert (symbol, code) == ("", "line 17\nline 18\nline 19\nline 20")


def test_context_refuses_line_zero():
    with pytest.raises(ValueError):
        context_for(None, "x\n", 0)


NON_ASCII = """\
# Café crème ☕ and a rocket 🚀 before any code
GREETING = "héllo wörld 👋🏽"


def greet(name: str) -> str:
    \"\"\"Say hello — politely 🙂.\"\"\"
    return f"{GREETING}, {name} ✨"


class Ünïcode:
    def ñame(self):
        return "😀"
"""


def test_non_ascii_file_keeps_its_line_numbers():
    tree = parse(NON_ASCII, "python")

    greet = tree.enclosing(7)
    method = tree.enclosing(12)

    assert (greet.qualified_name, greet.start_line, greet.end_line) == ("greet", 5, 7)
    assert greet.text == _lines(NON_ASCII, 5, 7)
    assert (method.qualified_name, method.start_line, method.end_line) == (
        "Ünïcode.ñame", 11, 12)
    assert method.text == '    def ñame(self):\n        return "😀"'
    assert tree.enclosing(2) is None


def test_non_ascii_error_line_is_not_shifted():
    text = 'const s = "ünïcødé 🚀🚀🚀";\nconst t = "é";\nfoo(s, t;\n'

    assert parse(text, "javascript").error_lines() == [3]


def test_crlf_file_keeps_its_line_numbers():
    text = PYTHON.replace("\n", "\r\n")

    scope = parse(text, "python").enclosing(9)

    assert (scope.qualified_name, scope.start_line, scope.end_line) == (
        "Handler.get.inner", 8, 9)
    assert scope.text == "        def inner():\r\n            return 1\r"


def test_parsing_from_several_threads_gives_the_same_scopes():
    cases = [case for case in EXPECTED if case[2] is not None] * 4

    def scope_of(case):
        scope = parse(SOURCES[case[0]], case[0]).enclosing(case[1])
        return scope.qualified_name, scope.start_line, scope.end_line

    with ThreadPoolExecutor(max_workers=4) as pool:
        found = list(pool.map(scope_of, cases))

    assert found == [(c[3], c[4], c[5]) for c in cases]


def big_python_file(classes: int = 250) -> str:
    """Write a Python module of 20 lines per class, methods and all."""
    parts = ["import os\n\n"]
    for n in range(classes):
        parts.append(
            f"\nclass Service{n}:\n"
            f"    limit = {n}\n\n"
            "    def load(self, path):\n"
            "        with open(path) as handle:\n"
            "            data = handle.read()\n"
            "        return data[: self.limit]\n\n"
            "    @property\n"
            "    def size(self):\n"
            "        total = 0\n"
            "        for item in range(self.limit):\n"
            "            total += item\n"
            "        return total\n\n"
            "    def save(self, path, data):\n"
            "        with open(path, 'w') as handle:\n"
            "            handle.write(data)\n"
            "        return len(data)\n"
        )
    return "".join(parts)


def test_five_thousand_line_file():
    text = big_python_file()
    assert text.count("\n") >= 5000
    tree = parse(text, "python")

    # Class n starts on line 4 + 20 n; its size property on line 12 + 20 n.
    scope = tree.enclosing(12 + 20 * 249 + 3)

    assert not tree.has_errors
    assert (scope.qualified_name, scope.start_line, scope.end_line) == (
        "Service249.size", 12 + 20 * 249, 17 + 20 * 249)
    assert len(tree.scopes()) == 250 * 4



def test_undecodable_bytes_keep_their_line_numbers():
    raw = b"# \xff\xfe not UTF-8\ndef f():\n    return '\xe9'\n"
    text = raw.decode("utf-8", "surrogateescape")

    scope = parse(text, "python").enclosing(3)

    assert (scope.name, scope.start_line, scope.end_line) == ("f", 2, 3)
    assert scope.text.encode("utf-8", "surrogateescape") == raw.split(b"\n", 1)[1][:-1]
