"""Log lines with their context: every line names its delivery and repository.

The webhook handler and the worker set the context once per delivery or job;
a filter copies it onto each record, so a line logged deep inside a library
call still says which delivery it belongs to. `extra=` fields win over it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

# Printed on every line, "-" when unknown, so lines stay easy to grep.
ALWAYS = ("delivery", "repository")
# Printed only when a line carries them.
OPTIONAL = ("event", "action", "pull", "head", "job", "attempt", "outcome")

_context: ContextVar[dict[str, Any]] = ContextVar("bastion_log_context", default={})


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Attach `fields` to every line logged inside the block."""
    merged = {**_context.get(), **{k: v for k, v in fields.items() if v is not None}}
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


def bind(**fields: Any) -> None:
    """Add `fields` to the context of the enclosing `log_context` block."""
    # A new dict: the enclosing block's reset then drops these fields too.
    added = {k: v for k, v in fields.items() if v is not None}
    _context.set({**_context.get(), **added})


class ContextFilter(logging.Filter):
    """Copy the current context onto records that do not carry the field already."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        for name in ALWAYS:
            if not hasattr(record, name):
                setattr(record, name, "-")
        return True


class ContextFormatter(logging.Formatter):
    """Fixed message first, then the context as key=value fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = [f"{name}={getattr(record, name, '-')}" for name in ALWAYS]
        fields += [
            f"{name}={getattr(record, name)}"
            for name in OPTIONAL
            if getattr(record, name, None) is not None
        ]
        head, newline, rest = line.partition("\n")
        return f"{head} {' '.join(fields)}{newline}{rest}"


def configure_logging(level: int = logging.INFO) -> None:
    """Send every logger's lines to stderr with their context fields."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(
        ContextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
