"""The only module that talks to GitHub: authentication, retries and pacing.

`GitHubApp` lives once per process: it holds the HTTP session, the App's
private key, the installation-token cache and the per-installation pacing of
writes. `GitHubClient` is what a job uses: one installation's (or the
personal token's) view of the REST API, in the field's terms.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import gidgethub
import gidgethub.aiohttp
from gidgethub import apps, sansio
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
)

from bot import __version__
from bot.config import ConfigError, Settings
from bot.github.mirror import MirrorStore

log = logging.getLogger(__name__)

USER_AGENT = f"bastion-review/{__version__}"
# Installation tokens last an hour; renew early so none expires mid-job.
TOKEN_RENEW_MARGIN = 300.0
MUTATIONS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
Response = tuple[int, Mapping[str, str], bytes]

# A POST that may have been applied before the server failed must not be sent
# again blindly; the caller checks what exists and decides.
_retry_server_errors: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "retry_server_errors", default=True
)


class GitHubError(Exception):
    """A request GitHub refused or never answered, after any retries."""

    def __init__(
        self, method: str, url: str, status: int | None, message: str,
        errors: Any = None,
    ) -> None:
        where = f"{method} {url}"
        super().__init__(f"{where}: {status or 'no answer'}: {message}")
        self.method = method
        self.url = url
        self.status = status
        self.message = message
        self.errors = errors


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying; tests shorten every figure."""

    attempts: int = 5
    backoff: float = 1.0
    max_backoff: float = 30.0
    # A rate-limit wait longer than this fails the job, which is retried later
    # by the queue, instead of holding a worker for up to an hour.
    max_wait: float = 300.0
    # GitHub asks for at least a second between writes of one client.
    mutation_interval: float = 1.0


def _header_wait(headers: Mapping[str, str]) -> float | None:
    """Seconds GitHub asks us to wait, from retry-after or an exhausted quota."""
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        try:
            return max(float(retry_after), 0.0)
        except ValueError:
            moment = parsedate_to_datetime(retry_after)
            return max(moment.timestamp() - time.time(), 0.0)
    if headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
        return max(float(headers["x-ratelimit-reset"]) - time.time(), 0.0) + 1.0
    return None


def _is_rate_limited(response: Response) -> bool:
    status, headers, body = response
    if status == 429:
        return True
    if status != 403:
        return False
    return _header_wait(headers) is not None or b"secondary rate limit" in body.lower()


def _should_retry(response: Response) -> bool:
    status = response[0]
    if status >= 500:
        return _retry_server_errors.get()
    return _is_rate_limited(response)


class _Transport(gidgethub.aiohttp.GitHubAPI):
    """gidgethub over aiohttp, retrying each raw request before it is deciphered."""

    def __init__(
        self, session: aiohttp.ClientSession, *, base_url: str, retry: RetryPolicy,
        context: Mapping[str, Any],
    ) -> None:
        super().__init__(session, USER_AGENT, base_url=base_url)
        self.retry = retry
        self.context = dict(context)

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> Response:
        retrying = AsyncRetrying(
            retry=(
                retry_if_exception_type((aiohttp.ClientError, asyncio.TimeoutError))
                | retry_if_result(_should_retry)
            ),
            stop=self._stop,
            wait=self._wait,
            before_sleep=lambda state: self._log_retry(method, url, state),
            retry_error_callback=lambda state: state.outcome.result(),  # type: ignore
            sleep=asyncio.sleep,
        )
        request = super()._request
        result: Response = await retrying(request, method, url, headers, body)
        return result

    def _wait(self, state: RetryCallState) -> float:
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            asked = _header_wait(outcome.result()[1])
            if asked is not None:
                return asked
        backoff = self.retry.backoff * 2 ** (state.attempt_number - 1)
        return min(backoff, self.retry.max_backoff)

    def _stop(self, state: RetryCallState) -> bool:
        if stop_after_attempt(self.retry.attempts)(state):
            return True
        return self._wait(state) > self.retry.max_wait

    def _log_retry(self, method: str, url: str, state: RetryCallState) -> None:
        outcome = state.outcome
        if outcome is None:
            return
        reason = repr(outcome.exception()) if outcome.failed else outcome.result()[0]
        log.warning(
            "github request retried",
            extra={**self.context, "method": method, "url": url, "reason": reason,
                   "attempt": state.attempt_number, "wait": self._wait(state)},
        )


class _Pacer:
    """Send one installation's writes one at a time, a minimum interval apart."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = asyncio.Lock()
        self._last = float("-inf")

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        async with self._lock:
            delay = self._last + self.interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                yield
            finally:
                self._last = time.monotonic()


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
        self._pacers: dict[int | None, _Pacer] = {}
        self._login: str | None = settings.bot_login

    def _read_private_key(self) -> bytes | None:
        path = self.settings.private_key_path
        if path is None:
            return None
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the App's private key: {exc}") from None

    def transport(self, context: Mapping[str, Any] | None = None) -> _Transport:
        return _Transport(
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
        pacer = self._pacers.setdefault(installation_id, _Pacer(self.retry.mutation_interval))
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
            raise _translate("POST", "access_tokens", exc) from None
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
            raise _translate("GET", "/app or /user", exc) from None
        return self._login


def _translate(method: str, url: str, exc: gidgethub.HTTPException) -> GitHubError:
    status = int(exc.status_code)
    errors = getattr(exc, "errors", None)
    return GitHubError(method, url, status, str(exc) or exc.status_code.phrase, errors)


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
        self, app: GitHubApp, installation_id: int | None, transport: _Transport,
        pacer: _Pacer,
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
        reset = _retry_server_errors.set(retry_server_errors)
        try:
            if method in MUTATIONS:
                async with self._pacer.turn():
                    return await self._send(method, url, url_vars, data, token)
            return await self._send(method, url, url_vars, data, token)
        except gidgethub.HTTPException as exc:
            if int(exc.status_code) == 401:
                self.app.forget_token(self.installation_id)
            raise _translate(method, _fill(url, url_vars), exc) from None
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise GitHubError(method, _fill(url, url_vars), None, repr(exc)) from None
        finally:
            _retry_server_errors.reset(reset)

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
            raise _translate("GET", _fill(url, url_vars), exc) from None
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise GitHubError("GET", _fill(url, url_vars), None, repr(exc)) from None
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


def _fill(url: str, url_vars: Mapping[str, Any]) -> str:
    """The request's path, for messages."""
    return sansio.format_url(url, url_vars, base_url="/")
