"""The access log line for the webhook server."""

from __future__ import annotations

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse


class AccessLogger(AbstractAccessLogger):
    """One line per request, carrying the delivery id GitHub sent."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %d in %.1f ms", request.method, request.path, response.status,
            time * 1000, extra={"delivery": request.headers.get("X-GitHub-Delivery", "-")},
        )
