"""HTTP to GitHub: gidgethub over aiohttp, with retries and paced writes.

Server errors are retried with exponential backoff; rate limits (403 or 429
with retry-after, or an exhausted quota) are waited out up to a cap. Retries
act on each raw request, so one page of a long list is retried, not the list.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import gidgethub
import gidgethub.aiohttp
from gidgethub import sansio
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
)

from bot import __version__

log = logging.getLogger(__name__)

USER_AGENT = f"bastion-review/{__version__}"
Response = tuple[int, Mapping[str, str], bytes]
SILENT_LIMIT_WAIT = 60.0

# A POST that may have been applied before the server failed must not be sent
# again blindly; the caller checks what exists and decides.
_retry_server_errors: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "retry_server_errors", default=True
)


@contextmanager
def server_errors_retried(retried: bool) -> Iterator[None]:
    """Whether requests inside the block are sent again after a 5xx answer."""
    token = _retry_server_errors.set(retried)
    try:
        yield
    finally:
        _retry_server_errors.reset(token)


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


class Transport(gidgethub.aiohttp.GitHubAPI):
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
        backoff = self.retry.backoff * 2.0 ** (state.attempt_number - 1)
        backoff = min(backoff, self.retry.max_backoff)
        if outcome is None or outcome.failed:
            return backoff

        status, headers, _ = outcome.result()
        asked = _header_wait(headers)
        if asked is not None:
            return asked
        if status in (403, 429):
            # GitHub asks for a minute's pause when a rate limit names no time.
            return max(backoff, SILENT_LIMIT_WAIT)
        return backoff

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


class Pacer:
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



def translate(method: str, url: str, exc: gidgethub.HTTPException) -> GitHubError:
    status = int(exc.status_code)
    errors = getattr(exc, "errors", None)
    return GitHubError(method, url, status, str(exc) or exc.status_code.phrase, errors)


def fill(url: str, url_vars: Mapping[str, Any]) -> str:
    """The request's path, for messages."""
    return sansio.format_url(url, url_vars, base_url="/")
