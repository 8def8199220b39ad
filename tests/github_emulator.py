"""An emulator of GitHub's REST API, the one network fake the tests use.

It is an aiohttp application served on a loopback port, as strict as GitHub
where a review bot can go wrong, and it records every call.

    from tests.github_emulator import app_key, github  # pytest fixtures

    async def test_something(github, tmp_path):
        github.add_repository("octo/app", repo_path, installation_id=7)
        github.add_pull("octo/app", 1, head="feature", base="main")
        settings = github.settings(tmp_path)       # App auth against github.url
        job = github.job("octo/app", 1)            # a PullRequestJob for it
        ...
        assert github.reviews("octo/app", 1)[0]["state"] == "COMMENTED"
        assert github.calls_to("POST", "/repos/octo/app/pulls/1/reviews")

State: repositories (a real local git repository each; `clone_url` is its
file:// URL), pull requests (`refs/pull/N/head` is written into the real
repository, as GitHub does), collaborators and their roles, installations,
labels, reviews, review comments, issue comments and check runs.

Strictness:
- Every request needs a User-Agent and a token: an installation token minted
  by `POST /app/installations/{id}/access_tokens` with an RS256 JWT signed by
  the App key, or a personal token added with `add_personal_token`. Unknown
  or expired tokens get 401; repositories outside an installation get 404.
- A review is refused with 422 when any comment's path is not in the pull
  request's diff, its line is not an added or context line on the side it
  names, `start_line` is not before `line` or lies in another hunk, a body
  is over 65,536 characters or `commit_id` is not a commit of the pull
  request. The diff is computed with the git CLI from the real repository
  (base...commit, three context lines, renames found), and the 422 answer,
  like GitHub's, does not say which comment was wrong.
- Check runs need an installation token and are refused for more than 50
  annotations, output fields over 65,535 characters or an unknown status or
  conclusion; annotations sent in later PATCHes are appended.
- List endpoints paginate (`per_page`, `page`, a `Link` header) and every
  answer carries `x-ratelimit-*` headers.

Faults: `github.fail_next("POST", "/repos/*/pulls/*/reviews", 403,
headers={"retry-after": "1"}, times=1)` answers the next matching calls with
that status before they reach the handler (with `after=True`, once the
handler has carried them out); such calls are recorded too.
"""

from __future__ import annotations

import base64
import fnmatch
import itertools
import json
import os
import re
import secrets
import subprocess
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pygit2
import pytest
import pytest_asyncio
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.config import Settings
from bot.jobs import PullRequestJob

APP_ID = 4242
APP_SLUG = "bastion"
BODY_LIMIT = 65_536
OUTPUT_LIMIT = 65_535
ANNOTATION_LIMIT = 50
CONCLUSIONS = frozenset({
    "action_required", "cancelled", "failure", "neutral", "success",
    "skipped", "timed_out",
})
STATUSES = frozenset({"queued", "in_progress", "completed"})
ANNOTATION_LEVELS = frozenset({"notice", "warning", "failure"})
REVIEW_EVENTS = {
    "APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED",
    "COMMENT": "COMMENTED",
}
ROLE_PERMISSION = {
    "admin": "admin", "maintain": "write", "write": "write",
    "triage": "read", "read": "read", "none": "none",
}
DOCS = "https://docs.github.com/rest"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Refused(Exception):
    """An answer other than success, raised from inside a handler."""

    def __init__(self, status: int, message: str, errors: list[Any] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors


def unprocessable(*errors: Any) -> Refused:
    return Refused(422, "Unprocessable Entity", list(errors))


# -- the pull request's diff, as GitHub computes it ----------------------------


@dataclass
class DiffHunk:
    right: set[int] = field(default_factory=set)
    left: set[int] = field(default_factory=set)


@dataclass
class DiffFile:
    path: str
    hunks: list[DiffHunk] = field(default_factory=list)

    def hunk_of(self, line: int, side: str) -> int | None:
        """The index of the hunk that shows `line` on `side`."""
        for index, hunk in enumerate(self.hunks):
            if line in (hunk.right if side == "RIGHT" else hunk.left):
                return index
        return None


HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def git(path: Path, *args: str) -> str:
    """Run git on `path`, away from the user's configuration (diff prefixes...)."""
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    run = subprocess.run(
        ["git", "-C", str(path), "-c", "core.quotePath=false", *args],
        capture_output=True, text=True, check=False, env=env,
    )
    if run.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {run.stderr.strip()}")
    return run.stdout


def pull_diff(path: Path, base: str, head: str) -> dict[str, DiffFile]:
    """Parse `git diff base...head` into files and hunks of line numbers."""
    text = git(path, "diff", "--no-color", "--no-ext-diff", "-M", "-U3",
               "--src-prefix=a/", "--dst-prefix=b/", f"{base}...{head}")
    files: dict[str, DiffFile] = {}
    current: DiffFile | None = None
    old = new = old_left = new_left = 0

    for line in text.split("\n"):
        if old_left > 0 or new_left > 0:
            hunk = current.hunks[-1]  # type: ignore[union-attr]
            if line.startswith("\\"):
                continue
            tag = line[:1]
            if tag in ("-", " "):
                hunk.left.add(old)
                old, old_left = old + 1, old_left - 1
            if tag in ("+", " "):
                hunk.right.add(new)
                new, new_left = new + 1, new_left - 1
            continue

        if line.startswith("diff --git "):
            current = DiffFile(path=line.split(" b/", 1)[-1])
            files[current.path] = current
        elif line.startswith("+++ b/") and current is not None:
            del files[current.path]
            # git ends a path holding spaces with a tab.
            current.path = line[6:].removesuffix("\t")
            files[current.path] = current
        elif line.startswith("rename to ") and current is not None:
            del files[current.path]
            current.path = line[len("rename to "):]
            files[current.path] = current
        elif (match := HUNK_HEADER.match(line)) and current is not None:
            old, old_left = int(match[1]), int(match[2] or 1)
            new, new_left = int(match[3]), int(match[4] or 1)
            current.hunks.append(DiffHunk())
    return files


# -- state ---------------------------------------------------------------------


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    json: Any
    headers: dict[str, str]
    status: int = 0


@dataclass
class Fault:
    method: str
    path_glob: str
    status: int
    headers: dict[str, str]
    body: dict[str, Any]
    times: int
    after: bool = False


@dataclass
class Pull:
    number: int
    user: str
    base_ref: str
    head_ref: str
    base_sha: str
    head_sha: str
    draft: bool = False
    state: str = "open"
    head_repository: str | None = None
    labels: list[str] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    review_comments: list[dict[str, Any]] = field(default_factory=list)
    issue_comments: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Repository:
    full_name: str
    path: Path
    default_branch: str
    installation_id: int | None
    id: int
    private: bool = True
    pulls: dict[int, Pull] = field(default_factory=dict)
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)
    collaborators: dict[str, str] = field(default_factory=dict)
    check_runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def clone_url(self) -> str:
        return self.path.resolve().as_uri()


@dataclass
class Caller:
    """Who a request is authenticated as."""

    kind: str  # "installation" | "user"
    login: str
    installation_id: int | None = None


CALLER = web.RequestKey("caller", Caller)
BODY = web.RequestKey("body", object)


@dataclass
class AppKey:
    app_id: int
    private_pem: bytes
    public_pem: bytes


def make_app_key(app_id: int = APP_ID) -> AppKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    return AppKey(app_id, private_pem, public_pem)


def now_iso(offset: float = 0.0) -> str:
    moment = datetime.fromtimestamp(time.time() + offset, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class GitHubEmulator:
    """GitHub's REST API for one App, its installations and repositories."""

    def __init__(self, key: AppKey, *, token_lifetime: float = 3600.0) -> None:
        self.key = key
        self.token_lifetime = token_lifetime
        self.url = ""
        self.calls: list[Call] = []
        self.repositories: dict[str, Repository] = {}
        self.installations: set[int] = set()
        self.tokens: dict[str, tuple[int, float]] = {}
        self.personal_tokens: dict[str, str] = {}
        self.faults: list[Fault] = []
        self.annotations: dict[int, list[dict[str, Any]]] = {}
        self.remaining: dict[str, int] = {}
        self._ids = itertools.count(1000)
        self.app = self._build_app()

    @property
    def bot_login(self) -> str:
        return f"{APP_SLUG}[bot]"

    # -- test-facing setup -----------------------------------------------------

    def add_installation(self, installation_id: int) -> None:
        self.installations.add(installation_id)

    def add_personal_token(self, token: str, login: str) -> None:
        self.personal_tokens[token] = login

    def add_repository(
        self, full_name: str, path: Path, *, installation_id: int | None = 1,
        default_branch: str | None = None, private: bool = True,
    ) -> Repository:
        """Serve the real git repository at `path` as `full_name`."""
        if installation_id is not None:
            self.add_installation(installation_id)
        branch = default_branch or git(path, "symbolic-ref", "--short", "HEAD").strip()
        repo = Repository(
            full_name, Path(path), branch, installation_id, next(self._ids), private
        )
        self.repositories[full_name] = repo
        return repo

    def set_permission(self, repository: str, user: str, role: str) -> None:
        assert role in ROLE_PERMISSION, role
        self.repositories[repository].collaborators[user] = role

    def add_pull(
        self, repository: str, number: int, *, head: str, base: str | None = None,
        user: str = "octocat", draft: bool = False,
        head_repository: str | None = None,
    ) -> Pull:
        """Open pull request `number` from `head` (a branch or sha) into `base`."""
        repo = self.repositories[repository]
        base_ref = base or repo.default_branch
        base_sha = git(repo.path, "rev-parse", f"{base_ref}^{{commit}}").strip()
        pull = Pull(
            number, user, base_ref, head, base_sha, "", draft,
            head_repository=head_repository,
        )
        repo.pulls[number] = pull
        repo.collaborators.setdefault(user, "none")
        self.push(repository, number, head)
        return pull

    def push(self, repository: str, number: int, head: str) -> str:
        """Move the pull request's head to `head`, as a push to its branch does."""
        repo = self.repositories[repository]
        sha = git(repo.path, "rev-parse", f"{head}^{{commit}}").strip()
        git(repo.path, "update-ref", f"refs/pull/{number}/head", sha)
        repo.pulls[number].head_sha = sha
        return sha

    def fail_next(
        self, method: str, path_glob: str, status: int, *,
        headers: dict[str, str] | None = None, times: int = 1,
        body: dict[str, Any] | None = None, after: bool = False,
    ) -> None:
        """Answer the next `times` matching calls with `status`.

        With `after`, the call is carried out first and the error answered
        anyway, as when a server fails after it has committed a write.
        """
        message = {
            403: "You have exceeded a secondary rate limit. Please wait a few "
                 "minutes before you try again.",
            429: "Too Many Requests",
        }.get(status, "Server Error" if status >= 500 else "Error")
        self.faults.append(Fault(
            method.upper(), path_glob, status, dict(headers or {}),
            body or {"message": message, "documentation_url": DOCS}, times, after,
        ))

    def settings(self, tmp_path: Path, **overrides: Any) -> Settings:
        """Bot settings that authenticate as this App against this emulator."""
        key_path = tmp_path / "app-key.pem"
        key_path.write_bytes(self.key.private_pem)
        values: dict[str, Any] = {
            "github_api_url": self.url,
            "app_id": self.key.app_id,
            "private_key_path": key_path,
            "data_dir": tmp_path / "data",
        }
        values.update(overrides)
        return Settings(**values)

    def job(self, repository: str, number: int, delivery_id: str = "delivery-1",
            trigger: str = "pull_request.opened") -> PullRequestJob:
        """The job a webhook delivery for this pull request would queue."""
        repo = self.repositories[repository]
        pull = repo.pulls[number]
        return PullRequestJob(
            delivery_id=delivery_id, repository=repository, number=number,
            head_sha=pull.head_sha, base_sha=pull.base_sha,
            base_ref=pull.base_ref, clone_url=repo.clone_url,
            default_branch=repo.default_branch,
            installation_id=repo.installation_id, trigger=trigger,
            head_repository=pull.head_repository or repository,
        )

    # -- test-facing inspection ------------------------------------------------

    def pull(self, repository: str, number: int) -> Pull:
        return self.repositories[repository].pulls[number]

    def reviews(self, repository: str, number: int) -> list[dict[str, Any]]:
        return [r for r in self.pull(repository, number).reviews]

    def review_comments(self, repository: str, number: int) -> list[dict[str, Any]]:
        return list(self.pull(repository, number).review_comments)

    def issue_comments(self, repository: str, number: int) -> list[dict[str, Any]]:
        return list(self.pull(repository, number).issue_comments)

    def labels(self, repository: str, number: int) -> list[str]:
        return list(self.pull(repository, number).labels)

    def check_runs(self, repository: str, sha: str | None = None) -> list[dict[str, Any]]:
        runs = self.repositories[repository].check_runs
        return [r for r in runs if sha is None or r["head_sha"] == sha]

    def calls_to(self, method: str, path_glob: str) -> list[Call]:
        return [
            c for c in self.calls
            if c.method == method.upper() and fnmatch.fnmatchcase(c.path, path_glob)
        ]

    # -- the application ---------------------------------------------------------

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._record, self._faults, self._auth])
        repo = "/repos/{owner}/{name}"
        pulls = repo + "/pulls/{number:\\d+}"
        issues = repo + "/issues/{number:\\d+}"
        app.router.add_get("/app", self.get_app)
        app.router.add_post(
            "/app/installations/{installation:\\d+}/access_tokens", self.mint_token
        )
        app.router.add_get("/user", self.get_user)
        app.router.add_get(repo, self.get_repository)
        app.router.add_get(pulls, self.get_pull)
        app.router.add_get(pulls + "/reviews", self.list_reviews)
        app.router.add_post(pulls + "/reviews", self.create_review)
        app.router.add_delete(pulls + "/reviews/{review:\\d+}", self.delete_review)
        app.router.add_put(
            pulls + "/reviews/{review:\\d+}/dismissals", self.dismiss_review
        )
        app.router.add_get(pulls + "/comments", self.list_review_comments)
        app.router.add_post(repo + "/check-runs", self.create_check_run)
        app.router.add_get(repo + "/check-runs/{run:\\d+}", self.get_check_run)
        app.router.add_patch(repo + "/check-runs/{run:\\d+}", self.update_check_run)
        app.router.add_get(
            repo + "/check-runs/{run:\\d+}/annotations", self.list_annotations
        )
        app.router.add_get(repo + "/commits/{ref}/check-runs", self.list_check_runs)
        app.router.add_get(repo + "/labels", self.list_labels)
        app.router.add_post(repo + "/labels", self.create_label)
        app.router.add_get(issues + "/labels", self.list_issue_labels)
        app.router.add_post(issues + "/labels", self.add_issue_labels)
        app.router.add_delete(issues + "/labels/{label}", self.remove_issue_label)
        app.router.add_get(issues + "/comments", self.list_issue_comments)
        app.router.add_post(issues + "/comments", self.create_issue_comment)
        app.router.add_patch(
            repo + "/issues/comments/{comment:\\d+}", self.update_issue_comment
        )
        app.router.add_get(
            repo + "/collaborators/{user}/permission", self.get_permission
        )
        app.router.add_get(repo + "/contents/{path:.*}", self.get_contents)
        return app

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw
        call = Call(
            request.method, request.path, dict(request.query), body,
            {k.lower(): v for k, v in request.headers.items()},
        )
        self.calls.append(call)
        request[BODY] = body
        try:
            response = await handler(request)
        except Refused as refused:
            response = self._refusal(refused)
        except web.HTTPNotFound:
            response = self._refusal(Refused(404, "Not Found"))
        except web.HTTPMethodNotAllowed:
            response = self._refusal(Refused(404, "Not Found"))
        call.status = response.status
        return response

    def _refusal(self, refused: Refused) -> web.Response:
        data: dict[str, Any] = {"message": refused.message, "documentation_url": DOCS}
        if refused.errors is not None:
            data["errors"] = refused.errors
            data["status"] = str(refused.status)
        return web.json_response(data, status=refused.status)

    @web.middleware
    async def _faults(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        for fault in self.faults:
            if fault.times <= 0 or fault.method != request.method:
                continue
            if not fnmatch.fnmatchcase(request.path, fault.path_glob):
                continue
            fault.times -= 1
            if fault.after:
                await handler(request)
            return web.json_response(fault.body, status=fault.status, headers=fault.headers)
        return await handler(request)

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.headers.get("User-Agent"):
            raise Refused(403, "Request forbidden by administrative rules. "
                               "Please make sure your request has a User-Agent header")
        scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
        if request.path.startswith("/app"):
            self._verify_jwt(scheme, credential)
            return await handler(request)

        request[CALLER] = self._token_caller(credential)
        response = await handler(request)
        self._rate_headers(response, credential)
        return response

    def _verify_jwt(self, scheme: str, credential: str) -> None:
        if scheme.lower() != "bearer":
            raise Refused(401, "A JSON web token could not be decoded")
        try:
            claims = jwt.decode(
                credential, self.key.public_pem, algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"]}, leeway=0,
            )
        except jwt.PyJWTError as exc:
            raise Refused(401, f"A JSON web token could not be decoded: {exc}") from None
        if str(claims["iss"]) != str(self.key.app_id):
            raise Refused(401, "'Issuer' claim ('iss') must be an Integer")
        if claims["exp"] - claims["iat"] > 660 or claims["iat"] > time.time() + 60:
            raise Refused(401, "'Expiration time' claim ('exp') is too far in the future")

    def _token_caller(self, credential: str) -> Caller:
        if credential in self.personal_tokens:
            return Caller("user", self.personal_tokens[credential])
        minted = self.tokens.get(credential)
        if minted is None or minted[1] <= time.time():
            raise Refused(401, "Bad credentials")
        return Caller("installation", self.bot_login, minted[0])

    def _rate_headers(self, response: web.StreamResponse, credential: str) -> None:
        remaining = self.remaining.get(credential, 5000) - 1
        self.remaining[credential] = remaining
        response.headers["x-ratelimit-limit"] = "5000"
        response.headers["x-ratelimit-remaining"] = str(max(remaining, 0))
        response.headers["x-ratelimit-used"] = str(5000 - remaining)
        response.headers["x-ratelimit-reset"] = str(int(time.time()) + 3600)
        response.headers["x-ratelimit-resource"] = "core"

    # -- helpers for handlers --------------------------------------------------

    def _repository(self, request: web.Request) -> Repository:
        full_name = f"{request.match_info['owner']}/{request.match_info['name']}"
        repo = self.repositories.get(full_name)
        caller: Caller = request[CALLER]
        if repo is None:
            raise Refused(404, "Not Found")
        if caller.kind == "installation" and repo.installation_id != caller.installation_id:
            raise Refused(404, "Not Found")
        return repo

    def _pull(self, request: web.Request) -> tuple[Repository, Pull]:
        repo = self._repository(request)
        pull = repo.pulls.get(int(request.match_info["number"]))
        if pull is None:
            raise Refused(404, "Not Found")
        return repo, pull

    def _json(self, request: web.Request) -> dict[str, Any]:
        body = request[BODY]
        if not isinstance(body, dict):
            raise Refused(400, "Problems parsing JSON")
        return body

    def _user(self, login: str) -> dict[str, Any]:
        kind = "Bot" if login.endswith("[bot]") else "User"
        return {"login": login, "type": kind, "id": zlib.crc32(login.encode()) % 10**7}

    def _paginate(self, request: web.Request, items: list[Any]) -> web.Response:
        per_page = min(int(request.query.get("per_page", "30")), 100)
        page = max(int(request.query.get("page", "1")), 1)
        last = max((len(items) + per_page - 1) // per_page, 1)
        chunk = items[(page - 1) * per_page: page * per_page]
        links = []
        if page < last:
            links.append(self._link(request, page + 1, "next"))
            links.append(self._link(request, last, "last"))
        if page > 1:
            links.append(self._link(request, 1, "first"))
            links.append(self._link(request, page - 1, "prev"))
        headers = {"Link": ", ".join(links)} if links else {}
        return web.json_response(chunk, headers=headers)

    def _link(self, request: web.Request, page: int, rel: str) -> str:
        url = request.url.update_query(page=str(page))
        return f'<{url}>; rel="{rel}"'

    # -- apps and users --------------------------------------------------------

    async def get_app(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"id": self.key.app_id, "slug": APP_SLUG, "name": "Bastion"}
        )

    async def mint_token(self, request: web.Request) -> web.Response:
        installation = int(request.match_info["installation"])
        if installation not in self.installations:
            raise Refused(404, "Not Found")
        token = f"ghs_{secrets.token_hex(16)}"
        self.tokens[token] = (installation, time.time() + self.token_lifetime)
        return web.json_response(
            {"token": token, "expires_at": now_iso(self.token_lifetime),
             "permissions": {"pull_requests": "write", "checks": "write",
                             "contents": "read", "issues": "write"},
             "repository_selection": "selected"},
            status=201,
        )

    async def get_user(self, request: web.Request) -> web.Response:
        caller: Caller = request[CALLER]
        if caller.kind == "installation":
            raise Refused(403, "Resource not accessible by integration")
        return web.json_response(self._user(caller.login))

    # -- repositories and pull requests ---------------------------------------

    def _repo_json(self, repo: Repository) -> dict[str, Any]:
        owner, name = repo.full_name.split("/")
        return {
            "id": repo.id, "name": name, "full_name": repo.full_name,
            "owner": {"login": owner}, "private": repo.private,
            "default_branch": repo.default_branch, "clone_url": repo.clone_url,
        }

    def _pull_json(self, repo: Repository, pull: Pull) -> dict[str, Any]:
        head_repo = self._repo_json(repo)
        if pull.head_repository and pull.head_repository != repo.full_name:
            head_repo = {**head_repo, "full_name": pull.head_repository}
        return {
            "number": pull.number, "state": pull.state, "draft": pull.draft,
            "user": self._user(pull.user),
            "head": {"sha": pull.head_sha, "ref": pull.head_ref, "repo": head_repo},
            "base": {"sha": pull.base_sha, "ref": pull.base_ref,
                     "repo": self._repo_json(repo)},
            "labels": [repo.labels[n.lower()] for n in pull.labels],
        }

    async def get_repository(self, request: web.Request) -> web.Response:
        return web.json_response(self._repo_json(self._repository(request)))

    async def get_pull(self, request: web.Request) -> web.Response:
        repo, pull = self._pull(request)
        return web.json_response(self._pull_json(repo, pull))

    async def get_permission(self, request: web.Request) -> web.Response:
        repo = self._repository(request)
        user = request.match_info["user"]
        known = {p.user for r in self.repositories.values() for p in r.pulls.values()}
        known |= {u for r in self.repositories.values() for u in r.collaborators}
        if user not in known:
            raise Refused(404, f"{user} is not a user")
        role = repo.collaborators.get(user, "none")
        return web.json_response({
            "permission": ROLE_PERMISSION[role], "role_name": role,
            "user": self._user(user),
        })

    async def get_contents(self, request: web.Request) -> web.Response:
        repo = self._repository(request)
        ref = request.query.get("ref", repo.default_branch)
        path = request.match_info["path"].strip("/")
        git_repo = pygit2.Repository(str(repo.path))
        try:
            commit = git_repo.revparse_single(ref).peel(pygit2.Commit)
            entry = commit.tree[path] if path else commit.tree
        except (KeyError, ValueError, pygit2.GitError):
            raise Refused(404, "Not Found") from None
        if isinstance(entry, pygit2.Tree):
            return web.json_response([
                {"type": "dir" if e.type_str == "tree" else "file",
                 "name": e.name, "path": f"{path}/{e.name}".strip("/")}
                for e in entry
            ])
        data = git_repo[entry.id].data
        encoded = base64.encodebytes(data).decode("ascii")
        return web.json_response({
            "type": "file", "encoding": "base64", "size": len(data),
            "name": path.rsplit("/", 1)[-1], "path": path, "sha": str(entry.id),
            "content": encoded,
        })

    # -- reviews -----------------------------------------------------------------

    async def list_reviews(self, request: web.Request) -> web.Response:
        _, pull = self._pull(request)
        caller: Caller = request[CALLER]
        visible = [
            r for r in pull.reviews
            if r["state"] != "PENDING" or r["user"]["login"] == caller.login
        ]
        return self._paginate(request, visible)

    async def list_review_comments(self, request: web.Request) -> web.Response:
        _, pull = self._pull(request)
        pending = {r["id"] for r in pull.reviews if r["state"] == "PENDING"}
        visible = [
            c for c in pull.review_comments if c["pull_request_review_id"] not in pending
        ]
        return self._paginate(request, visible)

    async def create_review(self, request: web.Request) -> web.Response:
        repo, pull = self._pull(request)
        caller: Caller = request[CALLER]
        data = self._json(request)
        commit = data.get("commit_id") or pull.head_sha
        event = data.get("event")
        body = data.get("body") or ""
        comments = data.get("comments") or []

        self._check_review(repo, pull, caller, commit, event, body, comments)
        diff = pull_diff(repo.path, pull.base_sha, commit)
        for comment in comments:
            self._check_comment(diff, comment)

        review = {
            "id": next(self._ids), "user": self._user(caller.login), "body": body,
            "state": REVIEW_EVENTS.get(event or "", "PENDING"),
            "commit_id": commit, "submitted_at": None if event is None else now_iso(),
        }
        pull.reviews.append(review)
        for comment in comments:
            pull.review_comments.append(self._review_comment(review, comment))
        return web.json_response(review)

    def _check_review(
        self, repo: Repository, pull: Pull, caller: Caller, commit: str,
        event: Any, body: Any, comments: Any,
    ) -> None:
        if event is not None and event not in REVIEW_EVENTS:
            raise unprocessable(f"Invalid event: {event}")
        if not isinstance(body, str) or not isinstance(comments, list):
            raise Refused(400, "Problems parsing JSON")
        if event in ("REQUEST_CHANGES", "COMMENT") and not body and not comments:
            raise unprocessable(f"Review Body is required for {event}")
        if len(body) > BODY_LIMIT:
            raise unprocessable("Body is too long (maximum is 65536 characters)")
        if event in ("REQUEST_CHANGES", "APPROVE") and caller.login == pull.user:
            raise unprocessable("Can not request changes on your own pull request")
        if event is None and any(
            r["state"] == "PENDING" and r["user"]["login"] == caller.login
            for r in pull.reviews
        ):
            raise unprocessable("User can only have one pending review per pull request")
        if not self._in_pull(repo, pull, commit):
            raise unprocessable(f"No commit found for SHA: {commit}")

    def _in_pull(self, repo: Repository, pull: Pull, commit: str) -> bool:
        if not re.fullmatch(r"[0-9a-f]{40}", str(commit)):
            return False
        try:
            git(repo.path, "merge-base", "--is-ancestor", commit, pull.head_sha)
        except RuntimeError:
            return False
        return True

    def _check_comment(self, diff: dict[str, DiffFile], comment: Any) -> None:
        if not isinstance(comment, dict) or not isinstance(comment.get("body"), str):
            raise unprocessable("Pull request review thread body can't be blank")
        if len(comment["body"]) > BODY_LIMIT:
            raise unprocessable("Body is too long (maximum is 65536 characters)")
        path = comment.get("path")
        if path not in diff:
            raise unprocessable("Pull request review thread path could not be resolved")
        line, side = comment.get("line"), comment.get("side", "RIGHT")
        if not isinstance(line, int) or side not in ("LEFT", "RIGHT"):
            raise unprocessable("Pull request review thread line must be part of the diff")
        hunk = diff[path].hunk_of(line, side)
        if hunk is None:
            raise unprocessable("Pull request review thread line must be part of the diff")

        start = comment.get("start_line")
        if start is None:
            return
        start_side = comment.get("start_side", side)
        if not isinstance(start, int) or start >= line:
            raise unprocessable(
                "Pull request review thread start line must precede the end line"
            )
        if diff[path].hunk_of(start, start_side) != hunk:
            raise unprocessable(
                "Pull request review thread start line must be in the same hunk"
            )

    def _review_comment(self, review: dict[str, Any], comment: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": next(self._ids), "pull_request_review_id": review["id"],
            "user": review["user"], "body": comment["body"], "path": comment["path"],
            "line": comment["line"], "original_line": comment["line"],
            "side": comment.get("side", "RIGHT"),
            "start_line": comment.get("start_line"),
            "start_side": comment.get("start_side"),
            "commit_id": review["commit_id"],
            "original_commit_id": review["commit_id"], "created_at": now_iso(),
        }

    async def delete_review(self, request: web.Request) -> web.Response:
        _, pull = self._pull(request)
        review = self._find(pull.reviews, int(request.match_info["review"]))
        if review["state"] != "PENDING":
            raise unprocessable("Can not delete a non-pending pull request review")
        pull.reviews.remove(review)
        pull.review_comments = [
            c for c in pull.review_comments if c["pull_request_review_id"] != review["id"]
        ]
        return web.json_response(review)

    async def dismiss_review(self, request: web.Request) -> web.Response:
        _, pull = self._pull(request)
        review = self._find(pull.reviews, int(request.match_info["review"]))
        data = self._json(request)
        if not data.get("message"):
            raise unprocessable("message wasn't supplied")
        if review["state"] == "PENDING":
            raise unprocessable("Can not dismiss a pending pull request review")
        review["state"] = "DISMISSED"
        return web.json_response(review)

    def _find(self, items: list[dict[str, Any]], item_id: int) -> dict[str, Any]:
        for item in items:
            if item["id"] == item_id:
                return item
        raise Refused(404, "Not Found")

    # -- check runs ------------------------------------------------------------

    async def create_check_run(self, request: web.Request) -> web.Response:
        repo = self._repository(request)
        self._require_app(request)
        data = self._json(request)
        if not data.get("name") or not isinstance(data.get("name"), str):
            raise unprocessable({"resource": "CheckRun", "code": "missing_field",
                                 "field": "name"})
        sha = data.get("head_sha")
        if not isinstance(sha, str) or not self._commit_exists(repo, sha):
            raise unprocessable(f"No commit found for SHA: {sha}")

        run: dict[str, Any] = {
            "id": next(self._ids), "name": data["name"], "head_sha": sha,
            "status": "queued", "conclusion": None, "started_at": now_iso(),
            "completed_at": None, "app": {"id": self.key.app_id, "slug": APP_SLUG},
            "external_id": data.get("external_id", ""),
            "output": {"title": None, "summary": None, "text": None,
                       "annotations_count": 0},
        }
        self.annotations[run["id"]] = []
        self._apply_check_run(run, data)
        repo.check_runs.append(run)
        return web.json_response(run, status=201)

    async def update_check_run(self, request: web.Request) -> web.Response:
        repo = self._repository(request)
        self._require_app(request)
        run = self._find(repo.check_runs, int(request.match_info["run"]))
        self._apply_check_run(run, self._json(request))
        return web.json_response(run)

    async def get_check_run(self, request: web.Request) -> web.Response:
        repo = self._repository(request)
        return web.json_response(self._find(repo.check_runs, int(request.match_info["run"])))

    async def list_annotations(self, request: web.Request) -> web.Response:
        repo = self._repository(request)
        run = self._find(repo.check_runs, int(request.match_info["run"]))
        return self._paginate(request, self.annotations[run["id"]])

    async def list_check_runs(self, request: web.Request) -> web.Response:
        repo = self._repository(request)
        ref = request.match_info["ref"]
        runs = [
            r for r in repo.check_runs
            if r["head_sha"] == ref
            and request.query.get("check_name", r["name"]) == r["name"]
        ]
        per_page = min(int(request.query.get("per_page", "30")), 100)
        return web.json_response(
            {"total_count": len(runs), "check_runs": runs[:per_page]}
        )

    def _require_app(self, request: web.Request) -> None:
        if request[CALLER].kind != "installation":
            raise Refused(403, "You must authenticate via a GitHub App.")

    def _commit_exists(self, repo: Repository, sha: str) -> bool:
        if not re.fullmatch(r"[0-9a-f]{40}", sha):
            return False
        try:
            git(repo.path, "cat-file", "-e", f"{sha}^{{commit}}")
        except RuntimeError:
            return False
        return True

    def _apply_check_run(self, run: dict[str, Any], data: dict[str, Any]) -> None:
        """Validate a create or update body, then apply it to `run`."""
        status = data.get("status")
        conclusion = data.get("conclusion")
        if status is not None and status not in STATUSES:
            raise unprocessable(f"Invalid status: {status}")
        if conclusion is not None and conclusion not in CONCLUSIONS:
            raise unprocessable(f"Invalid conclusion: {conclusion}")
        if status == "completed" and conclusion is None and run["conclusion"] is None:
            raise unprocessable("Conclusion is required when status is completed")
        output = data.get("output")
        annotations = self._check_output(output) if output is not None else []

        if conclusion is not None:
            run["status"], run["conclusion"] = "completed", conclusion
            run["completed_at"] = now_iso()
        elif status is not None:
            run["status"] = status
        if output is not None:
            for key in ("title", "summary", "text"):
                if key in output:
                    run["output"][key] = output[key]
            self.annotations[run["id"]].extend(annotations)
            run["output"]["annotations_count"] = len(self.annotations[run["id"]])

    def _check_output(self, output: Any) -> list[dict[str, Any]]:
        if not isinstance(output, dict):
            raise Refused(400, "Problems parsing JSON")
        for key in ("title", "summary"):
            if not isinstance(output.get(key), str) or not output[key]:
                raise unprocessable({"resource": "CheckRun", "code": "missing_field",
                                     "field": f"output.{key}"})
        for key in ("title", "summary", "text"):
            if len(output.get(key) or "") > OUTPUT_LIMIT:
                raise unprocessable(f"Invalid request.\n\nOnly {OUTPUT_LIMIT} characters "
                                    f"are allowed; {len(output[key])} were supplied.")
        annotations = output.get("annotations") or []
        if len(annotations) > ANNOTATION_LIMIT:
            raise unprocessable("Invalid request.\n\nOnly 50 annotations are allowed "
                                "per request.")
        for annotation in annotations:
            self._check_annotation(annotation)
        return list(annotations)

    def _check_annotation(self, annotation: Any) -> None:
        required = ("path", "start_line", "end_line", "annotation_level", "message")
        if not isinstance(annotation, dict) or any(k not in annotation for k in required):
            raise unprocessable("Invalid request.\n\nAn annotation is missing a field.")
        if annotation["annotation_level"] not in ANNOTATION_LEVELS:
            raise unprocessable("Invalid request.\n\nUnknown annotation_level.")
        if annotation["start_line"] > annotation["end_line"]:
            raise unprocessable("Invalid request.\n\nstart_line is after end_line.")
        has_columns = "start_column" in annotation or "end_column" in annotation
        if has_columns and annotation["start_line"] != annotation["end_line"]:
            raise unprocessable("Invalid request.\n\nColumns need a single line.")
        if len(annotation["message"]) > BODY_LIMIT:
            raise unprocessable("Invalid request.\n\nAnnotation message is too long.")

    # -- labels ------------------------------------------------------------------

    async def list_labels(self, request: web.Request) -> web.Response:
        return self._paginate(request, list(self._repository(request).labels.values()))

    async def create_label(self, request: web.Request) -> web.Response:
        repo = self._repository(request)
        data = self._json(request)
        name = data.get("name")
        color = str(data.get("color", "ededed"))
        if not isinstance(name, str) or not name or len(name) > 50:
            raise Refused(422, "Validation Failed", [
                {"resource": "Label", "code": "invalid", "field": "name"}])
        if not re.fullmatch(r"[0-9a-fA-F]{6}", color):
            raise Refused(422, "Validation Failed", [
                {"resource": "Label", "code": "invalid", "field": "color"}])
        if name.lower() in repo.labels:
            raise Refused(422, "Validation Failed", [
                {"resource": "Label", "code": "already_exists", "field": "name"}])
        label = self._new_label(name, color, data.get("description") or "")
        repo.labels[name.lower()] = label
        return web.json_response(label, status=201)

    def _new_label(self, name: str, color: str, description: str) -> dict[str, Any]:
        return {"id": next(self._ids), "name": name, "color": color.lower(),
                "description": description, "default": False}

    async def list_issue_labels(self, request: web.Request) -> web.Response:
        repo, pull = self._pull(request)
        return self._paginate(request, [repo.labels[n.lower()] for n in pull.labels])

    async def add_issue_labels(self, request: web.Request) -> web.Response:
        repo, pull = self._pull(request)
        names = self._json(request).get("labels")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise unprocessable({"resource": "Label", "code": "invalid", "field": "labels"})
        for name in names:
            # GitHub creates a label it does not know, in its default colour.
            if name.lower() not in repo.labels:
                repo.labels[name.lower()] = self._new_label(name, "ededed", "")
            if name.lower() not in {n.lower() for n in pull.labels}:
                pull.labels.append(repo.labels[name.lower()]["name"])
        return web.json_response([repo.labels[n.lower()] for n in pull.labels])

    async def remove_issue_label(self, request: web.Request) -> web.Response:
        repo, pull = self._pull(request)
        name = request.match_info["label"]
        matching = [n for n in pull.labels if n.lower() == name.lower()]
        if not matching:
            raise Refused(404, "Label does not exist")
        pull.labels.remove(matching[0])
        return web.json_response([repo.labels[n.lower()] for n in pull.labels])

    # -- issue comments --------------------------------------------------------

    async def list_issue_comments(self, request: web.Request) -> web.Response:
        _, pull = self._pull(request)
        return self._paginate(request, pull.issue_comments)

    async def create_issue_comment(self, request: web.Request) -> web.Response:
        _, pull = self._pull(request)
        body = self._issue_comment_body(request)
        comment = {
            "id": next(self._ids), "user": self._user(request[CALLER].login),
            "body": body, "created_at": now_iso(), "updated_at": now_iso(),
        }
        pull.issue_comments.append(comment)
        return web.json_response(comment, status=201)

    async def update_issue_comment(self, request: web.Request) -> web.Response:
        repo = self._repository(request)
        comment_id = int(request.match_info["comment"])
        for pull in repo.pulls.values():
            for comment in pull.issue_comments:
                if comment["id"] == comment_id:
                    comment["body"] = self._issue_comment_body(request)
                    comment["updated_at"] = now_iso()
                    return web.json_response(comment)
        raise Refused(404, "Not Found")

    def _issue_comment_body(self, request: web.Request) -> str:
        body = self._json(request).get("body")
        if not isinstance(body, str) or not body:
            raise unprocessable({"resource": "IssueComment", "code": "missing_field",
                                 "field": "body"})
        if len(body) > BODY_LIMIT:
            raise unprocessable("Body is too long (maximum is 65536 characters)")
        return body


# -- fixtures -------------------------------------------------------------------


@pytest.fixture(scope="session")
def app_key() -> AppKey:
    """One RSA key pair for the App, made once per test session."""
    return make_app_key()


@pytest_asyncio.fixture
async def github(aiohttp_server: Any, app_key: AppKey) -> AsyncIterator[GitHubEmulator]:
    """A running emulator; `github.url` is its base URL."""
    emulator = GitHubEmulator(app_key)
    server = await aiohttp_server(emulator.app)
    emulator.url = str(server.make_url("")).rstrip("/")
    yield emulator
