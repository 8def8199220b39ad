"""Deliveries that change where the App is installed."""

from __future__ import annotations

from typing import Any

from gidgethub import routing, sansio

from bot.server.delivery import Delivery
from bot.server.events import get
from bot.server.store import InstallationChange

router = routing.Router()

KEPT = ("created", "new_permissions_accepted", "suspend", "unsuspend")


@router.register("installation", action="deleted")
async def on_uninstalled(event: sansio.Event, delivery: Delivery) -> None:
    installation = get(event.data, "installation", kind=dict)
    await delivery.apply(InstallationChange(
        delivery_id=delivery.id, trigger=f"installation.{delivery.action}",
        installation_id=get(installation, "id", kind=int), deleted=True,
    ))


async def on_installation(event: sansio.Event, delivery: Delivery) -> None:
    """Record an installation and the repositories it was given."""
    installation = get(event.data, "installation", kind=dict)
    await delivery.apply(InstallationChange(
        delivery_id=delivery.id, trigger=f"installation.{delivery.action}",
        installation_id=get(installation, "id", kind=int),
        account=installation.get("account", {}).get("login"),
        added=_names(event.data.get("repositories")),
    ))


for _action in KEPT:
    router.add(on_installation, "installation", action=_action)


async def on_repositories(event: sansio.Event, delivery: Delivery) -> None:
    """Follow repositories added to or removed from an installation."""
    installation = get(event.data, "installation", kind=dict)
    await delivery.apply(InstallationChange(
        delivery_id=delivery.id,
        trigger=f"installation_repositories.{delivery.action}",
        installation_id=get(installation, "id", kind=int),
        account=installation.get("account", {}).get("login"),
        added=_names(event.data.get("repositories_added")),
        removed=_names(event.data.get("repositories_removed")),
    ))


for _action in ("added", "removed"):
    router.add(on_repositories, "installation_repositories", action=_action)


def _names(repositories: Any) -> tuple[str, ...]:
    if not isinstance(repositories, list):
        return ()
    return tuple(get(repo, "full_name") for repo in repositories)
