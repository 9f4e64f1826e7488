"""Settings: one validated object, loaded once by :func:`load_settings`.

Precedence: environment > ``.env`` > TOML file (``clanstats.toml`` or ``CLANSTATS_CONFIG``)
> defaults. Every variable is prefixed ``CLANSTATS_``. Secrets are ``SecretStr`` and have no
default; they are never printed (see :func:`redacted_view`).
"""

from __future__ import annotations

import os
import re
from contextvars import ContextVar
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ENV_PREFIX = "CLANSTATS_"
DEFAULT_CONFIG_FILE = "clanstats.toml"
PUBLIC_WOM_URL = "https://api.wiseoldman.net/v2"

IdList = Annotated[list[int], NoDecode]

# The TOML file the next Settings() reads; load_settings() sets it for one call.
_toml_file: ContextVar[Path | None] = ContextVar("clanstats_toml_file", default=None)


def config_file_path() -> Path:
    chosen = _toml_file.get()
    if chosen is not None:
        return chosen
    return Path(os.environ.get(f"{ENV_PREFIX}CONFIG", DEFAULT_CONFIG_FILE))


def _split_ids(value: Any) -> Any:
    """Accept ``"1,2 3"`` from the environment as well as lists from TOML."""
    if isinstance(value, str):
        parts = [p for p in re.split(r"[\s,;]+", value.strip()) if p]
        return [int(p) if p.lstrip("-").isdigit() else p for p in parts]
    if isinstance(value, int):
        return [value]
    return value


class Settings(BaseSettings):
    """Everything ClanStats can be told; see ``.env.example`` for each one explained."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
        env_ignore_empty=True,
    )

    database_url: str = "sqlite:///clanstats.sqlite3"
    discord_token: SecretStr | None = None
    # Advanced: another Discord endpoint (REST + gateway), e.g. a local fake for testing.
    discord_api_url: str | None = None
    guild_id: int | None = Field(default=None, gt=0)
    wom_group_id: int | None = Field(default=None, gt=0)
    wom_api_key: SecretStr | None = None
    wom_base_url: str = PUBLIC_WOM_URL
    wom_verification_code: SecretStr | None = None
    wom_user_agent: str = "ClanStats (Discord clan bot)"
    wom_timeout_s: float = Field(default=20.0, gt=0)
    # WOM counts requests per 60 s; only a local fake (tests, demo) uses another window.
    wom_rate_window_s: float = Field(default=60.0, gt=0)
    relay_channel_ids: IdList = Field(default_factory=list)
    relay_author_ids: IdList = Field(default_factory=list)
    relay_custom_formats: dict[str, str] = Field(default_factory=dict)
    report_channel_id: int | None = Field(default=None, gt=0)
    announce_channel_id: int | None = Field(default=None, gt=0)
    officer_role_ids: IdList = Field(default_factory=list)
    timezone: str = "UTC"
    log_format: Literal["json", "console", "auto"] = "auto"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    sync_interval_minutes: int = Field(default=60, gt=0, le=24 * 60)
    max_departure_share: float = Field(default=0.2, gt=0, le=1)
    backfill_days: int = Field(default=90, gt=0)
    report_time: time = time(9, 0)
    heartbeat_file: Path | None = None
    # Every database call is bounded: opening a PostgreSQL connection, one PostgreSQL
    # statement, and how long a SQLite write waits for another writer's lock (seconds).
    db_connect_timeout_s: float = Field(default=10.0, gt=0)
    db_statement_timeout_s: float = Field(default=60.0, gt=0)
    # At most 5 s: a write waiting on the lock when a stop comes must end inside the stop's
    # 10 s grace (Docker's), which a longer wait could not.
    db_busy_timeout_s: float = Field(default=5.0, gt=0, le=5)
    # Seconds between a follower's tries for the scheduler lock (several instances on one
    # PostgreSQL database), and between the leader's checks that it still holds it.
    leader_retry_s: float = Field(default=5.0, gt=0, le=60)
    # Live relay messages kept in memory while the database cannot store them.
    relay_buffer_max: int = Field(default=20_000, gt=0)

    @field_validator("relay_channel_ids", "relay_author_ids", "officer_role_ids", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return _split_ids(value)

    @field_validator("relay_channel_ids", "relay_author_ids", "officer_role_ids")
    @classmethod
    def _positive_ids(cls, value: list[int]) -> list[int]:
        bad = [v for v in value if v <= 0]
        if bad:
            raise ValueError(f"Discord ids are positive numbers, got {bad}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as 'Europe/London')"
            ) from exc
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("wom_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"must be an http(s) URL such as {PUBLIC_WOM_URL}")
        return value.rstrip("/")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def secrets(self) -> list[str]:
        """Every secret value that is set, for log redaction."""
        values = (self.discord_token, self.wom_api_key, self.wom_verification_code)
        return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]

    def missing_for(self, purpose: Literal["run", "sync", "report"]) -> list[str]:
        """Names of the variables ``purpose`` needs that are not set."""
        need: dict[str, Any] = {"wom_group_id": self.wom_group_id}
        if purpose == "run":
            need |= {
                "discord_token": self.discord_token,
                "guild_id": self.guild_id,
                "relay_channel_ids": self.relay_channel_ids,
                "relay_author_ids": self.relay_author_ids,
            }
        return [env_name(name) for name, value in need.items() if not value]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file_path())
        return (init_settings, env_settings, dotenv_settings, toml)


def env_name(field: str) -> str:
    return f"{ENV_PREFIX}{field.upper()}"


class ConfigError(Exception):
    """Settings that cannot be used; ``problems`` lists every one with its variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


SECRET_FIELDS = frozenset({"discord_token", "wom_api_key", "wom_verification_code"})


def _describe(error: Any) -> str:
    loc = [str(part) for part in error["loc"]]
    field = loc[0] if loc else "?"
    where = env_name(field) + (f"[{', '.join(loc[1:])}]" if len(loc) > 1 else "")
    message = str(error["msg"])
    if field not in SECRET_FIELDS and "input" in error and error["type"] != "missing":
        return f"{where}: {message} (got {error['input']!r})"
    return f"{where}: {message}"


def load_settings(
    config_file: Path | None = None, *, env_file: Path | None = None, **overrides: Any
) -> Settings:
    """Load and validate settings, raising :class:`ConfigError` with every problem at once."""
    token = _toml_file.set(config_file) if config_file is not None else None
    toml_path = config_file_path()
    problems: list[str] = []
    if (config_file is not None or f"{ENV_PREFIX}CONFIG" in os.environ) and not toml_path.exists():
        problems.append(f"{ENV_PREFIX}CONFIG: config file {str(toml_path)!r} does not exist")
    try:
        kwargs: dict[str, Any] = dict(overrides)
        if env_file is not None:
            kwargs["_env_file"] = env_file
        settings = Settings(**kwargs)
    except ValidationError as exc:
        problems.extend(_describe(e) for e in exc.errors())
        raise ConfigError(problems) from None
    except (ValueError, OSError) as exc:  # e.g. a TOML syntax error
        problems.append(f"{ENV_PREFIX}CONFIG: cannot read {str(toml_path)!r}: {exc}")
        raise ConfigError(problems) from None
    finally:
        if token is not None:
            _toml_file.reset(token)
    if problems:
        raise ConfigError(problems)
    return settings


def redacted_view(settings: Settings) -> dict[str, str]:
    """The effective settings as ``VARIABLE → printable value``, secrets shown as set/unset."""
    view: dict[str, str] = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if name in SECRET_FIELDS:
            shown = "(set, hidden)" if value is not None else "(not set)"
        elif name == "database_url":
            from sqlalchemy.engine import make_url

            shown = make_url(value).render_as_string(hide_password=True)
        elif isinstance(value, list):
            shown = ",".join(str(v) for v in value) or "(none)"
        elif value is None:
            shown = "(not set)"
        else:
            shown = str(value)
        view[env_name(name)] = shown
    return view
