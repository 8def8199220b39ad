"""The only module that talks to GitHub: authentication and the REST calls.

`GitHubApp` lives once per process: it holds the HTTP session, the App's
private key, the installation-token cache and the per-installation pacing of
writes. `GitHubClient` is what a job uses: one installation's (or the
personal token's) view of the REST API, in the field's terms.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
import gidgethub
from gidgethub import apps

from bot.config import ConfigError, Settings
from bot.github.mirror import MirrorStore
from bot.github.transport import (
    GitHubError,
    Pacer,
    RetryPolicy,
    Transport,
    fill,
    server_errors_retried,
    translate,
)

__all__ = ["GitHubApp", "GitHubClient", "GitHubError", "RetryPolicy"]

log = logging.getLogger(__name__)

# Installation tokens last an hour; renew early so none expires mid-job.
TOKEN_RENEW_MARGIN = 300.0
MUTATIONS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


@dataclass
class _Token:
    value: str
    expires_at: float


class GitHubApp:
    """One per process: the session, the App key, tokens and write pacing."""

    def __init__(
        self, settings: Settings, session: aiohttp.ClientSession, *,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.session = session
        self.retry = retry or RetryPolicy()
        self.mirrors = MirrorStore(settings.data_dir / "mirrors")
        self._private_key = self._read_private_key()
        self._tokens: dict[int, _Token] = {}
        self._token_locks: dict[int, asyncio.Lock] = {}
        self._pacers: dict[int | None, Pacer] = {}
        self._login: str | None = settings.bot_login

    def _read_private_key(self) -> bytes | None:
        path = self.settings.private_key_path
        if path is None:
            return None
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the App's private key: {exc}") from None

    def transport(self, context: Mapping[str, Any] | None = None) -> Transport:
        return Transport(
            self.session, base_url=self.settings.github_api_url, retry=self.retry,
            context=context or {},
        )

    def uses_app(self, installation_id: int | None) -> bool:
        return installation_id is not None and self._private_key is not None

    async def client(
        self, installation_id: int | None, *, context: Mapping[str, Any] | None = None
    ) -> GitHubClient:
        """A client for one installation, or for the personal token when it is None."""
        if self.uses_app(installation_id):
            if self.settings.app_id is None:
                raise ConfigError("app_id is required with private_key_path")
        elif self.settings.github_token is None:
            raise ConfigError(
                "no GitHub credentials: set app_id and private_key_path "
                "(GitHub App) or github_token"
            )
        pacer = self._pacers.setdefault(installation_id, Pacer(self.retry.mutation_interval))
        return GitHubClient(self, installation_id, self.transport(context), pacer)

    async def token(self, installation_id: int | None) -> str:
        """The token for a request: a cached installation token, or the personal one."""
        if not self.uses_app(installation_id):
            assert self.settings.github_token is not None
            return self.settings.github_token.get_secret_value()

        assert installation_id is not None
        lock = self._token_locks.setdefault(installation_id, asyncio.Lock())
        async with lock:
            cached = self._tokens.get(installation_id)
            if cached is None or cached.expires_at - TOKEN_RENEW_MARGIN <= time.time():
                cached = await self._mint(installation_id)
                self._tokens[installation_id] = cached
            return cached.value

    async def _mint(self, installation_id: int) -> _Token:
        assert self._private_key is not None
        try:
            answer = await apps.get_installation_access_token(
                self.transport({"installation_id": installation_id}),
                installation_id=str(installation_id),
                app_id=str(self.settings.app_id),
                private_key=self._private_key,
            )
        except gidgethub.HTTPException as exc:
            raise translate("POST", "access_tokens", exc) from None
        expires = datetime.fromisoformat(answer["expires_at"]).timestamp()
        log.info("installation token minted", extra={"installation_id": installation_id})
        return _Token(answer["token"], expires)

    def forget_token(self, installation_id: int | None) -> None:
        """Drop a token GitHub no longer accepts, so the next request mints one."""
        if installation_id is not None:
            self._tokens.pop(installation_id, None)

    async def login(self, installation_id: int | None) -> str:
        """The login the bot's reviews and comments appear under."""
        if self._login is not None:
            return self._login
        transport = self.transport()
        try:
            if self.uses_app(installation_id):
                assert self._private_key is not None
                jwt = apps.get_jwt(
                    app_id=str(self.settings.app_id), private_key=self._private_key
                )
                app = await transport.getitem("/app", jwt=jwt)
                self._login = f"{app['slug']}[bot]"
            else:
                user = await transport.getitem(
                    "/user", oauth_token=await self.token(installation_id)
                )
                self._login = str(user["login"])
        except gidgethub.HTTPException as exc:
            raise translate("GET", "/app or /user", exc) from None
        return self._login



def _split(repository: str) -> dict[str, str]:
    owner, _, name = repository.partition("/")
    if not owner or not name:
        raise ValueError(f"repository must be owner/name, not {repository!r}")
    return {"owner": owner, "repo": name}


REPO = "/repos/{owner}/{repo}"
PULL = REPO + "/pulls/{number}"
ISSUE = REPO + "/issues/{number}"


class GitHubClient:
    """One installation's view of the REST API (or the personal token's)."""

    def __init__(
        self, app: GitHubApp, installation_id: int | None, transport: Transport,
        pacer: Pacer,
    ) -> None:
        self.app = app
        self.installation_id = installation_id
        self._transport = transport
        self._pacer = pacer

    @property
    def is_app(self) -> bool:
        """Check runs need an App; a personal token cannot write them."""
        return self.app.uses_app(self.installation_id)

    async def login(self) -> str:
        return await self.app.login(self.installation_id)

    async def clone_credentials(self) -> tuple[str, str]:
        """User name and password for fetching over HTTPS."""
        return "x-access-token", await self.app.token(self.installation_id)

    # -- plumbing --------------------------------------------------------------

    async def _call(
        self, method: str, url: str, url_vars: Mapping[str, Any], data: Any = b"",
        *, retry_server_errors: bool = True,
    ) -> Any:
        token = await self.app.token(self.installation_id)
        try:
            with server_errors_retried(retry_server_errors):
                if method in MUTATIONS:
                    async with self._pacer.turn():
                        return await self._send(method, url, url_vars, data, token)
                return await self._send(method, url, url_vars, data, token)
        except gidgethub.HTTPException as exc:
            if int(exc.status_code) == 401:
                self.app.forget_token(self.installation_id)
            raise translate(method, fill(url, url_vars), exc) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise GitHubError(method, fill(url, url_vars), None, repr(exc)) from None

    async def _send(
        self, method: str, url: str, url_vars: Mapping[str, Any], data: Any, token: str
    ) -> Any:
        gh = self._transport
        if method == "GET":
            return await gh.getitem(url, url_vars, oauth_token=token)
        if method == "POST":
            return await gh.post(url, url_vars, data=data, oauth_token=token)
        if method == "PATCH":
            return await gh.patch(url, url_vars, data=data, oauth_token=token)
        if method == "PUT":
            return await gh.put(url, url_vars, data=data, oauth_token=token)
        return await gh.delete(url, url_vars, oauth_token=token)

    async def _list(
        self, url: str, url_vars: Mapping[str, Any], iterable_key: str | None = None
    ) -> list[Any]:
        """Every item of a paginated list, a hundred per page."""
        token = await self.app.token(self.installation_id)
        items: list[Any] = []
        try:
            pages = self._transport.getiter(
                url + "?per_page=100", url_vars, oauth_token=token,
                iterable_key=iterable_key,
            )
            async for item in pages:
                items.append(item)
        except gidgethub.HTTPException as exc:
            if int(exc.status_code) == 401:
                self.app.forget_token(self.installation_id)
            raise translate("GET", fill(url, url_vars), exc) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise GitHubError("GET", fill(url, url_vars), None, repr(exc)) from None
        return items

    # -- repositories and pull requests ---------------------------------------

    async def get_repository(self, repository: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", REPO, _split(repository))
        return result

    async def get_pull(self, repository: str, number: int) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "GET", PULL, {**_split(repository), "number": number}
        )
        return result

    async def permission(self, repository: str, user: str) -> str:
        """The user's role: admin, maintain, write, triage, read or none."""
        try:
            answer = await self._call(
                "GET", REPO + "/collaborators/{user}/permission",
                {**_split(repository), "user": user},
            )
        except GitHubError as exc:
            if exc.status == 404:
                return "none"
            raise
        return str(answer.get("role_name") or answer.get("permission") or "none")

    async def get_file(self, repository: str, path: str, ref: str) -> bytes | None:
        """A file's bytes at `ref`, or None when it is not there."""
        try:
            answer = await self._call(
                "GET", REPO + "/contents/{+path}{?ref}",
                {**_split(repository), "path": path, "ref": ref},
            )
        except GitHubError as exc:
            if exc.status == 404:
                return None
            raise
        if not isinstance(answer, dict) or answer.get("type") != "file":
            return None
        return base64.b64decode(answer["content"])

    # -- reviews -----------------------------------------------------------------

    async def list_reviews(self, repository: str, number: int) -> list[dict[str, Any]]:
        return await self._list(PULL + "/reviews", {**_split(repository), "number": number})

    async def list_review_comments(
        self, repository: str, number: int
    ) -> list[dict[str, Any]]:
        return await self._list(PULL + "/comments", {**_split(repository), "number": number})

    async def create_review(
        self, repository: str, number: int, review: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Create a review; a server error is not retried, since it may have landed."""
        result: dict[str, Any] = await self._call(
            "POST", PULL + "/reviews", {**_split(repository), "number": number},
            dict(review), retry_server_errors=False,
        )
        return result

    async def delete_pending_review(
        self, repository: str, number: int, review_id: int
    ) -> None:
        await self._call(
            "DELETE", PULL + "/reviews/{review_id}",
            {**_split(repository), "number": number, "review_id": review_id},
        )

    async def dismiss_review(
        self, repository: str, number: int, review_id: int, message: str
    ) -> None:
        await self._call(
            "PUT", PULL + "/reviews/{review_id}/dismissals",
            {**_split(repository), "number": number, "review_id": review_id},
            {"message": message, "event": "DISMISS"},
        )

    # -- check runs ------------------------------------------------------------

    async def create_check_run(
        self, repository: str, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "POST", REPO + "/check-runs", _split(repository), dict(data)
        )
        return result

    async def update_check_run(
        self, repository: str, run_id: int, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "PATCH", REPO + "/check-runs/{run_id}",
            {**_split(repository), "run_id": run_id}, dict(data),
        )
        return result

    async def find_check_run(
        self, repository: str, sha: str, name: str
    ) -> dict[str, Any] | None:
        """This App's latest check run called `name` on commit `sha`, if any."""
        runs = await self._list(
            REPO + "/commits/{sha}/check-runs",
            {**_split(repository), "sha": sha}, iterable_key="check_runs",
        )
        ours = [r for r in runs if r.get("name") == name]
        return max(ours, key=lambda r: r["id"]) if ours else None

    # -- labels ------------------------------------------------------------------

    async def list_labels(self, repository: str) -> list[str]:
        labels = await self._list(REPO + "/labels", _split(repository))
        return [label["name"] for label in labels]

    async def create_label(
        self, repository: str, name: str, color: str, description: str = ""
    ) -> bool:
        """Create a label; False when it exists already."""
        try:
            await self._call(
                "POST", REPO + "/labels", _split(repository),
                {"name": name, "color": color, "description": description},
            )
        except GitHubError as exc:
            exists = exc.status == 422 and "already_exists" in repr(exc.errors)
            if exists:
                return False
            raise
        return True

    async def issue_labels(self, repository: str, number: int) -> list[str]:
        labels = await self._list(
            ISSUE + "/labels", {**_split(repository), "number": number}
        )
        return [label["name"] for label in labels]

    async def add_labels(self, repository: str, number: int, names: list[str]) -> None:
        await self._call(
            "POST", ISSUE + "/labels", {**_split(repository), "number": number},
            {"labels": names},
        )

    async def remove_label(self, repository: str, number: int, name: str) -> None:
        """Remove a label from the pull request; one already gone is fine."""
        try:
            await self._call(
                "DELETE", ISSUE + "/labels/{name}",
                {**_split(repository), "number": number, "name": name},
            )
        except GitHubError as exc:
            if exc.status != 404:
                raise

    # -- issue comments --------------------------------------------------------

    async def list_issue_comments(
        self, repository: str, number: int
    ) -> list[dict[str, Any]]:
        return await self._list(
            ISSUE + "/comments", {**_split(repository), "number": number}
        )

    async def create_issue_comment(
        self, repository: str, number: int, body: str
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "POST", ISSUE + "/comments", {**_split(repository), "number": number},
            {"body": body},
        )
        return result

    async def update_issue_comment(
        self, repository: str, comment_id: int, body: str
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "PATCH", REPO + "/issues/comments/{comment_id}",
            {**_split(repository), "comment_id": comment_id}, {"body": body},
        )
        return result

