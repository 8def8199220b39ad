"""Time from one webhook delivery to the posted review, with the default model.

Serves the GitHub emulator and the real server app in this process, on
loopback ports. A real git repository holds a 10-file, 300-line pull
request of Python and JavaScript handlers with a few vulnerable lines.
Each run opens a new pull request on a new head commit, sends one signed
`pull_request.opened` delivery and polls the emulator until the review is
posted. The figure is the median of the runs, with the stage timings the
review engine recorded.

Cold runs (the default) start a fresh server for every run: an empty model
cache and no mirror of the repository; the model is loaded before the
delivery is sent. `--warm` keeps one server and its caches, and reviews the
same files once untimed before the timed runs.

    python bench/e2e_review.py                 # 3 cold runs
    python bench/e2e_review.py --runs 1
    python bench/e2e_review.py --warm --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    # The emulator lives with the tests; run from anywhere.
    sys.path.insert(0, str(ROOT))

from bot.config import ReviewSettings  # noqa: E402
from bot.engine import ReviewEngine, build_engine  # noqa: E402
from bot.findings import ReviewResult  # noqa: E402
from bot.server.app import make_app  # noqa: E402
from bot.server.keys import QUEUE  # noqa: E402
from tests.github_emulator import GitHubEmulator, make_app_key  # noqa: E402
from tests.gitrepo import GitRepo  # noqa: E402
from tests.test_server_support import pull_request_payload, sign  # noqa: E402

REPO = "bench/storefront"
SECRET = "bench-secret"
INSTALLATION = 1
FILES = 10
LINES = 300
POLL_SECONDS = 0.02

# -- the pull request ------------------------------------------------------------

PY_HEADER = '''\
"""Handlers of the {topic} service."""

import pickle
import sqlite3
import subprocess
import time

from flask import Flask, request

app = Flask(__name__)
db = sqlite3.connect("{topic}.db")
'''

PY_BLOCKS = [
    '''

def total_{n}(items):
    """Sum the price of every item in the basket."""
    return sum(item["price"] * item.get("qty", 1) for item in items)
''',
    '''

def normalise_{n}(name):
    """Lower-case a name and drop the blanks around it."""
    cleaned = name.strip().lower()
    if not cleaned:
        raise ValueError("empty name")
    return cleaned
''',
    '''

class Recent{n}:
    """Keep answers for a few seconds."""

    def __init__(self, ttl=30):
        self.ttl = ttl
        self.items = {{}}

    def get(self, key):
        value, stamp = self.items.get(key, (None, 0))
        return value if time.time() - stamp < self.ttl else None
''',
    '''

@app.route("/stock{n}")
def stock_{n}():
    sku = request.args.get("sku", "")
    row = db.execute("SELECT qty FROM stock WHERE sku = ?", (sku,)).fetchone()
    return {{"sku": sku, "qty": row[0] if row else 0}}
''',
]

PY_VULNERABLE = {
    "command": '''

@app.route("/ping{n}")
def ping_{n}():
    host = request.args.get("host", "")
    return subprocess.check_output("ping -c 1 " + host, shell=True)
''',
    "sql": '''

@app.route("/users{n}")
def users_{n}():
    name = request.args.get("name", "")
    cur = db.cursor()
    cur.execute("SELECT * FROM users WHERE name = '%s'" % name)
    return str(cur.fetchall())
''',
    "pickle": '''

@app.route("/restore{n}", methods=["POST"])
def restore_{n}():
    state = pickle.loads(request.get_data())
    return {{"restored": len(state)}}
''',
}

JS_HEADER = '''\
const express = require("express");
const {{ exec }} = require("child_process");

// Routes of the {topic} service.
const router = express.Router();
'''

JS_BLOCKS = [
    '''
function formatPrice{n}(cents) {{
  const euros = Math.floor(cents / 100);
  const rest = String(cents % 100).padStart(2, "0");
  return `${{euros}}.${{rest}}`;
}}
''',
    '''
router.get("/health{n}", (req, res) => {{
  res.json({{ ok: true, uptime: process.uptime() }});
}});
''',
    '''
router.post("/cart{n}", (req, res) => {{
  const items = Array.isArray(req.body.items) ? req.body.items : [];
  const count = items.reduce((sum, item) => sum + (item.qty || 1), 0);
  res.json({{ count }});
}});
''',
]

JS_VULNERABLE = {
    "command": '''
router.get("/lookup{n}", (req, res) => {{
  exec("nslookup " + req.query.host, (err, out) => res.send(out));
}});
''',
    "eval": '''
router.get("/calc{n}", (req, res) => {{
  const value = eval(req.query.expr);
  res.json({{ value }});
}});
''',
}

# (path, topic, vulnerability or None); the first three exist on main already.
LAYOUT = [
    ("shop/orders.py", "orders", "sql"),
    ("shop/stock.py", "stock", None),
    ("web/routes/tools.js", "tools", "command"),
    ("shop/ping.py", "ping", "command"),
    ("shop/session.py", "session", "pickle"),
    ("shop/pricing.py", "pricing", None),
    ("shop/users.py", "users", None),
    ("web/routes/calc.js", "calc", "eval"),
    ("web/routes/cart.js", "cart", None),
    ("web/lib/format.js", "format", None),
]
EXISTING = 3


def lines(text: str) -> list[str]:
    return text.splitlines()


def filler(path: str, index: int) -> str:
    """One line of harmless configuration, to bring a file to its size."""
    if path.endswith(".js"):
        return f"const PAGE_SIZE_{index} = {25 * index};"
    return f"PAGE_SIZE_{index} = {25 * index}"


def added_code(path: str, topic: str, vulnerability: str | None, *,
               header: bool, size: int, seed: int) -> list[str]:
    """Exactly `size` new lines: blocks of handlers, one of them vulnerable."""
    js = path.endswith(".js")
    out = lines((JS_HEADER if js else PY_HEADER).format(topic=topic)) if header else []
    blocks = JS_BLOCKS if js else PY_BLOCKS
    vulnerable = (JS_VULNERABLE if js else PY_VULNERABLE).get(vulnerability or "")
    footer = ["", "module.exports = router;"] if js and header else []

    pending = [vulnerable] if vulnerable else []
    n = seed
    while True:
        block = pending.pop() if pending else blocks[n % len(blocks)]
        chunk = lines(block.format(n=n))
        if len(out) + len(chunk) + len(footer) > size:
            break
        out += chunk
        n += 1
    fill = size - len(out) - len(footer)
    # Set apart from the code above when there is room for a blank line.
    gap = [""] * min(2 if not js else 1, max(fill - 1, 0))
    constants = [filler(path, seed * 100 + k) for k in range(fill - len(gap))]
    return out + gap + constants + footer


def existing_code(path: str, topic: str) -> list[str]:
    """What a file that the pull request extends holds on main."""
    js = path.endswith(".js")
    head = lines((JS_HEADER if js else PY_HEADER).format(topic=topic))
    block = lines((JS_BLOCKS if js else PY_BLOCKS)[0].format(n=0))
    tail = ["", "module.exports = router;"] if js else []
    return head + block + tail


def pull_request_files(files: int, total: int) -> tuple[dict[str, str], dict[str, str]]:
    """The base and head contents: `files` files changed, `total` lines added."""
    layout = [LAYOUT[i % len(LAYOUT)] for i in range(files)]
    base: dict[str, str] = {"README.md": "# storefront\n"}
    head: dict[str, str] = {}
    for index, (path, topic, vulnerability) in enumerate(layout):
        if index >= len(LAYOUT):
            path = path.replace(".", f"_{index}.", 1)
        size = total // files + (1 if index < total % files else 0)
        existing = index < EXISTING
        new = added_code(path, topic, vulnerability, header=not existing, size=size,
                         seed=index + 1)
        if existing:
            old = existing_code(path, topic)
            base[path] = "\n".join(old) + "\n"
            # New handlers go after the existing ones, above a JS module's export.
            keep = old[:-2] if path.endswith(".js") else old
            rest = old[-2:] if path.endswith(".js") else []
            head[path] = "\n".join(keep + new + rest) + "\n"
        else:
            head[path] = "\n".join(new) + "\n"
    return base, head


class Storefront:
    """The repository: main holds the skeleton, each run a branch with the pull request."""

    def __init__(self, root: Path, files: int, total: int) -> None:
        self.repo = GitRepo(root)
        base, self.head = pull_request_files(files, total)
        for path, text in base.items():
            self.repo.write(path, text)
        self.repo.commit_all("Storefront skeleton")

    def new_head(self, run: str) -> str:
        """Branch `bench-RUN` off main with the pull request, on a commit of its own."""
        self.repo.git("checkout", "-q", "-b", f"bench-{run}", "main")
        for path, text in self.head.items():
            self.repo.write(path, text)
        # Each commit gets its own time stamp, so the same files make a new sha.
        sha = self.repo.commit_all(f"Add storefront handlers ({run})")
        self.repo.checkout("main")
        return sha

    def diff_size(self, head: str) -> tuple[int, int, int]:
        """Files changed, lines added and lines removed, as GitHub counts them."""
        numstat = self.repo.git("diff", "--numstat", f"main...{head}").splitlines()
        rows = [row.split("\t") for row in numstat]
        return len(rows), sum(int(r[0]) for r in rows), sum(int(r[1]) for r in rows)


# -- the servers -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


@dataclass
class EngineRun:
    started: float
    finished: float
    stats: dict[str, Any]


class RecordingEngine(ReviewEngine):
    """The configured engine, keeping when each review ran and its stats."""

    def __init__(self, engine: ReviewEngine) -> None:
        super().__init__(engine.model)
        self.runs: list[EngineRun] = []

    def review(self, *args: Any, **kwargs: Any) -> ReviewResult:
        started = time.monotonic()
        result = super().review(*args, **kwargs)
        self.runs.append(EngineRun(started, time.monotonic(), result.stats))
        return result


@dataclass
class Server:
    runner: web.AppRunner
    url: str
    app: web.Application
    engine: RecordingEngine | None = None

    async def ready(self, timeout: float) -> None:
        """Wait for /readyz: the model loaded and the worker running."""
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                async with session.get(f"{self.url}/readyz") as answer:
                    if answer.status == 200:
                        return
                await asyncio.sleep(0.1)
        raise RuntimeError("server not ready: " + await self.problems())

    async def problems(self) -> str:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{self.url}/readyz") as answer:
                return await answer.text()


async def start_server(emulator: GitHubEmulator, data: Path,
                       review: ReviewSettings) -> Server:
    data.mkdir(parents=True, exist_ok=True)
    settings = emulator.settings(
        data, webhook_secret=SECRET, workers=1, bot_login=emulator.bot_login,
        review=review, job_max_attempts=1,
    )
    holder: dict[str, RecordingEngine] = {}

    def load(settings: Any) -> ReviewEngine:
        engine = RecordingEngine(build_engine(settings, use_model=settings.review.use_model))
        holder["engine"] = engine
        return engine

    app = make_app(settings, engine=load)
    runner, url = await serve(app)
    server = Server(runner, url, app)
    await server.ready(timeout=300)
    server.engine = holder["engine"]
    return server


# -- one run -----------------------------------------------------------------------


@dataclass
class Timing:
    acknowledged: float
    check_started: float | None
    posted: float
    check_completed: float | None
    engine: EngineRun | None
    comments: int
    conclusion: str | None


async def send(server: Server, payload: dict[str, Any], delivery: str) -> int:
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json", "User-Agent": "GitHub-Hookshot/bench",
        "X-GitHub-Event": "pull_request", "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign(body, SECRET),
    }
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{server.url}/webhook", data=body,
                                headers=headers) as answer:
            return answer.status


async def review_once(emulator: GitHubEmulator, server: Server, store: Storefront,
                      number: int, timeout: float) -> Timing:
    """Open pull request `number` on a new head, deliver it, wait for the review."""
    head = store.new_head(str(number))
    emulator.add_pull(REPO, number, head=f"bench-{number}", base="main", user="mona")
    pull = emulator.pull(REPO, number)
    payload = pull_request_payload(
        "opened", head=pull.head_sha, base=pull.base_sha, number=number,
        full_name=REPO, clone_url=emulator.repositories[REPO].clone_url,
        installation=INSTALLATION,
    )
    engine_runs = len(server.engine.runs) if server.engine else 0

    sent = time.monotonic()
    status = await send(server, payload, f"bench-delivery-{number}")
    acknowledged = time.monotonic() - sent
    if status != 202:
        raise RuntimeError(f"delivery answered {status}, not 202")

    marks = await watch(emulator, server, number, head, sent, timeout)
    [run] = emulator.check_runs(REPO, head) or [None]
    return Timing(
        acknowledged=acknowledged, check_started=marks.get("check"),
        posted=marks["review"], check_completed=marks.get("completed"),
        engine=engine_run(server, engine_runs, sent),
        comments=len(emulator.review_comments(REPO, number)),
        conclusion=run["conclusion"] if run else None,
    )


def engine_run(server: Server, index: int, sent: float) -> EngineRun | None:
    """The engine's review `index`, its times counted from the delivery."""
    if server.engine is None or len(server.engine.runs) <= index:
        return None
    run = server.engine.runs[index]
    return EngineRun(run.started - sent, run.finished - sent, run.stats)


async def watch(emulator: GitHubEmulator, server: Server, number: int, head: str,
                sent: float, timeout: float) -> dict[str, float]:
    """Poll the emulator; return seconds since the delivery for each milestone."""
    marks: dict[str, float] = {}
    deadline = sent + timeout
    while time.monotonic() < deadline:
        now = time.monotonic() - sent
        runs = emulator.check_runs(REPO, head)
        if runs and "check" not in marks:
            marks["check"] = now
        if emulator.reviews(REPO, number) and "review" not in marks:
            marks["review"] = now
        if runs and runs[0]["status"] == "completed" and "completed" not in marks:
            marks["completed"] = now
        if "review" in marks and "completed" in marks:
            return marks
        if "completed" in marks:
            raise RuntimeError(f"no review posted: {await job_state(server)}")
        await asyncio.sleep(POLL_SECONDS)
    raise RuntimeError(f"no review after {timeout:.0f}s: {await job_state(server)}")


async def job_state(server: Server) -> str:
    jobs = await server.app[QUEUE].jobs()
    return "; ".join(f"job {j.id} {j.state} {j.error or j.outcome or ''}" for j in jobs)


# -- the report --------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def describe(timing: Timing) -> str:
    parts = [f"review posted {timing.posted:.2f}s", f"ack {timing.acknowledged * 1000:.0f}ms"]
    if timing.check_started is not None:
        parts.append(f"check run started {timing.check_started:.2f}s")
    if timing.engine is not None:
        parts.append(f"engine {timing.engine.started:.2f}s-{timing.engine.finished:.2f}s")
        parts.append(f"publish {timing.posted - timing.engine.finished:.2f}s")
    parts.append(f"{timing.comments} inline, check {timing.conclusion}")
    return ", ".join(parts)


def stage_report(timings: list[Timing]) -> list[str]:
    """Median stage timings, as the review engine measured them."""
    runs = [t.engine for t in timings if t.engine is not None]
    if not runs:
        return ["stage timings: not recorded"]
    out = []
    # The engine's own order: scan, structure, model, total.
    stages = list(dict.fromkeys(k for r in runs for k in r.stats.get("timings", {})))
    for stage in stages:
        values = [r.stats["timings"][stage] for r in runs if stage in r.stats["timings"]]
        out.append(f"  engine {stage:<10} {median(values):8.2f}s")
    before = median([r.started for r in runs])
    publish = median([t.posted - t.engine.finished for t in timings if t.engine])
    out.insert(0, f"  before engine     {before:8.2f}s  (queue, check run, fetch, diff)")
    out.append(f"  after engine      {publish:8.2f}s  (review, labels, summary)")
    model = [r.stats.get("model") for r in runs if r.stats.get("model")]
    if model:
        last = model[-1]
        out.append(
            f"  model: {last.get('calls', 0)} calls ({last.get('cached', 0)} cached, "
            f"{last.get('errors', 0)} answers rejected), "
            f"{last.get('prompt_tokens', 0)} prompt + "
            f"{last.get('completion_tokens', 0)} completion tokens, "
            f"budget {last.get('budget_spent', '?')}/{last.get('budget', '?')}, "
            f"{last.get('tokens_per_second', '?')} tokens/s"
        )
    last = runs[-1].stats
    out.append(f"  findings {last.get('findings')} {last.get('by_severity')}, "
               f"semgrep matches {last.get('semgrep_matches')}, "
               f"files reviewed {last.get('files_reviewed')}, "
               f"skip notes {last.get('files_skipped')}")
    return out


# -- main --------------------------------------------------------------------------


async def bench(args: argparse.Namespace, work: Path, say: Callable[[str], None]) -> float:
    store = Storefront(work / "storefront", args.files, args.lines)
    emulator = GitHubEmulator(make_app_key())
    github_runner, emulator.url = await serve(emulator.app)
    emulator.add_repository(REPO, store.repo.root, installation_id=INSTALLATION)
    review = ReviewSettings() if args.token_budget is None else \
        ReviewSettings(token_budget=args.token_budget)

    files, added, removed = store.diff_size(store.new_head("probe"))
    say(f"pull request: {files} files, +{added}/-{removed} lines; "
        f"model default, token budget {review.token_budget}; "
        f"{'warm' if args.warm else 'cold'} runs: {args.runs}")

    timings: list[Timing] = []
    server: Server | None = None
    try:
        if args.warm:
            server = await start_server(emulator, work / "server", review)
            first = await review_once(emulator, server, store, 1, args.timeout)
            say(f"warm-up (untimed): {describe(first)}")
        for index in range(args.runs):
            if not args.warm:
                server = await start_server(emulator, work / f"server-{index}", review)
            assert server is not None
            timing = await review_once(emulator, server, store, 100 + index, args.timeout)
            say(f"run {index + 1}: {describe(timing)}")
            timings.append(timing)
            if not args.warm:
                await server.runner.cleanup()
                server = None
    finally:
        if server is not None:
            await server.runner.cleanup()
        await github_runner.cleanup()

    figure = median([t.posted for t in timings])
    say(f"delivery to posted review: median {figure:.2f}s over {len(timings)} run(s)")
    for line in stage_report(timings):
        say(line)
    return figure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs (default 3)")
    parser.add_argument("--warm", action="store_true",
                        help="one server, caches kept, after an untimed run")
    parser.add_argument("--files", type=int, default=FILES)
    parser.add_argument("--lines", type=int, default=LINES, help="lines added")
    parser.add_argument("--token-budget", type=int, default=None,
                        help="the review's model token budget (default: the setting's)")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="seconds one run may take")
    parser.add_argument("--keep", type=Path, default=None,
                        help="work in this folder and keep it (default: a temporary one)")
    parser.add_argument("-v", "--verbose", action="store_true", help="server logs")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.files < 1 or args.lines < args.files:
        parser.error("need --runs >= 1 and --lines >= --files >= 1")

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        asyncio.run(bench(args, args.keep, print))
        return 0
    with tempfile.TemporaryDirectory(prefix="bastion-e2e-") as tmp:
        asyncio.run(bench(args, Path(tmp), print))
    return 0


if __name__ == "__main__":
    sys.exit(main())
