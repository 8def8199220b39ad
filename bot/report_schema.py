"""The JSON schema of `bastion review --format json`, for consumers and for tests."""

from __future__ import annotations

from typing import Any

SEVERITY = {"enum": ["low", "medium", "high", "critical"]}
SHA = {"type": "string", "minLength": 1}

FINDING: dict[str, Any] = {
    "type": "object",
    "required": ["path", "line", "end_line", "rule_id", "severity", "message", "source",
                 "fingerprint"],
    "properties": {
        "path": {"type": "string", "minLength": 1},
        "line": {"type": "integer", "minimum": 1},
        "end_line": {"type": "integer", "minimum": 1},
        "column": {"type": "integer", "minimum": 1},
        "rule_id": {"type": "string", "minLength": 1},
        "severity": SEVERITY,
        "message": {"type": "string"},
        "source": {"enum": ["semgrep", "model", "policy"]},
        "fingerprint": {"type": "string", "pattern": "^[0-9a-f]{20}$"},
        "verdict": {"enum": ["confirmed", "dismissed", "unjudged"]},
        "explanation": {"type": "string"},
        "rule_severity": SEVERITY,
        "cwe": {"type": "array", "items": {"type": "string", "pattern": "^CWE-[0-9]+$"}},
        "suggestion": {"type": "string"},
    },
    "allOf": [{
        "if": {"properties": {"source": {"const": "semgrep"}}},
        "then": {"required": ["verdict", "explanation", "rule_severity"]},
    }],
}

REPORT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["base", "head", "findings", "skipped", "stats"],
    "additionalProperties": False,
    "properties": {
        "base": SHA,
        "head": SHA,
        "findings": {"type": "array", "items": FINDING},
        "skipped": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["path", "reason", "detail"],
                "properties": {"path": {"type": "string"}, "reason": {"type": "string"},
                               "detail": {"type": "string"}},
            },
        },
        "stats": {
            "type": "object",
            "required": ["timings", "files_reviewed", "files_skipped", "findings"],
            "properties": {
                "timings": {"type": "object",
                            "additionalProperties": {"type": "number", "minimum": 0}},
            },
        },
    },
}
