"""Deliveries that ask for a review: pull requests, comment commands, check runs."""

from __future__ import annotations

from gidgethub import routing, sansio

from bot.server.delivery import Delivery
from bot.server.events import (
    get,
    installation_id,
    is_command,
    job_from_pull,
)
from bot.server.records import ReviewRequest

router = routing.Router()

REVIEW_ACTIONS = ("opened", "reopened", "synchronize", "ready_for_review")


async def on_pull_request(event: sansio.Event, delivery: Delivery) -> None:
    """Review a new head: opened, reopened, pushed to, or out of draft."""
    pull = get(event.data, "pull_request", kind=dict)
    if pull.get("draft") and not delivery.settings.review_drafts:
        delivery.ignore("draft pull request")
        return

    trigger = f"pull_request.{delivery.action}"
    job = job_from_pull(
        pull, delivery_id=delivery.id, installation=installation_id(event.data),
        trigger=trigger,
    )
    await delivery.enqueue(ReviewRequest(
        delivery_id=delivery.id, repository=job.repository, number=job.number,
        trigger=trigger, installation_id=job.installation_id,
        clone_url=job.clone_url, default_branch=job.default_branch, job=job,
        updated_at=pull.get("updated_at"),
    ))


for _action in REVIEW_ACTIONS:
    router.add(on_pull_request, "pull_request", action=_action)


@router.register("issue_comment", action="created")
async def on_comment(event: sansio.Event, delivery: Delivery) -> None:
    """Re-run on `/bastion review`; the worker checks the commenter may ask."""
    issue = get(event.data, "issue", kind=dict)
    if "pull_request" not in issue:
        delivery.ignore("comment on an issue, not a pull request")
        return
    comment = get(event.data, "comment", kind=dict)
    if not is_command(comment.get("body")):
        delivery.ignore("comment is not a review command")
        return

    await delivery.enqueue(_rerun(
        event, delivery, number=get(issue, "number", kind=int),
        requested_by=get(comment, "user", "login"),
    ))


@router.register("check_run", action="rerequested")
async def on_check_run(event: sansio.Event, delivery: Delivery) -> None:
    """Re-run when someone asks GitHub to run our check again."""
    run = get(event.data, "check_run", kind=dict)
    app_id = run.get("app", {}).get("id")
    if delivery.settings.app_id is None or app_id != delivery.settings.app_id:
        delivery.ignore("check run of another app")
        return

    # Pull requests from forks are not listed: the queue finds them by head.
    # TODO: ask GitHub for the pull request of a head the queue never saw.
    pulls = run.get("pull_requests") or []
    number = get(pulls[0], "number", kind=int) if pulls else None
    await delivery.enqueue(_rerun(
        event, delivery, number=number, head_sha=get(run, "head_sha"),
    ))


def _rerun(
    event: sansio.Event,
    delivery: Delivery,
    *,
    number: int | None,
    requested_by: str | None = None,
    head_sha: str | None = None,
) -> ReviewRequest:
    repository = get(event.data, "repository", kind=dict)
    return ReviewRequest(
        delivery_id=delivery.id,
        repository=get(repository, "full_name"),
        number=number,
        trigger=f"{delivery.event}.{delivery.action}",
        installation_id=installation_id(event.data),
        clone_url=get(repository, "clone_url"),
        default_branch=get(repository, "default_branch"),
        head_sha=head_sha,
        requested_by=requested_by,
    )
