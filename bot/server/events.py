"""Reading webhook payloads: the fields a review needs, checked on the way in."""

from __future__ import annotations

from typing import Any

from bot.config import Settings
from bot.jobs import PullRequestJob

# Roles that may ask for a re-run with a comment command.
WRITE_ROLES = frozenset({"admin", "maintain", "write"})
COMMAND = ("/bastion", "review")


class PayloadError(ValueError):
    """A payload without a field its event always has."""


def get(data: Any, *path: str, kind: type | tuple[type, ...] = str) -> Any:
    """`data[path...]`, checked to be of `kind`; PayloadError names the missing field."""
    value = data
    for depth, key in enumerate(path):
        if not isinstance(value, dict) or key not in value:
            raise PayloadError(f"payload has no {'.'.join(path[: depth + 1])}")
        value = value[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise PayloadError(f"payload field {'.'.join(path)} has the wrong type")
    return value


def repository_name(data: dict[str, Any]) -> str | None:
    """The delivery's repository as owner/name, when it names one."""
    repository = data.get("repository")
    if isinstance(repository, dict) and isinstance(repository.get("full_name"), str):
        return str(repository["full_name"])
    return None


def installation_id(data: dict[str, Any]) -> int | None:
    installation = data.get("installation")
    if isinstance(installation, dict) and isinstance(installation.get("id"), int):
        return int(installation["id"])
    return None


def job_from_pull(
    pull: dict[str, Any],
    *,
    delivery_id: str,
    installation: int | None,
    trigger: str,
) -> PullRequestJob:
    """The job for a pull request as GitHub describes it (webhook or REST)."""
    base_repo = get(pull, "base", "repo", kind=dict)
    head_repo = pull.get("head", {}).get("repo")
    return PullRequestJob(
        delivery_id=delivery_id,
        repository=get(base_repo, "full_name"),
        number=get(pull, "number", kind=int),
        head_sha=get(pull, "head", "sha"),
        base_sha=get(pull, "base", "sha"),
        base_ref=get(pull, "base", "ref"),
        clone_url=get(base_repo, "clone_url"),
        default_branch=get(base_repo, "default_branch"),
        installation_id=installation,
        trigger=trigger,
        # A fork that was deleted leaves the head repository empty.
        head_repository=head_repo.get("full_name") if isinstance(head_repo, dict) else None,
    )


def is_command(body: str | None) -> bool:
    """Whether a comment asks for a review: its first words are `/bastion review`."""
    return tuple((body or "").split()[:2]) == COMMAND


def own_logins(settings: Settings) -> frozenset[str]:
    """The logins this bot's own events arrive under."""
    login = settings.bot_login
    # TODO: learn the App's slug from GET /app when bot_login is not set.
    if not login:
        return frozenset()
    slug = login.removesuffix("[bot]")
    return frozenset({login, f"{slug}[bot]"})


def sent_by_us(data: dict[str, Any], settings: Settings) -> bool:
    """Whether the bot itself caused this delivery (its comments, its check runs)."""
    sender = data.get("sender")
    if isinstance(sender, dict) and sender.get("type") == "Bot":
        if sender.get("login") in own_logins(settings):
            return True

    comment = data.get("comment")
    app = comment.get("performed_via_github_app") if isinstance(comment, dict) else None
    return (
        isinstance(app, dict)
        and settings.app_id is not None
        and app.get("id") == settings.app_id
    )
