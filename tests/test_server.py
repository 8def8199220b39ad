"""Receiving deliveries through the real application (acknowledge-only mode).

These run with `workers = 0`: the server verifies, records and queues, and
the tests read the queue and the store it wrote to.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from pydantic import SecretStr

from bot.config import ConfigError, Settings
from bot.server.app import make_app
from bot.server.keys import DATABASE, QUEUE, STORE
from bot.server.logs import ContextFilter, ContextFormatter
from tests.test_server_support import (
    Client,
    REPO,
    SECRET,
    check_run_payload,
    comment_payload,
    deliver,
    pull_request_payload,
    sender,
    sign,
)

SHARED_WEBHOOKS = Path(__file__).resolve().parents[1] / ".." / "shared" / "github" / "webhooks"
APP_ID = 4242
HEAD = "a" * 40


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        webhook_secret=SecretStr(SECRET), data_dir=tmp_path / "data", workers=0,
        bot_login="bastion[bot]", app_id=APP_ID,
    )


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings) -> Client:
    client: Client = await aiohttp_client(make_app(settings))
    return client


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.handler.addFilter(ContextFilter())
    caplog.set_level(logging.INFO)
    return caplog


async def jobs(client: Client) -> list[tuple[str | None, str, str]]:
    return [(j.head_sha, j.state, j.trigger) for j in await client.app[QUEUE].jobs()]


# -- signatures and malformed deliveries ----------------------------------------


async def test_ping_with_good_signature_answers_pong(client: Client) -> None:
    response = await deliver(client, "ping", {"zen": "Keep it simple.", "hook_id": 3})

    assert response.status == 200
    assert await response.text() == "pong"


@pytest.mark.parametrize("secret", ["wrong secret", None])
async def test_bad_or_missing_signature_is_refused_and_logged(
    client: Client, logs: pytest.LogCaptureFixture, secret: str | None
) -> None:
    payload = pull_request_payload("opened", head=HEAD)

    response = await deliver(client, "pull_request", payload, delivery="d-401", secret=secret)

    assert response.status == 401
    assert "signature" in await response.text()
    assert await jobs(client) == []
    refused = [r for r in logs.records if r.getMessage().startswith("delivery refused")]
    assert [r.delivery for r in refused] == ["d-401"]  # type: ignore[attr-defined]


async def test_sha1_signature_alone_is_not_enough(client: Client) -> None:
    body = json.dumps({"zen": "x"}).encode()
    sha1 = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    response = await deliver(
        client, "ping", None, body=body, secret=None, headers={"X-Hub-Signature": sha1}
    )

    assert response.status == 401


async def test_signature_over_a_different_body_is_refused(client: Client) -> None:
    signed = json.dumps({"zen": "signed"}).encode()

    response = await deliver(
        client, "ping", None, body=b'{"zen": "tampered"}', secret=None,
        headers={"X-Hub-Signature-256": sign(signed)},
    )

    assert response.status == 401


async def test_malformed_json_is_a_clear_400(
    client: Client, logs: pytest.LogCaptureFixture
) -> None:
    response = await deliver(client, "pull_request", None, body=b'{"action": "opened",')

    assert response.status == 400
    assert "malformed JSON" in await response.text()
    assert any("malformed JSON" in r.getMessage() for r in logs.records)


@pytest.mark.parametrize(
    ("body", "headers", "status", "message"),
    [
        (b"[1, 2]", {}, 400, "JSON object"),
        (b"\xff\xfe", {}, 400, "UTF-8"),
        (b"{}", {"X-GitHub-Delivery": ""}, 400, "missing header: X-GitHub-Delivery"),
        (b"{}", {"X-GitHub-Event": ""}, 400, "missing header: X-GitHub-Event"),
        (b"{}", {"Content-Type": "text/plain"}, 415, "application/json"),
    ],
)
async def test_bad_deliveries_get_clear_answers(
    client: Client, body: bytes, headers: dict[str, str], status: int, message: str
) -> None:
    response = await deliver(client, "ping", None, body=body, headers=headers)

    assert response.status == status
    assert message in await response.text()


async def test_payload_without_its_fields_is_a_400(client: Client) -> None:
    payload = pull_request_payload("opened", head=HEAD)
    del payload["pull_request"]["head"]["sha"]

    response = await deliver(client, "pull_request", payload)

    assert response.status == 400
    assert await response.text() == "payload has no head.sha"


async def test_log_lines_name_the_delivery_and_repository(
    client: Client, logs: pytest.LogCaptureFixture
) -> None:
    await deliver(client, "pull_request", pull_request_payload("opened", head=HEAD),
                  delivery="d-logged")
    await deliver(client, "pull_request", pull_request_payload("closed", head=HEAD),
                  delivery="d-closed")

    ours = [r for r in logs.records if r.name.startswith("bot.server")]
    fields = {(r.getMessage(), getattr(r, "delivery"), getattr(r, "repository")) for r in ours}
    ignored = "delivery ignored: nothing to do for pull_request.closed"
    assert ("delivery queued", "d-logged", REPO) in fields
    assert (ignored, "d-closed", REPO) in fields
    queued = next(r for r in ours if r.getMessage() == "delivery queued")
    line = ContextFormatter("%(message)s").format(queued)
    assert line == (
        f"delivery queued delivery=d-logged repository={REPO} "
        "event=pull_request action=opened job=1"
    )


# -- every real payload GitHub sends --------------------------------------------


def shared_payloads() -> list[Path]:
    if not SHARED_WEBHOOKS.is_dir():
        return []
    return sorted(SHARED_WEBHOOKS.rglob("*.json"))


@pytest.mark.skipif(not SHARED_WEBHOOKS.is_dir(), reason="../shared is absent")
@pytest.mark.parametrize("path", shared_payloads(), ids=lambda p: f"{p.parent.name}/{p.name}")
async def test_real_payloads_are_acknowledged(client: Client, path: Path) -> None:
    body = path.read_bytes()
    event = path.parent.name

    response = await deliver(client, event, None, body=body)

    assert response.status in (200, 202), await response.text()
    payload = json.loads(body)
    queued = (
        event == "pull_request"
        and payload["action"] in ("opened", "reopened", "synchronize", "ready_for_review")
        and not payload["pull_request"].get("draft")
    )
    assert (response.status == 202) == queued, await response.text()


# -- one job per head ---------------------------------------------------------------


async def test_pull_request_opened_is_queued(client: Client) -> None:
    response = await deliver(client, "pull_request", pull_request_payload("opened", head=HEAD))

    assert response.status == 202
    assert await response.text() == "queued as job 1"
    assert await jobs(client) == [(HEAD, "pending", "pull_request.opened")]


async def test_redelivery_is_processed_once(client: Client) -> None:
    payload = pull_request_payload("opened", head=HEAD)

    first = await deliver(client, "pull_request", payload, delivery="same-guid")
    again = await deliver(client, "pull_request", payload, delivery="same-guid")

    assert (first.status, again.status) == (202, 200)
    assert "duplicate delivery" in await again.text()
    assert len(await jobs(client)) == 1


async def test_five_identical_deliveries_at_once_make_one_job(client: Client) -> None:
    payload = pull_request_payload("opened", head=HEAD)

    responses = await asyncio.gather(
        *(deliver(client, "pull_request", payload) for _ in range(5))
    )

    assert sorted(r.status for r in responses) == [202] * 5
    texts = sorted([await r.text() for r in responses])
    assert texts == ["joined job 1"] * 4 + ["queued as job 1"]
    assert len(await jobs(client)) == 1


async def test_one_delivery_sent_five_times_at_once_is_recorded_once(
    client: Client,
) -> None:
    payload = pull_request_payload("opened", head=HEAD)

    responses = await asyncio.gather(
        *(deliver(client, "pull_request", payload, delivery="guid-5") for _ in range(5))
    )

    assert sorted(r.status for r in responses) == [200] * 4 + [202]
    database = client.app[DATABASE]
    count = await database.run(
        lambda c, now: c.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]
    )
    assert count == 1


async def test_push_supersedes_the_pending_review(client: Client) -> None:
    await deliver(client, "pull_request", pull_request_payload("opened", head=HEAD))
    newer = pull_request_payload("synchronize", head="c" * 40)

    response = await deliver(client, "pull_request", newer)

    assert response.status == 202
    assert await jobs(client) == [
        (HEAD, "superseded", "pull_request.opened"),
        ("c" * 40, "pending", "pull_request.synchronize"),
    ]


# -- what is ignored ------------------------------------------------------------------


async def test_the_bots_own_events_are_ignored(client: Client) -> None:
    payload = pull_request_payload(
        "synchronize", head=HEAD, user=sender("bastion[bot]", "Bot")
    )

    response = await deliver(client, "pull_request", payload)

    assert response.status == 200
    assert await response.text() == "ignored: sent by this app"
    assert await jobs(client) == []


async def test_another_bot_is_not_mistaken_for_ours(client: Client) -> None:
    payload = pull_request_payload(
        "synchronize", head=HEAD, user=sender("dependabot[bot]", "Bot")
    )

    response = await deliver(client, "pull_request", payload)

    assert response.status == 202


async def test_drafts_are_skipped(client: Client) -> None:
    payload = pull_request_payload("opened", head=HEAD, draft=True)

    response = await deliver(client, "pull_request", payload)

    assert response.status == 200
    assert await response.text() == "ignored: draft pull request"
    assert await jobs(client) == []


async def test_drafts_are_reviewed_when_configured(
    aiohttp_client: Any, settings: Settings
) -> None:
    settings = settings.model_copy(update={"review_drafts": True})
    client = await aiohttp_client(make_app(settings))

    response = await deliver(
        client, "pull_request", pull_request_payload("opened", head=HEAD, draft=True)
    )

    assert response.status == 202


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("pull_request", pull_request_payload("closed", head=HEAD)),
        ("pull_request", pull_request_payload("labeled", head=HEAD)),
        ("push", {"ref": "refs/heads/main", "repository": {"full_name": REPO}}),
        ("star", {"action": "created"}),
    ],
)
async def test_other_events_and_actions_are_acknowledged_and_ignored(
    client: Client, event: str, payload: dict[str, Any]
) -> None:
    response = await deliver(client, event, payload)

    assert response.status == 200
    assert (await response.text()).startswith("ignored: ")
    assert await jobs(client) == []


# -- re-runs ---------------------------------------------------------------------------


async def test_review_command_on_a_pull_request_queues_a_rerun(client: Client) -> None:
    response = await deliver(client, "issue_comment", comment_payload("/bastion review"))

    assert response.status == 202
    [job] = await client.app[QUEUE].jobs()
    assert (job.number, job.head_sha, job.trigger) == (7, None, "issue_comment.created")


@pytest.mark.parametrize(
    ("body", "on_pull", "reason"),
    [
        ("/bastion review", False, "ignored: comment on an issue, not a pull request"),
        ("Looks good to me", True, "ignored: comment is not a review command"),
        ("/bastion reviewer", True, "ignored: comment is not a review command"),
        ("please /bastion review", True, "ignored: comment is not a review command"),
    ],
)
async def test_other_comments_are_ignored(
    client: Client, body: str, on_pull: bool, reason: str
) -> None:
    response = await deliver(client, "issue_comment", comment_payload(body, on_pull=on_pull))

    assert await response.text() == reason
    assert await jobs(client) == []


async def test_rerequested_check_run_of_ours_queues_a_rerun(client: Client) -> None:
    ours = check_run_payload(head=HEAD, app_id=APP_ID)
    theirs = check_run_payload(head=HEAD, app_id=APP_ID + 1)

    queued = await deliver(client, "check_run", ours)
    ignored = await deliver(client, "check_run", theirs)

    assert queued.status == 202
    assert await ignored.text() == "ignored: check run of another app"
    assert len(await jobs(client)) == 1


# -- installations -------------------------------------------------------------------------


async def test_installations_are_kept_current(client: Client) -> None:
    installation = {"id": 31, "account": {"login": "octo"}}
    repos = [{"full_name": "octo/a"}, {"full_name": "octo/b"}]
    store = client.app[STORE]

    await deliver(client, "installation", {
        "action": "created", "installation": installation, "repositories": repos,
    })
    await deliver(client, "installation_repositories", {
        "action": "added", "installation": installation,
        "repositories_added": [{"full_name": "octo/c"}], "repositories_removed": [],
    })
    await deliver(client, "installation_repositories", {
        "action": "removed", "installation": installation,
        "repositories_added": [], "repositories_removed": [{"full_name": "octo/a"}],
    })
    assert await store.repositories(31) == ["octo/b", "octo/c"]
    assert await store.installation_for("octo/c") == 31

    await deliver(client, "installation", {"action": "deleted", "installation": installation})
    assert await store.installations() == {}
    assert await store.installation_for("octo/c") is None


# -- health and start-up ---------------------------------------------------------------------


async def test_health_and_readiness_in_acknowledge_only_mode(client: Client) -> None:
    alive = await client.get("/healthz")
    ready = await client.get("/readyz")

    assert (alive.status, ready.status) == (200, 200)
    assert await ready.json() == {"ready": True}


async def test_not_ready_when_the_queue_is_unreachable(client: Client) -> None:
    await client.app[DATABASE].close()

    ready = await client.get("/readyz")
    alive = await client.get("/healthz")

    assert (ready.status, alive.status) == (503, 200)
    problems = (await ready.json())["problems"]
    assert [p.split(":")[0] for p in problems] == ["queue unreachable", "store unreachable"]


def test_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, workers=0)

    with pytest.raises(ConfigError, match="no webhook secret"):
        make_app(settings)


async def test_insecure_mode_accepts_unsigned_deliveries_and_warns(
    aiohttp_client: Any, tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    settings = Settings(data_dir=tmp_path, workers=0, insecure_no_signature=True)
    client = await aiohttp_client(make_app(settings))

    response = await deliver(
        client, "pull_request", pull_request_payload("opened", head=HEAD), secret=None
    )

    assert response.status == 202
    warnings = [r for r in logs.records if r.levelno == logging.WARNING]
    assert any("INSECURE" in r.getMessage() for r in warnings)


def test_refuses_to_run_workers_without_github_credentials(tmp_path: Path) -> None:
    settings = Settings(webhook_secret=SecretStr(SECRET), data_dir=tmp_path, workers=1)

    with pytest.raises(ConfigError, match="no GitHub credentials"):
        make_app(settings)
