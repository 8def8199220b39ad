"""Operator settings from a TOML file and the environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.findings import Severity


def test_a_settings_file_is_read_without_touching_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BASTION_CONFIG", raising=False)
    monkeypatch.setenv("BASTION_REVIEW__TOKEN_BUDGET", "900")
    config = tmp_path / "bastion.toml"
    config.write_text('model_context = 2048\n[review]\nfail_on = "medium"\nfilter = "hunk"\n')

    settings = load_settings(config)

    assert settings.model_context == 2048
    assert settings.review.fail_on == Severity.MEDIUM
    assert settings.review.filter == "hunk"
    assert settings.review.token_budget == 900
    assert "BASTION_CONFIG" not in os.environ
    assert load_settings().model_context == 4096


def test_a_blank_webhook_secret_counts_as_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASTION_WEBHOOK_SECRET", "  ")

    assert load_settings().webhook_secret is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[review]\nfilter = 'everything'\n", "review.filter"),
        ("unknown_key = 1\n", "unknown_key"),
        ("model_context = [\n", "bastion.toml"),
    ],
)
def test_a_bad_settings_file_names_the_file_and_the_key(
    tmp_path: Path, text: str, message: str
) -> None:
    config = tmp_path / "bastion.toml"
    config.write_text(text)

    with pytest.raises(ConfigError, match=message) as raised:
        load_settings(config)

    assert str(raised.value).startswith(str(config))
