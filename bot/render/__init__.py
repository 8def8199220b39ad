"""Renderers: each turns a ReviewResult into one output format.

They read only the records in `bot.findings` (and, for SARIF, rule metadata),
so every front door reports the same review the same way.
"""

from __future__ import annotations

from collections import Counter

from bot.findings import ReviewResult


def one_line(text: str) -> str:
    """Collapse whitespace and neutralize control characters.

    Messages quote code from the change, which may carry terminal escapes
    or bidirectional-override characters meant to disguise what a reader sees.
    """
    collapsed = " ".join(text.split())
    return "".join(ch if ch.isprintable() else "\N{REPLACEMENT CHARACTER}" for ch in collapsed)


def summary(result: ReviewResult) -> str:
    """One line of counts, e.g. "3 findings (1 high, 2 medium), 2 files skipped"."""
    active = result.active()
    counts = Counter(f.severity for f in active)
    noun = "finding" if len(active) == 1 else "findings"
    parts = [f"{len(active)} {noun}" if active else "no findings"]
    if active:
        ranked = sorted(counts, reverse=True)
        parts[0] += " (" + ", ".join(f"{counts[s]} {s.label}" for s in ranked) + ")"

    dismissed = len(result.findings) - len(active)
    if dismissed:
        parts.append(f"{dismissed} dismissed by the model")
    skipped = len({s.path for s in result.skipped})
    if skipped:
        parts.append(f"{skipped} file{'' if skipped == 1 else 's'} skipped")
    return ", ".join(parts)

