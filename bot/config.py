"""Operator settings: a TOML file, overridden by BASTION_* environment variables.

These are the bot's own settings. Nothing from a pull request is ever read
into them; per-repository settings from a default branch are merged into a
copy per job (see `ReviewSettings.merged`).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.findings import Severity

FilterMode = Literal["added", "hunk", "file"]
PACKAGE_RULES = Path(__file__).resolve().parent.parent / "rules"


class ConfigError(Exception):
    """Settings that cannot be used; the message names the file and the reason."""


def bundled_rules_dir() -> Path:
    """The built-in rule packs: beside the package in a checkout, inside it when installed."""
    installed = Path(__file__).resolve().parent / "rules"
    return installed if installed.is_dir() else PACKAGE_RULES


class ReviewSettings(BaseModel):
    """What one review needs; a copy is made per job so repositories never share one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: tuple[Path, ...] = ()
    filter: FilterMode = "added"
    use_model: bool = True
    fail_on: Severity | None = None
    token_budget: int = Field(default=6000, ge=0)
    max_file_lines: int = Field(default=20000, ge=1)
    max_file_bytes: int = Field(default=2_000_000, ge=1)
    semgrep_timeout: int = Field(default=120, ge=1)
    drop_dismissed: bool = False
    must_report: tuple[str, ...] = ()
    review_hunks: bool = True

    @field_validator("fail_on", mode="before")
    @classmethod
    def _severity_name(cls, value: object) -> object:
        """Accept severity names (`fail_on = "high"`) as well as the enum."""
        return Severity.parse(value) if isinstance(value, str) else value

    def rule_dirs(self) -> tuple[Path, ...]:
        return self.rules or (bundled_rules_dir(),)

    def merged(self, overrides: dict[str, Any]) -> ReviewSettings:
        """A new copy with `overrides` applied and validated."""
        data = self.model_dump()
        data.update(overrides)
        try:
            return ReviewSettings.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"review.{where}: {first['msg']}") from None


class Settings(BaseSettings):
    """Everything an operator configures, for every front door."""

    model_config = SettingsConfigDict(
        env_prefix="BASTION_", extra="forbid", env_nested_delimiter="__"
    )

    model: Path | None = None
    model_threads: int | None = None
    model_context: int = 4096
    data_dir: Path = Path(".bastion")
    review: ReviewSettings = ReviewSettings()

    webhook_secret: SecretStr | None = None
    insecure_no_signature: bool = False
    app_id: int | None = None
    private_key_path: Path | None = None
    github_token: SecretStr | None = None
    github_api_url: str = "https://api.github.com"
    bot_login: str | None = None
    review_drafts: bool = False
    policy: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    job_lease_seconds: float = Field(default=60.0, gt=0)
    job_max_attempts: int = Field(default=3, ge=1)
    job_retry_seconds: float = Field(default=30.0, gt=0)

    @field_validator("webhook_secret", "github_token", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """An empty secret would let anyone sign deliveries: treat it as no secret."""
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if settings_cls.model_config.get("toml_file"):
            sources.append(TomlConfigSettingsSource(settings_cls))
        return tuple(sources)


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Load settings from `config` (or $BASTION_CONFIG) and the environment."""
    path = config or os.environ.get("BASTION_CONFIG")
    settings_cls = Settings
    if path:
        if not Path(path).is_file():
            raise ConfigError(f"{path}: configuration file not found")
        # A subclass per file keeps the process environment untouched.
        config_dict = SettingsConfigDict(**{**Settings.model_config, "toml_file": Path(path)})
        settings_cls = type("FileSettings", (Settings,), {"model_config": config_dict})

    try:
        return settings_cls(**{k: v for k, v in overrides.items() if v is not None})
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        source = path or "environment"
        raise ConfigError(f"{source}: {where}: {first['msg']}") from None
