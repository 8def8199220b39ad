"""The unit of work the server queues: one pull request at one head sha."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class PullRequestJob:
    delivery_id: str
    repository: str
    number: int
    head_sha: str
    base_sha: str
    base_ref: str
    clone_url: str
    default_branch: str
    installation_id: int | None = None
    trigger: str = "pull_request.opened"
    head_repository: str | None = None

    @property
    def key(self) -> str:
        """Deliveries with the same key produce one review."""
        return f"{self.repository}#{self.number}@{self.head_sha}"

    @property
    def pull_key(self) -> str:
        """A newer head with the same pull key supersedes this job."""
        return f"{self.repository}#{self.number}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PullRequestJob:
        return cls(**data)
