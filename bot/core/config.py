"""Settings: one validated object, loaded once by :func:`load_settings`.

Precedence: environment > ``.env`` > TOML file (``clanstats.toml`` or ``CLANSTATS_CONFIG``)
> defaults. Every variable is prefixed ``CLANSTATS_``. Secrets are ``SecretStr`` and have no
default; they are never printed (see :func:`redacted_view`).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
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


#: Discord ids are snowflakes of up to 64 bits (discord/discord-api-docs ``docs/Reference.md``
#: "Snowflakes" @ d95ee438ae79489fd659fd2ae08d65a17d9ebf27): the creation time in ms since the
#: Discord epoch (the first second of 2015) in the bits from 22 up.
SNOWFLAKE_LIMIT = 2**64
DISCORD_EPOCH_MS = 1_420_070_400_000

#: The database URL schemes ClanStats can use, and the async driver each one runs on.
#: ``postgres://`` (what Heroku-style hosts hand out; SQLAlchemy dropped the name in 1.4) is
#: read as PostgreSQL rather than refused: it can only mean that.
DATABASE_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+pysqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
}
_DATABASE_EXAMPLES = "sqlite:///path/to/clanstats.sqlite3 or postgresql://user:password@host/db"


def http_url(value: str, *, example: str) -> str:
    """``value`` without a trailing slash, if it is an http(s) URL with a host."""
    if not re.fullmatch(r"https?://[^\s/?#]+(/\S*)?", value.strip()):
        raise ValueError(f"must be an http(s) URL with a host, such as {example}")
    return value.strip().rstrip("/")


def normalise_database_url(value: str) -> str:
    """The URL on the async driver ClanStats runs (``sqlite+aiosqlite``,
    ``postgresql+asyncpg``); ValueError naming what is wrong with any other."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError(f"not a database URL; use {_DATABASE_EXAMPLES}") from None
    driver = DATABASE_DRIVERS.get(url.drivername)
    if driver is None:
        raise ValueError(
            f"{url.drivername}:// databases are not supported; use {_DATABASE_EXAMPLES}"
        )
    if driver.startswith("postgresql") and not url.database:
        raise ValueError("a PostgreSQL URL needs a database name: postgresql://user@host/db")
    timeout = url.query.get("timeout")
    if driver.startswith("sqlite") and timeout is not None:
        try:
            seconds = float(timeout if isinstance(timeout, str) else timeout[0])
        except ValueError:
            seconds = -1.0
        if not seconds >= 0:
            raise ValueError(f"?timeout= is SQLite's busy timeout in seconds, got {timeout!r}")
    return url.set(drivername=driver).render_as_string(hide_password=False)


def snowflake_problem(value: int, *, now_ms: int) -> str | None:
    """Why ``value`` cannot be a Discord id, or None: ids are 17 to 20 digits and encode a
    creation time between the Discord epoch and now."""
    if value < 10**16:
        return "is too short for a Discord id (17 to 20 digits: right-click → Copy ID)"
    if value >= SNOWFLAKE_LIMIT or (value >> 22) + DISCORD_EPOCH_MS > now_ms + 86_400_000:
        return "is not a Discord id (it would be created in the future)"
    return None


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
    # The in-game clan chat's name, when WOM's group does not give it (its clanChat) rightly.
    clan_chat_name: str | None = Field(default=None, max_length=100)
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
        bad = [v for v in value if v <= 0 or v >= SNOWFLAKE_LIMIT]
        if bad:
            raise ValueError(f"Discord ids are positive numbers of at most 20 digits, got {bad}")
        return value

    @field_validator("clan_chat_name")
    @classmethod
    def _clan_chat_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        clean = " ".join(value.replace("\u00a0", " ").split())
        return clean or None

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
        return http_url(value, example=PUBLIC_WOM_URL)

    @field_validator("discord_api_url")
    @classmethod
    def _discord_url(cls, value: str | None) -> str | None:
        return None if value is None else http_url(value, example="http://127.0.0.1:8080")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("guild_id", "report_channel_id", "announce_channel_id")
    @classmethod
    def _id_fits(cls, value: int | None) -> int | None:
        if value is not None and value >= SNOWFLAKE_LIMIT:
            raise ValueError("Discord ids are at most 20 digits (64 bits)")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def secrets(self) -> list[str]:
        """Every secret value that is set, for log redaction."""
        values = (self.discord_token, self.wom_api_key, self.wom_verification_code)
        return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]

    def missing_for(self, purpose: Literal["run", "sync", "report"]) -> list[str]:
        """Names of the variables ``purpose`` needs that are not set.

        Running needs only the token: each server's clan is set up with ``/setup``. A clan
        described in the environment instead (imported on the first start) needs its server
        and WOM group together, and relay channels need their relay authors.
        """
        need: dict[str, Any] = {"wom_group_id": self.wom_group_id}
        if purpose == "run":
            env_clan = self.guild_id is not None or self.wom_group_id is not None
            if not env_clan:
                need = {}
            need |= {"discord_token": self.discord_token}
            if env_clan:
                need |= {"guild_id": self.guild_id}
            if self.relay_channel_ids:
                need |= {"relay_author_ids": self.relay_author_ids}
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

    def __init__(self, problems: list[str], fields: Iterable[str] = ()) -> None:
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems
        #: The settings whose values were invalid (field names), when known.
        self.fields = frozenset(fields)


SECRET_FIELDS = frozenset({"discord_token", "wom_api_key", "wom_verification_code"})


def _describe(error: Any) -> str:
    loc = [str(part) for part in error["loc"]]
    field = loc[0] if loc else "?"
    where = env_name(field) + (f"[{', '.join(loc[1:])}]" if len(loc) > 1 else "")
    message = str(error["msg"]).removeprefix("Value error, ")
    # A database URL may carry its password: never echo it.
    quiet = SECRET_FIELDS | {"database_url"}
    if field not in quiet and "input" in error and error["type"] != "missing":
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
        fields = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        raise ConfigError(problems, fields) from None
    except (ValueError, OSError) as exc:  # e.g. a TOML syntax error
        problems.append(f"{ENV_PREFIX}CONFIG: cannot read {str(toml_path)!r}: {exc}")
        raise ConfigError(problems) from None
    finally:
        if token is not None:
            _toml_file.reset(token)
    if problems:
        raise ConfigError(problems)
    return settings


#: CLANSTATS_* variables that are not settings but are read elsewhere: the TOML file's path,
#: and the PostgreSQL server of the test suite.
OTHER_VARIABLES = frozenset({"CONFIG", "TEST_PG_URL"})


@dataclass(frozen=True)
class SettingsReport:
    """Everything :func:`inspect_settings` found, in one pass.

    ``settings`` holds the given values, with the default in place of each invalid one
    (``invalid`` names those fields), so the checks that need a whole object still run.
    """

    settings: Settings | None
    problems: list[str]
    warnings: list[str]
    invalid: frozenset[str]


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


def unknown_keys(config_file: Path | None = None, env_file: Path | None = None) -> list[str]:
    """A warning for every CLANSTATS_* variable (environment, ``.env``) and every TOML key
    that is not a setting, each with the closest setting's name when one is close."""
    fields = {name.upper() for name in Settings.model_fields}
    known_vars = {ENV_PREFIX + f for f in fields | OTHER_VARIABLES}
    found: dict[str, str] = {}
    for key in os.environ:
        if key.upper().startswith(ENV_PREFIX):
            found.setdefault(key.upper(), "environment variable")
    dotenv = env_file if env_file is not None else Path(".env")
    if dotenv.is_file():
        from dotenv import dotenv_values

        for key in dotenv_values(dotenv):
            if key.upper().startswith(ENV_PREFIX):
                found.setdefault(key.upper(), f"key in {dotenv}")
    warnings = [
        f"{key} ({where}) is not a setting and is ignored{_did_you_mean(key, known_vars)}"
        for key, where in sorted(found.items())
        if key not in known_vars
    ]
    toml_path = config_file if config_file is not None else config_file_path()
    if toml_path.is_file():
        import tomllib

        try:
            keys = list(tomllib.loads(toml_path.read_text(encoding="utf-8")))
        except (ValueError, OSError):
            keys = []  # load_settings reports an unreadable file
        lower_fields = {f.lower() for f in fields}
        warnings += [
            f"{key!r} in {toml_path} is not a setting and is ignored"
            f"{_did_you_mean(key.lower(), lower_fields)}"
            for key in keys
            if key.lower() not in lower_fields
        ]
    return warnings


def inspect_settings(
    config_file: Path | None = None, *, env_file: Path | None = None
) -> SettingsReport:
    """Load the settings reporting every problem at once, never raising: invalid values
    are replaced by their defaults so the rest can still be checked."""
    warnings = unknown_keys(config_file, env_file)
    try:
        return SettingsReport(
            load_settings(config_file, env_file=env_file), [], warnings, frozenset()
        )
    except ConfigError as exc:
        problems = list(exc.problems)
        invalid = frozenset(exc.fields)
    overrides = {
        name: Settings.model_fields[name].get_default(call_default_factory=True)
        for name in invalid
        if name in Settings.model_fields
    }
    try:
        settings: Settings | None = load_settings(config_file, env_file=env_file, **overrides)
    except ConfigError:
        settings = None
    return SettingsReport(settings, problems, warnings, invalid)


def discord_id_problems(settings: Settings, *, now_ms: int) -> list[str]:
    """Every configured Discord id that cannot be one (too short, or from the future)."""
    problems: list[str] = []
    for name in (
        "guild_id",
        "report_channel_id",
        "announce_channel_id",
        "relay_channel_ids",
        "relay_author_ids",
        "officer_role_ids",
    ):
        value = getattr(settings, name)
        for one in value if isinstance(value, list) else [value]:
            problem = None if one is None else snowflake_problem(one, now_ms=now_ms)
            if problem is not None:
                problems.append(f"{env_name(name)}: {one} {problem}")
    return problems


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
