"""The Dockerfile and compose.yaml, checked without a Docker daemon (CI has none).

Dockerfile: it must build with the classic builder as well as BuildKit. The classic builder
knows no heredocs (``RUN python - <<'PY'`` ends in "unknown instruction"), no ``RUN --mount``,
``--network`` or ``--security``, no ``COPY --link``, ``--chmod``, ``--parents`` or
``--exclude``, and ignores a ``# syntax=`` directive (which would only hide the problem under
BuildKit). Every instruction must be one the classic builder knows, every base image pinned
by version and digest, every ``COPY`` source must exist and not be left out by .dockerignore,
the image must run as a non-root user and install only from the hashed lock.

compose.yaml: ``docker compose config`` is not available here (no compose plugin, no daemon),
so its shape is checked: only service keys the Compose Specification defines
(compose-spec/compose-spec, schema/compose-spec.json at commit
170098ba07d9f53c383a41bfd4c5166b0a4529a6), a restart policy and a health check on every
service, images pinned, the bot waiting for a healthy database, and every ``CLANSTATS_`` key a
setting the bot knows.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from bot.core.config import ENV_PREFIX, Settings

REPO = Path(__file__).resolve().parent.parent

# Instructions the classic builder knows (moby's builder/dockerfile dispatchers).
CLASSIC_INSTRUCTIONS = {
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
    "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
}  # fmt: skip
BUILDKIT_ONLY_FLAGS = {
    "RUN": ("--mount", "--network", "--security"),
    "COPY": ("--link", "--chmod", "--parents", "--exclude"),
    "ADD": ("--link", "--chmod", "--checksum", "--keep-git-dir", "--parents", "--exclude"),
}
# A tag naming an exact release (3.11.16, or PostgreSQL's 15.19) and the digest that fixes it.
PINNED_IMAGE = re.compile(r"^[a-z0-9./-]+:\d+\.\d+(\.\d+)?[A-Za-z0-9._-]*@sha256:[0-9a-f]{64}$")
HEREDOC = re.compile(r"<<-?\s*['\"]?[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str
    args: str


def parse_dockerfile(text: str) -> tuple[list[str], list[Instruction]]:
    """(parser directives, instructions), continuation lines joined, comments dropped."""
    directives: list[str] = []
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    seen_instruction = False
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not pending and stripped.startswith("#"):
            if not seen_instruction and re.match(r"#\s*[a-z]+\s*=", stripped):
                directives.append(stripped)
            continue
        if not pending and not stripped:
            continue
        if pending and (not stripped or stripped.startswith("#")):
            continue  # comments and blank lines inside a continued instruction
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        joined = " ".join(pending)
        pending = []
        keyword, _, args = joined.partition(" ")
        instructions.append(Instruction(start, keyword.upper(), args.strip()))
        seen_instruction = True
    if pending:
        instructions.append(Instruction(start, "<UNTERMINATED>", " ".join(pending)))
    return directives, instructions


def _flags(args: str) -> list[str]:
    flags = []
    for word in args.split():
        if not word.startswith("--"):
            break
        flags.append(word.split("=", 1)[0])
    return flags


def _dockerignore(root: Path) -> list[str]:
    path = root / ".dockerignore"
    if not path.exists():
        return []
    lines = [line.strip() for line in path.read_text().splitlines()]
    return [line.rstrip("/") for line in lines if line and not line.startswith("#")]


def _ignored(source: str, patterns: list[str]) -> bool:
    source = source.strip("./") or "."
    for pattern in patterns:
        if pattern.startswith("!"):
            continue
        candidates = [pattern]
        if pattern.startswith("**/"):
            candidates.append(pattern[3:])
        if any(fnmatch.fnmatch(source, p) for p in candidates):
            return True
    return False


def classic_builder_problems(text: str, root: Path) -> list[str]:
    """Everything that keeps ``text`` from building with the classic builder or breaks our
    rules; an empty list when it is fine."""
    problems: list[str] = []
    directives, instructions = parse_dockerfile(text)
    for directive in directives:
        if re.match(r"#\s*syntax\s*=", directive):
            problems.append(f"parser directive {directive!r} (BuildKit frontend only)")
    stages: set[str] = set()
    ignore = _dockerignore(root)
    # ARGs declared before the first FROM may name the base image: their defaults must pin it.
    base_args: dict[str, str] = {}
    for ins in instructions:
        if ins.keyword == "FROM":
            break
        if ins.keyword == "ARG" and "=" in ins.args:
            name, _, default = ins.args.partition("=")
            base_args[name.strip()] = default.strip().strip("\"'")
    for ins in instructions:
        where = f"line {ins.line}"
        if ins.keyword not in CLASSIC_INSTRUCTIONS:
            problems.append(f"{where}: unknown instruction {ins.keyword}")
            continue
        if HEREDOC.search(ins.args):
            problems.append(f"{where}: heredoc in {ins.keyword} (BuildKit only)")
        for flag in _flags(ins.args):
            if flag in BUILDKIT_ONLY_FLAGS.get(ins.keyword, ()):
                problems.append(f"{where}: {ins.keyword} {flag} (BuildKit only)")
        if ins.keyword == "FROM":
            words = [w for w in ins.args.split() if not w.startswith("--")]
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: base_args.get(m[1], m[0]), words[0])
            if len(words) >= 3 and words[1].upper() == "AS":
                stages.add(words[2].lower())
            if image.lower() not in stages and not PINNED_IMAGE.match(image):
                problems.append(f"{where}: base image {image!r} not pinned by version and digest")
        if ins.keyword in ("COPY", "ADD"):
            flags = _flags(ins.args)
            if "--from" in flags:
                continue
            words = [w for w in ins.args.split() if not w.startswith("--")]
            for source in words[:-1]:
                if not (root / source).exists():
                    problems.append(f"{where}: {ins.keyword} source {source!r} does not exist")
                elif _ignored(source, ignore):
                    problems.append(f"{where}: {ins.keyword} source {source!r} is in .dockerignore")
        if ins.keyword == "RUN" and re.search(r"\bpip\b.*\binstall\b", ins.args):
            if "-r " in ins.args and "--require-hashes" not in ins.args:
                problems.append(f"{where}: pip installs a requirements file without hashes")
            if "-r " not in ins.args and "--no-deps" not in ins.args:
                problems.append(f"{where}: pip install outside the lock (no -r, no --no-deps)")
    users = [ins.args.split(":")[0] for ins in instructions if ins.keyword == "USER"]
    if not users or users[-1] in ("root", "0"):
        problems.append("the image runs as root")
    if not any(i.keyword == "HEALTHCHECK" for i in instructions):
        problems.append("no HEALTHCHECK")
    return problems


# --- the Dockerfile -------------------------------------------------------------------------


def test_the_dockerfile_builds_with_the_classic_builder() -> None:
    assert classic_builder_problems((REPO / "Dockerfile").read_text(), REPO) == []


def test_the_image_installs_the_committed_lock_and_checks_its_health() -> None:
    _, instructions = parse_dockerfile((REPO / "Dockerfile").read_text())
    runs = " ".join(i.args for i in instructions if i.keyword == "RUN")
    assert "--require-hashes" in runs and "-r requirements.lock" in runs
    copied = {w for i in instructions if i.keyword == "COPY" for w in i.args.split()}
    assert "requirements.lock" in copied
    # Everything pyproject.toml packages is copied in, or the wheel would lack it.
    for package in ("bot", "cogs", "domain", "storage", "migrations", "fakes"):
        assert package in copied
    (health,) = (i.args for i in instructions if i.keyword == "HEALTHCHECK")
    assert '["clanstats", "health"]' in health
    froms = [i.args.split()[0] for i in instructions if i.keyword == "FROM"]
    assert froms == ["${BASE_IMAGE}"] * 2, "both stages should use the one pinned base image"
    (base,) = (i.args for i in instructions if i.keyword == "ARG" and "BASE_IMAGE=" in i.args)
    assert re.match(r"BASE_IMAGE=python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64}$", base)


@pytest.mark.parametrize(
    ("dockerfile", "expected"),
    [
        # The Dockerfile of issue 14, which the classic builder refused.
        (
            "# syntax=docker/dockerfile:1\nFROM python:3.11-slim AS build\nCOPY pyproject.toml ./\n"
            "RUN python - <<'PY' > /tmp/requirements.txt\nimport tomllib\n"
            'print("x")\nPY\nRUN pip install -r /tmp/requirements.txt\nUSER clanstats\n'
            'HEALTHCHECK CMD ["clanstats", "health"]\n',
            [
                "parser directive",
                "not pinned by version and digest",
                "heredoc in RUN",
                "unknown instruction IMPORT",
                "unknown instruction PRINT",
                "unknown instruction PY",
                "without hashes",
            ],
        ),
        (
            "FROM python:3.11.16-slim@sha256:" + "a" * 64 + "\n"
            "RUN --mount=type=cache,target=/root/.cache pip install --no-deps x\n"
            "COPY --chmod=755 scripts/run /run\nCOPY tests ./tests\nCOPY nowhere ./\n",
            [
                "RUN --mount",
                "COPY --chmod",
                "'tests' is in .dockerignore",
                "'nowhere' does not exist",
                "runs as root",
                "no HEALTHCHECK",
            ],
        ),
        (
            "ARG BASE=python:3.11-slim\nFROM ${BASE}\nUSER app\nHEALTHCHECK CMD true\n",
            ["base image 'python:3.11-slim' not pinned"],
        ),
    ],
)
def test_the_check_catches_what_the_classic_builder_refuses(
    dockerfile: str, expected: list[str]
) -> None:
    problems = classic_builder_problems(dockerfile, REPO)
    for fragment in expected:
        assert any(fragment in p for p in problems), (fragment, problems)


# --- compose.yaml ---------------------------------------------------------------------------

# The service keys of the Compose Specification that this project may use (a subset of
# definitions.service.properties in compose-spec's schema; the schema rejects any other key).
COMPOSE_SERVICE_KEYS = {
    "build", "command", "container_name", "depends_on", "entrypoint", "env_file",
    "environment", "healthcheck", "image", "init", "labels", "logging", "networks", "ports",
    "restart", "stop_grace_period", "stop_signal", "user", "volumes", "working_dir",
}  # fmt: skip
COMPOSE_TOP_KEYS = {"name", "services", "volumes", "networks", "configs", "secrets"}
RESTART_POLICIES = {"always", "unless-stopped", "on-failure"}  # "no" would not come back
HEALTHCHECK_KEYS = {"test", "interval", "timeout", "retries", "start_period", "start_interval"}
_VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?:[:?\-+][^}]*)?\}")


def _compose() -> dict[str, object]:
    data = yaml.safe_load((REPO / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def _interpolate(value: str, env: dict[str, str]) -> str:
    return _VARIABLE.sub(lambda m: env[m[1]], value)


def test_compose_has_only_keys_the_compose_specification_defines() -> None:
    compose = _compose()
    assert set(compose) <= COMPOSE_TOP_KEYS
    services = compose["services"]
    assert isinstance(services, dict) and set(services) == {"bot", "db"}
    for name, service in services.items():
        assert set(service) <= COMPOSE_SERVICE_KEYS, (name, set(service) - COMPOSE_SERVICE_KEYS)
        assert service["restart"] in RESTART_POLICIES, name
        health = service["healthcheck"]
        assert set(health) <= HEALTHCHECK_KEYS and health["test"][0] in ("CMD", "CMD-SHELL")
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            assert source in (compose.get("volumes") or {}), f"{name}: volume {source} undeclared"


def test_compose_runs_the_bot_on_a_pinned_postgresql_it_waits_for() -> None:
    services = _compose()["services"]
    assert isinstance(services, dict)
    bot, db = services["bot"], services["db"]
    assert bot["build"] == "."
    assert PINNED_IMAGE.match(db["image"]) and db["image"].startswith("postgres:15.")
    assert bot["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert bot["healthcheck"]["test"] == ["CMD", "clanstats", "health"]
    assert bot["env_file"] == ".env" and (REPO / ".env.example").exists()
    assert "/var/lib/postgresql/data" in " ".join(db["volumes"])
    env = {"POSTGRES_PASSWORD": "pw"}
    url = make_url(_interpolate(bot["environment"]["CLANSTATS_DATABASE_URL"], env))
    db_env = {k: _interpolate(str(v), env) for k, v in db["environment"].items()}
    assert url.drivername == "postgresql+asyncpg" and url.host == "db"
    assert (url.username, url.password, url.database) == (
        db_env["POSTGRES_USER"],
        db_env["POSTGRES_PASSWORD"],
        db_env["POSTGRES_DB"],
    )
    # The heartbeat file is set here, whatever .env says, so `clanstats health` checks it.
    assert bot["environment"]["CLANSTATS_HEARTBEAT_FILE"]


def test_compose_sets_only_settings_the_bot_knows_and_documents_its_variables() -> None:
    services = _compose()["services"]
    assert isinstance(services, dict)
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    for key in services["bot"]["environment"]:
        assert key in known, f"{key} is not a ClanStats setting"
    example = (REPO / ".env.example").read_text()
    for variable in set(_VARIABLE.findall((REPO / "compose.yaml").read_text())):
        assert re.search(rf"^#?\s*{variable}=", example, re.M), f"{variable} not in .env.example"
