"""When PostgreSQL cannot be used: only "no server answers" may skip, and never under CI.

Each case is a real connection attempt (a closed port, a database or user that does not
exist, a malformed URL, a host that does not resolve) and, for the run as a whole, a real
pytest (and a real ``.ci/postgres``) in a subprocess.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.conftest import PG_ADMIN_URL, ci_is_set, probe_postgres, require_postgres

ROOT = Path(__file__).resolve().parents[1]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _closed_url() -> str:
    return f"postgresql://postgres@127.0.0.1:{_closed_port()}/test"


def _with_database(name: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def test_a_closed_port_is_a_server_not_answering() -> None:
    status = probe_postgres(_closed_url())
    assert not status.usable and status.not_answering
    assert "not answering" in (status.problem or "")
    assert "ConnectionRefusedError" in (status.problem or "")


def test_a_database_name_typo_is_a_mistake_not_a_missing_server() -> None:
    require_postgres()
    status = probe_postgres(_with_database("clanstats_no_such_db"))
    assert not status.usable and not status.not_answering
    assert 'database "clanstats_no_such_db" does not exist' in (status.problem or "")


def test_an_unknown_user_is_an_authentication_error_not_a_missing_server() -> None:
    require_postgres()
    url = make_url(PG_ADMIN_URL).set(username="clanstats_nobody").render_as_string()
    status = probe_postgres(url)
    assert not status.usable and not status.not_answering
    assert "clanstats_nobody" in (status.problem or "")


def test_a_malformed_url_or_an_unknown_host_is_a_mistake() -> None:
    scheme = probe_postgres("postgresq://postgres@127.0.0.1:5432/test")
    assert not scheme.usable and not scheme.not_answering
    assert "invalid DSN" in (scheme.problem or "")
    host = probe_postgres("postgresql://postgres@no-such-host.invalid:5432/test")
    assert not host.usable and not host.not_answering
    assert "gaierror" in (host.problem or "")
    garbage = probe_postgres("not a url at all")
    assert not garbage.usable and not garbage.not_answering


def test_ci_is_set_by_any_value_but_empty_0_or_false() -> None:
    assert ci_is_set({"CI": "true"}) and ci_is_set({"CI": "1"}) and ci_is_set({"CI": "yes"})
    assert not ci_is_set({}) and not ci_is_set({"CI": ""}) and not ci_is_set({"CI": "false"})
    assert not ci_is_set({"CI": "0"})


def _pytest(url: str, *, ci: bool) -> subprocess.CompletedProcess[str]:
    """Run the PostgreSQL-only lease test in a fresh pytest against ``url``."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["CLANSTATS_TEST_PG_URL"] = url
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/storage/test_scheduler_lease.py",
            "-p",
            "no:cacheprovider",
            "-q",
            "-rsfE",
            "--no-header",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_locally_a_server_not_answering_skips_with_the_reason() -> None:
    url = _closed_url()
    run = _pytest(url, ci=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 skipped" in run.stdout
    assert "PostgreSQL not answering at" in run.stdout and "ConnectionRefusedError" in run.stdout


def test_under_ci_a_server_not_answering_fails_the_run_with_the_reason() -> None:
    run = _pytest(_closed_url(), ci=True)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 error" in run.stdout
    assert "PostgreSQL not answering at" in run.stdout
    assert "CI is set: PostgreSQL tests must run" in run.stdout


def test_a_typo_in_the_database_name_fails_even_locally() -> None:
    require_postgres()
    run = _pytest(_with_database("clanstats_tset"), ci=False)
    assert run.returncode == 1, run.stdout + run.stderr
    assert 'database "clanstats_tset" does not exist' in run.stdout
    assert "skipped" not in run.stdout


def _ci_postgres(url: str, *, ci: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["CLANSTATS_TEST_PG_URL"] = url
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        ["bash", str(ROOT / ".ci" / "postgres")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_ci_run_fails_under_ci_when_postgres_does_not_answer_and_says_why() -> None:
    url = _closed_url()
    port = make_url(url).port
    failed = _ci_postgres(url, ci=True)
    assert failed.returncode == 1
    assert f"PostgreSQL is not answering on 127.0.0.1:{port}" in failed.stderr
    assert "CI is set" in failed.stderr
    local = _ci_postgres(url, ci=False)
    assert local.returncode == 0
    assert "its tests will be skipped" in local.stderr


def test_ci_run_goes_on_when_postgres_answers() -> None:
    require_postgres()
    answered = _ci_postgres(PG_ADMIN_URL, ci=True)
    assert answered.returncode == 0, answered.stderr
    assert "PostgreSQL answers on" in answered.stdout
