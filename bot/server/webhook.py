"""POST /webhook: verify, record, enqueue, answer. Nothing slow happens here."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Mapping

from aiohttp import web
from gidgethub import BadRequest, ValidationFailure, routing, sansio

from bot.config import Settings
from bot.server import installations, reviews
from bot.server.delivery import Delivery
from bot.server.events import PayloadError, repository_name, sent_by_us
from bot.server.keys import QUEUE, SETTINGS, STORE
from bot.server.logs import bind, log_context

log = logging.getLogger(__name__)

housekeeping = routing.Router()


@housekeeping.register("ping")
async def on_ping(event: sansio.Event, delivery: Delivery) -> None:
    log.info("ping from hook %s", event.data.get("hook_id"))
    delivery.answer(200, "pong")


router = routing.Router(reviews.router, installations.router, housekeeping)


class Refused(Exception):
    """A delivery answered with an error status before it reached a router."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def receive(request: web.Request) -> web.Response:
    """Verify a delivery, hand it to the routers, answer before any review runs."""
    delivery_id = request.headers.get("X-GitHub-Delivery", "").strip()
    event_name = request.headers.get("X-GitHub-Event", "").strip()
    with log_context(delivery=delivery_id or None, event=event_name or None):
        try:
            return await _receive(request, delivery_id, event_name)
        except Refused as exc:
            log.warning("delivery refused (%d): %s", exc.status, exc.message)
            return web.Response(status=exc.status, text=exc.message)
        except sqlite3.Error as exc:
            log.exception("delivery not recorded: the queue is unavailable")
            return web.Response(status=503, text=f"queue unavailable: {exc}")


async def _receive(request: web.Request, delivery_id: str, event_name: str) -> web.Response:
    settings = request.app[SETTINGS]
    body = await request.read()
    event = parse_event(request.headers, body, secret(settings))
    missing = [
        name for name, value in
        (("X-GitHub-Event", event_name), ("X-GitHub-Delivery", delivery_id))
        if not value
    ]
    if missing:
        raise Refused(400, f"missing header: {', '.join(missing)}")
    if not isinstance(event.data, dict):
        raise Refused(400, "payload must be a JSON object")
    action = event.data.get("action")
    bind(repository=repository_name(event.data), action=action)

    if sent_by_us(event.data, settings):
        log.info("delivery ignored: sent by this app")
        return web.Response(status=200, text="ignored: sent by this app")

    delivery = Delivery(
        id=delivery_id, event=event_name,
        action=action if isinstance(action, str) else None,
        settings=settings, queue=request.app[QUEUE], store=request.app[STORE],
    )
    try:
        await router.dispatch(event, delivery)
    except PayloadError as exc:
        raise Refused(400, str(exc)) from None
    if not delivery.message:
        delivery.ignore(f"nothing to do for {event_name}.{action or '-'}")
    return web.Response(status=delivery.status, text=delivery.message)


def secret(settings: Settings) -> str | None:
    """The webhook secret; None only when the operator turned checks off."""
    if settings.webhook_secret is None:
        return None
    return settings.webhook_secret.get_secret_value()


def parse_event(headers: Mapping[str, str], body: bytes, secret: str | None) -> sansio.Event:
    """Check the SHA-256 signature of the raw body, then decode it."""
    names = {
        "content-type": headers.get("Content-Type", ""),
        "x-github-event": headers.get("X-GitHub-Event", ""),
        "x-github-delivery": headers.get("X-GitHub-Delivery", ""),
    }
    # Only the SHA-256 signature counts; the SHA-1 header is not accepted.
    signature = headers.get("X-Hub-Signature-256")
    if signature is not None and secret is not None:
        names["x-hub-signature-256"] = signature

    # TODO: decode payloads of several MB (GitHub allows 25) on a thread.
    try:
        return sansio.Event.from_http(names, body, secret=secret)
    except ValidationFailure as exc:
        raise Refused(401, f"signature check failed: {exc}") from None
    except BadRequest as exc:
        raise _decoding_refusal(exc, names["content-type"]) from None


def _decoding_refusal(exc: BadRequest, content_type: str) -> Refused:
    cause = exc.__cause__
    if isinstance(cause, json.JSONDecodeError):
        return Refused(400, f"malformed JSON body: {cause}")
    if isinstance(cause, UnicodeDecodeError):
        return Refused(400, "body is not valid UTF-8")
    if isinstance(cause, KeyError) and content_type.startswith("application/x-www"):
        return Refused(400, "form body has no payload field")
    return Refused(415, "expected a content type of application/json")
