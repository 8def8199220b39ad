"""JSON report: the review result's own dictionary, for scripts and archives."""

from __future__ import annotations

import json

from bot.findings import ReviewResult


def render_json(result: ReviewResult) -> str:
    """Serialize `result.to_dict()` with two-space indentation, keys in record order."""
    return json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"
