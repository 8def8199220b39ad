"""The seam between the review engine and whatever runs the model.

The in-process llama.cpp backend lives behind it today; an OpenAI-compatible
server can live behind it later without the engine noticing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class ModelError(Exception):
    """The model could not give a usable answer (load failure, cut-off reply)."""

    def __init__(self, message: str, *, cached: bool = False) -> None:
        super().__init__(message)
        self.cached = cached


@dataclass(frozen=True)
class ModelReply:
    data: dict[str, Any]
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    cached: bool = False


class ModelBackend(Protocol):
    @property
    def identity(self) -> str:
        """Names the model exactly (file hash or server model id), for cache keys."""

    def complete_json(
        self, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int
    ) -> ModelReply:
        """Answer `messages` with an object that satisfies `schema`.

        Raises ModelError when no valid object came back.
        """
