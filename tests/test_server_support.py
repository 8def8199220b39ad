"""Shared by the server tests: signed deliveries and the payloads GitHub sends.

The payloads are the project's own, shaped like GitHub's; the real ones
from ../shared are exercised separately in test_server.py.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from typing import Any

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

Client = TestClient[web.Request, web.Application]

SECRET = "it's a secret to everybody"
REPO = "octo/widgets"
_ids = itertools.count(1)


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def new_delivery_id() -> str:
    return f"delivery-{next(_ids):04d}"


async def deliver(
    client: Client,
    event: str,
    payload: Any,
    *,
    delivery: str | None = None,
    secret: str | None = SECRET,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> ClientResponse:
    """POST one delivery the way GitHub does, signed unless `secret` is None."""
    raw = body if body is not None else json.dumps(payload).encode()
    sent = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or new_delivery_id(),
        "User-Agent": "GitHub-Hookshot/test",
    }
    if secret is not None:
        sent["X-Hub-Signature-256"] = sign(raw, secret)
    sent.update(headers or {})
    return await client.post("/webhook", data=raw, headers=sent)


def repository(full_name: str = REPO, clone_url: str | None = None) -> dict[str, Any]:
    owner, name = full_name.split("/")
    return {
        "id": 99, "name": name, "full_name": full_name, "owner": {"login": owner},
        "clone_url": clone_url or f"https://github.com/{full_name}.git",
        "default_branch": "main", "private": True,
    }


def sender(login: str = "octocat", kind: str = "User") -> dict[str, Any]:
    return {"login": login, "id": 1, "type": kind}


def pull_request_payload(
    action: str,
    *,
    head: str,
    base: str = "b" * 40,
    number: int = 7,
    full_name: str = REPO,
    clone_url: str | None = None,
    draft: bool = False,
    updated_at: str | None = None,
    installation: int | None = 1,
    user: dict[str, Any] | None = None,
) -> dict[str, Any]:
    repo = repository(full_name, clone_url)
    pull = {
        "number": number, "state": "open", "draft": draft, "title": "Add widgets",
        "head": {"sha": head, "ref": "feature", "repo": repo},
        "base": {"sha": base, "ref": "main", "repo": repo},
        "user": sender(),
    }
    if updated_at is not None:
        pull["updated_at"] = updated_at
    payload: dict[str, Any] = {
        "action": action, "number": number, "pull_request": pull,
        "repository": repo, "sender": user or sender(),
    }
    if installation is not None:
        payload["installation"] = {"id": installation}
    return payload


def comment_payload(
    body: str,
    *,
    login: str = "octocat",
    number: int = 7,
    on_pull: bool = True,
    full_name: str = REPO,
    clone_url: str | None = None,
    installation: int | None = 1,
) -> dict[str, Any]:
    issue: dict[str, Any] = {"number": number, "title": "Add widgets"}
    if on_pull:
        issue["pull_request"] = {"url": f"https://api.github.com/repos/{full_name}/pulls/7"}
    payload: dict[str, Any] = {
        "action": "created", "issue": issue,
        "comment": {"id": 5, "body": body, "user": sender(login)},
        "repository": repository(full_name, clone_url), "sender": sender(login),
    }
    if installation is not None:
        payload["installation"] = {"id": installation}
    return payload


def check_run_payload(
    *, head: str, app_id: int, numbers: tuple[int, ...] = (7,),
    full_name: str = REPO, clone_url: str | None = None,
) -> dict[str, Any]:
    return {
        "action": "rerequested",
        "check_run": {
            "id": 4, "head_sha": head, "name": "Bastion", "app": {"id": app_id},
            "pull_requests": [{"number": n} for n in numbers],
        },
        "repository": repository(full_name, clone_url),
        "sender": sender(),
        "installation": {"id": 1},
    }
