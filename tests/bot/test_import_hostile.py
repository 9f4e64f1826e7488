"""``clanstats import`` against hostile files: bounded memory, bad entries skipped and counted,
no export refused whole, and no reader process outliving the import however it ends."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.adapters import dce
from bot.adapters.dce import (
    BadEntry,
    BrokenExport,
    NotAnExport,
    message_entries,
    message_from_dce,
)
from bot.app import App, wom_client
from bot.cli import main
from bot.core.config import Settings
from bot.usecases.harvest import compile_relay_config
from bot.usecases.importer import READER_PROCESS_MIN_BYTES, import_exports
from fakes.dce_export import (
    CHANNEL_ID,
    TRACKSCAPE_BOT_ID,
    WEBHOOK_ID,
    dce_embed,
    dce_message,
    player_names,
    relay_traffic,
    snowflake,
    write_export,
)
from storage.engine import Database
from storage.models import RelayMessage

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
TARGET: dict[str, Any] = {
    "group_id": 11114,
    "config": compile_relay_config([WEBHOOK_ID, TRACKSCAPE_BOT_ID], {}),
    "channel_ids": [CHANNEL_ID],
}
#: Peak memory any import may reach, whatever the file (the project's target at 1,000,000
#: messages).
RSS_LIMIT_MB = 300


def chat(i: int) -> dict[str, Any]:
    """A good relayed chat line: one stored row."""
    return dce_message(snowflake(T0, i), T0 + timedelta(seconds=i), f"**P{i}**: hi")


def raw_export(path: Path, entries: list[str], *, header: str | None = None) -> None:
    """An export whose message entries are given as JSON text (so they can be anything)."""
    head = header or json.dumps({"channel": {"id": str(CHANNEL_ID)}})[:-1]
    path.write_text(head + ',"messages":[' + ",".join(entries) + "]}", encoding="utf-8")


def entries_of(text: str) -> list[Any]:
    return list(message_entries(io.BytesIO(text.encode())))


@pytest.fixture
async def app(db: Database) -> AsyncIterator[App]:
    settings = Settings(database_url="sqlite://", wom_group_id=11114)
    application = App(db=db, wom=wom_client(settings))
    try:
        yield application
    finally:
        await application.wom.close()


async def stored_ids(app: App) -> list[int]:
    async with app.db.read() as session:
        rows = await session.execute(select(RelayMessage.message_id).order_by(RelayMessage.id))
        return [row[0] for row in rows]


# ---------------------------------------------------------------------------------------------
# The reader: depth and size limits, without building what it refuses


def test_nesting_is_limited_exactly_and_a_deep_entry_is_skipped_cheaply() -> None:
    at_limit = "[" * (dce.MAX_DEPTH - 1) + "]" * (dce.MAX_DEPTH - 1)
    over = "[" * dce.MAX_DEPTH + "]" * dce.MAX_DEPTH
    entries = [
        json.dumps(chat(1))[:-1] + f', "deep": {at_limit}}}',
        json.dumps(chat(2))[:-1] + f', "deep": {over}}}',
        "[" * 200_000 + "]" * 200_000,
        json.dumps(chat(3)),
    ]
    got = entries_of('{"messages": [' + ",".join(entries) + "]}")
    assert [type(e) for e in got] == [dict, BadEntry, BadEntry, dict]
    assert got[1].reason == got[2].reason == dce.TOO_DEEP
    assert got[2].detail == f"nested deeper than {dce.MAX_DEPTH} levels"
    assert got[3]["id"] == str(snowflake(T0, 3))


def test_an_indented_export_reads_as_a_compact_one() -> None:
    """DCE writes its exports indented (JsonMessageWriter: ``Indented = true``)."""
    messages = list(relay_traffic(300, players=player_names(20), start=T0))
    doc = {"guild": {"id": "1"}, "channel": {"id": str(CHANNEL_ID)}, "messages": messages}
    indented = entries_of(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    compact = entries_of(json.dumps(doc, separators=(",", ":")))
    assert indented == compact == messages
    read = [message_from_dce(entry, CHANNEL_ID) for entry in indented]
    assert all(message is not None for message in read)


def test_an_entry_over_the_size_limit_is_skipped_and_the_next_one_read() -> None:
    huge = json.dumps(dict(chat(1), content="x" * 10_000_000))
    long_number = json.dumps(chat(3))[:-1] + ', "n": ' + "7" * 5_000 + "}"
    got = entries_of('{"messages": [' + ",".join([huge, long_number, json.dumps(chat(4))]) + "]}")
    assert [getattr(e, "reason", None) for e in got] == [dce.TOO_LARGE, dce.LONG_NUMBER, None]
    assert "over 2,000,000 characters" in got[0].detail
    assert got[2]["content"] == "**P4**: hi"


def test_skipping_reads_an_escape_cut_by_the_window_end() -> None:
    """An oversized string with an escaped quote at each window boundary (the reader reads
    2**20 bytes at a time): the quote is content, not the string's end."""
    prefix = '{"messages": [{"content": "'
    body = ["x"] * (5 << 20)
    for k in range(1, 5):
        at = (k << 20) - 1 - len(prefix)  # the backslash ends a window, its quote starts one
        body[at : at + 2] = ["\\", '"']
    text = prefix + "".join(body) + '"}, ' + json.dumps(chat(4)) + "]}"
    got = entries_of(text)
    assert [getattr(e, "reason", None) for e in got] == [dce.TOO_LARGE, None]
    assert got[1]["content"] == "**P4**: hi"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[" * 200_000, NotAnExport),  # not an object at all
        (" \n", NotAnExport),  # empty
        ('{"channel": {"id": "1"}}', NotAnExport),  # no messages
        ('{"messages": {"0": {}}}', NotAnExport),
        ('{"messages": null}', NotAnExport),
        ('{"messages": "[]"}', NotAnExport),
        ('{"messages": [], "messages": []}', NotAnExport),
        ('{"messages": [' + "[" * 50_000, BrokenExport),  # cut inside a deep entry
        ('{"messages": [{"content": "' + "x" * 3_000_000, BrokenExport),  # cut in a huge one
        ('{"messages": [{"id": tru}]}', BrokenExport),
        ('{"messages": [{}]} trailing', BrokenExport),
        (b'{"messages": ["\xff"]}', BrokenExport),  # not UTF-8
    ],
)
def test_what_is_not_an_export_or_not_json_is_an_error(
    text: str | bytes, error: type[Exception]
) -> None:
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(error):
        list(message_entries(io.BytesIO(data)))


def test_a_deep_or_huge_header_value_is_ignored_but_a_bad_channel_refuses_the_file() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    ok = f'{{"guild": {deep}, "channel": {{"id": "5"}}, "x": "{"y" * 3_000_000}", "messages": []}}'
    reader = dce.ExportReader(io.BytesIO(ok.encode()))
    assert list(reader.messages()) == [] and reader.channel == {"id": "5"}
    with pytest.raises(NotAnExport, match="'channel' is unreadable"):
        list(message_entries(io.BytesIO(f'{{"channel": {deep}, "messages": []}}'.encode())))


# ---------------------------------------------------------------------------------------------
# One entry: every way to be bad is a counted reason, never an exception out of the import

SNOWFLAKE_MAX = str(2**63 - 1)
BAD: list[tuple[dict[str, Any], str]] = [
    # (what to change, reason)
    ({"type": ["Default"]}, dce.WRONG_TYPE),
    ({"type": 0}, dce.WRONG_TYPE),
    ({"id": "²³"}, dce.BAD_ID),  # isdigit() is true, int() fails
    ({"id": "١٢٣"}, dce.BAD_ID),  # Arabic-Indic digits: int() would take them
    ({"id": str(2**63)}, dce.BAD_ID),
    ({"id": "9" * 5_000}, dce.BAD_ID),
    ({"id": "0"}, dce.BAD_ID),
    ({"id": "-5"}, dce.BAD_ID),
    ({"id": " 12"}, dce.BAD_ID),
    ({"id": 2**64}, dce.BAD_ID),
    ({"id": 12.5}, dce.WRONG_TYPE),
    ({"id": None}, dce.MISSING),
    ({"timestamp": "0001-01-01T00:00:00+05:00"}, dce.TIME_RANGE),
    ({"timestamp": "9999-12-31T23:59:59-05:00"}, dce.TIME_RANGE),
    ({"timestamp": "2014-12-31T23:59:59+00:00"}, dce.TIME_RANGE),
    ({"timestamp": "yesterday"}, dce.BAD_TIME),
    ({"timestamp": 1_700_000_000}, dce.WRONG_TYPE),
    ({"timestamp": None}, dce.MISSING),
    ({"author": None}, dce.MISSING),
    ({"author": "me"}, dce.WRONG_TYPE),
    ({"author": {"id": "1", "name": ["x"]}}, dce.WRONG_TYPE),
    ({"author": {"id": "٣", "name": "x"}}, dce.BAD_ID),
    ({"content": 5}, dce.WRONG_TYPE),
    ({"content": "x" * (dce.MAX_CONTENT_CHARS + 1)}, dce.LONG_CONTENT),
    ({"content": "a\x00b"}, dce.BAD_TEXT),
    ({"content": "a\ud800b"}, dce.BAD_TEXT),
    ({"embeds": {"x": 1}}, dce.WRONG_TYPE),
    ({"embeds": [dce_embed(title="t")] * (dce.MAX_EMBEDS + 1)}, dce.MANY_EMBEDS),
    ({"embeds": [dce_embed(description="d" * 4_000)] * 8}, dce.LONG_EMBEDS),
    ({"embeds": [{"fields": [{"name": "n", "value": "v"}] * 51}]}, dce.LONG_EMBEDS),
    ({"embeds": [{"title": 7}]}, dce.WRONG_TYPE),
]


def bad_entry(i: int, change: dict[str, Any]) -> str:
    return json.dumps(dict(chat(i), **change))  # escaped: a lone surrogate stays writable


async def test_every_bad_entry_is_skipped_and_counted_and_the_rest_imported_once(
    app: App, tmp_path: Path
) -> None:
    entries: list[str] = []
    good: list[int] = []
    for n, (change, _) in enumerate(BAD):
        entries.append(json.dumps(chat(n)))
        good.append(snowflake(T0, n))
        entries.append(bad_entry(1_000 + n, change))
    entries += ["[" * 40_000 + "]" * 40_000, json.dumps(dict(chat(999), content="x" * 3_000_000))]
    entries.append(json.dumps(chat(500)))
    good.append(snowflake(T0, 500))
    path = tmp_path / "poisoned.json"
    raw_export(path, entries)

    report = await import_exports(app, [path], batch_size=7, **TARGET)
    assert report.failures == [] and report.refused == []
    assert report.messages_read == len(entries)
    assert report.ingest.new == len(good) and await stored_ids(app) == good
    expected: dict[str, int] = {dce.TOO_DEEP: 1, dce.TOO_LARGE: 1}
    for _, reason in BAD:
        expected[reason] = expected.get(reason, 0) + 1
    assert report.bad_reasons == expected
    assert report.bad_entries == len(BAD) + 2
    summary = report.summary()
    assert f"skipped bad:       {len(BAD) + 2}" in summary
    assert f"    {dce.BAD_ID + ':':<25}{expected[dce.BAD_ID]}" in summary
    assert f"    {dce.TIME_RANGE + ':':<25}3" in summary
    assert "message #1: type is not a string" in report.bad_examples[0]

    again = await import_exports(app, [path], batch_size=1_000, reader_process=True, **TARGET)
    assert again.failures == [] and again.bad_reasons == expected
    assert again.ingest.new == 0 and again.ingest.duplicates_of_known == len(good)
    assert await stored_ids(app) == good


@pytest.mark.parametrize("separate", [False, True], ids=["in-process", "reader-process"])
async def test_an_export_without_a_messages_list_is_refused_with_nothing_stored(
    app: App, tmp_path: Path, separate: bool
) -> None:
    files = []
    for name, body in [
        ("none", {"channel": {"id": str(CHANNEL_ID)}, "messageCount": 3}),
        ("dict", {"channel": {"id": str(CHANNEL_ID)}, "messages": {"0": chat(1)}}),
        ("null", {"channel": {"id": str(CHANNEL_ID)}, "messages": None}),
    ]:
        files.append(tmp_path / f"{name}.json")
        files[-1].write_text(json.dumps(body))
    bare = tmp_path / "bare.json"
    bare.write_text("[" * 200_000 + "]" * 200_000)
    files.append(bare)
    report = await import_exports(app, files, reader_process=separate, **TARGET)
    assert report.failures == [] and report.messages_read == 0
    assert await stored_ids(app) == []
    assert len(report.refused) == 4
    expected = "none.json: not a DiscordChatExporter export: it has no 'messages' list"
    assert expected in report.refused[0]
    assert "its 'messages' is not a list" in report.refused[1]
    assert "its 'messages' is not a list" in report.refused[2]
    assert "the file is not a JSON object" in report.refused[3]
    assert all("\n" not in line for line in report.refused)


# ---------------------------------------------------------------------------------------------
# The real command: memory, exit codes, killing it


def cli_env(db_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "CLANSTATS_DATABASE_URL": f"sqlite:///{db_path}",
            "CLANSTATS_WOM_GROUP_ID": "11114",
            "CLANSTATS_RELAY_CHANNEL_IDS": str(CHANNEL_ID),
            "CLANSTATS_RELAY_AUTHOR_IDS": f"{WEBHOOK_ID},{TRACKSCAPE_BOT_ID}",
            "CLANSTATS_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


_MEASURE = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "sys.stdout.write(done.stdout)\n"
    "sys.stderr.write(done.stderr)\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(f'PEAK_KB {peak} EXIT {done.returncode}')\n"
)


def measured_import(paths: list[Path], db_path: Path) -> tuple[int, float, str, str]:
    """Run ``clanstats import`` in a child: (exit code, peak RSS of it and its reader in MB,
    stdout, stderr). ru_maxrss of the waited-for children includes their own children."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, sys.executable, "-m", "bot", "import"]
        + [str(p) for p in paths],
        env=cli_env(db_path),
        cwd=db_path.parent,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    out, _, tail = done.stdout.rpartition("PEAK_KB ")
    peak_kb, _, code = tail.split()
    return int(code), int(peak_kb) / 1024, out, done.stderr


def test_hostile_files_import_in_bounded_memory(tmp_path: Path) -> None:
    """Nesting 200,000 and 40,000 deep and a 10 MB message: skipped with their reason, in
    process (a small file) and in the reader process (a large one), under the memory limit."""
    small = tmp_path / "deep.json"
    deep = "[" * 200_000 + "]" * 200_000
    raw_export(
        small,
        [
            json.dumps(chat(1)),
            deep,
            json.dumps(chat(2)),
            json.dumps(chat(3))[:-1] + ', "x": ' + "[" * 40_000 + "]" * 40_000 + "}",
            json.dumps(chat(4)),
        ],
        header=f'{{"guild": {deep}, "channel": {{"id": "{CHANNEL_ID}"}}',
    )
    large = tmp_path / "huge-message.json"
    raw_export(
        large,
        [
            json.dumps(chat(5)),
            json.dumps(dict(chat(6), content="y" * 10_000_000)),
            deep,
            json.dumps(chat(7)),
        ],
    )
    assert small.stat().st_size < READER_PROCESS_MIN_BYTES <= large.stat().st_size
    code, peak, out, err = measured_import([small, large], tmp_path / "db.sqlite3")
    assert code == 0, err
    assert "9 messages read" in out and "stored new:        5" in out
    assert f"    {dce.TOO_DEEP + ':':<25}3" in out and f"    {dce.TOO_LARGE + ':':<25}1" in out
    assert peak < RSS_LIMIT_MB, f"peak RSS {peak:.0f} MB"
    # read by benchmarks/chaos.py (its figures)
    print(f"hostile import (200,000-deep nesting, 10 MB message): peak RSS {peak:.0f} MB")


def test_cli_exit_codes_for_a_file_that_is_not_an_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.json"
    missing.write_text(json.dumps({"channel": {"id": str(CHANNEL_ID)}}))
    good = tmp_path / "good.json"
    write_export(good, [chat(1), chat(2)])
    for key, value in cli_env(tmp_path / "db.sqlite3").items():
        if key.startswith("CLANSTATS_"):
            monkeypatch.setenv(key, value)
    assert main(["import", str(missing), str(good)]) == 2  # bad input; good.json imported
    out, err = capsys.readouterr()
    assert "stored new:        2" in out and "REFUSED" in out
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: {missing}: not a DiscordChatExporter export: it has no 'messages' list"
    ]


# -- killing an import -------------------------------------------------------------------------

KILL_MESSAGES = 5_000
#: Processes are followed through /proc.
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@pytest.fixture(scope="module")
def big_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An export large enough to be read in the reader process, one stored row per message
    (each padded with an attachment, as a big export has many)."""
    path = tmp_path_factory.mktemp("kill") / "big.json"
    attachment = {"id": "1", "url": "https://cdn/x.png", "fileName": "x" * 1_600}
    write_export(path, (dict(chat(i), attachments=[attachment]) for i in range(KILL_MESSAGES)))
    assert path.stat().st_size >= READER_PROCESS_MIN_BYTES
    return path


def _processes() -> dict[int, tuple[int, str]]:
    """Every process: pid → (parent pid, state)."""
    found: dict[int, tuple[int, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(entry)] = (int(fields[1]), fields[0])
    return found


def descendants(root: int) -> set[int]:
    table = _processes()
    found: set[int] = set()
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _) in table.items():
            if ppid == parent and pid not in found:
                found.add(pid)
                frontier.append(pid)
    return found


def alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (a zombie waiting to be reaped has ended)."""
    table = _processes()
    return {pid for pid in pids if pid in table and table[pid][1] != "Z"}


def stored_rows(db_path: Path) -> int:
    if not db_path.exists():
        return 0
    conn = sqlite3.connect(db_path, timeout=5)
    try:
        return int(conn.execute("SELECT count(*) FROM relay_messages").fetchone()[0])
    except sqlite3.OperationalError:  # not migrated yet
        return 0
    finally:
        conn.close()


def start_import(big_export: Path, db_path: Path, name: str) -> subprocess.Popen[str]:
    """``clanstats import`` of ``big_export`` in a child, its output in ``name``.out/.err."""
    with (
        (db_path.parent / f"{name}.out").open("w") as out,
        (db_path.parent / f"{name}.err").open("w") as err,
    ):
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "import", "--batch-size", "200", str(big_export)],
            env=cli_env(db_path),
            cwd=db_path.parent,
            stdout=out,  # files, not pipes: an orphan holding a pipe would hang the reading
            stderr=err,
            text=True,
        )


def _kill_mid_import(
    proc: subprocess.Popen[str], db_path: Path, how: signal.Signals, *, after: int
) -> tuple[set[int], int]:
    """Wait until the reader runs and more than ``after`` rows are stored, send ``how``:
    (processes it had started, rows stored when it ended)."""
    seen: set[int] = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the import ended before it could be killed"
        seen |= descendants(proc.pid)
        if seen and stored_rows(db_path) > after:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the import stored nothing within 120 s")
    seen |= descendants(proc.pid)
    proc.send_signal(how)
    proc.wait(timeout=60)
    return seen, stored_rows(db_path)


def _assert_no_orphans(started: set[int]) -> None:
    deadline = time.monotonic() + 5
    while alive(started) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(started), f"processes left behind: {sorted(alive(started))}"


@linux_only
def test_killed_imports_leave_no_process_behind_and_a_rerun_stores_the_rest(
    big_export: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """SIGKILL, then SIGTERM, mid-import (the reader process running): no process is left
    behind, and a rerun stores exactly the clean import's rows (0 lost, 0 twice)."""
    db_path = tmp_path / "kill.sqlite3"
    proc = start_import(big_export, db_path, "killed")
    try:
        started, rows = _kill_mid_import(proc, db_path, signal.SIGKILL, after=0)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert started, "the import started no reader process"
    assert 0 < rows < KILL_MESSAGES
    _assert_no_orphans(started)

    proc = start_import(big_export, db_path, "terminated")
    try:
        started, rows_after = _kill_mid_import(proc, db_path, signal.SIGTERM, after=rows)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 143
    err = (tmp_path / "terminated.err").read_text()
    assert "import stopped (SIGTERM)" in err and "Traceback" not in err
    assert rows < rows_after < KILL_MESSAGES
    _assert_no_orphans(started)

    for key, value in cli_env(db_path).items():
        if key.startswith("CLANSTATS_"):
            monkeypatch.setenv(key, value)
    assert main(["import", str(big_export)]) == 0
    assert f"already stored:    {rows_after:,}" in capsys.readouterr().out
    assert stored_rows(db_path) == KILL_MESSAGES


def _child_pid(marker: Path) -> int:
    """The pid a test's parent process writes to ``marker`` once its child started."""
    deadline = time.monotonic() + 30
    while not marker.exists() or not marker.read_text():
        assert time.monotonic() < deadline, "the child never started"
        time.sleep(0.05)
    return int(marker.read_text())


@linux_only
def test_a_child_ends_when_its_parent_dies_without_prctl(tmp_path: Path) -> None:
    """Where the kernel cannot be asked (not Linux), the watcher thread ends the child."""
    marker = tmp_path / "child.pid"
    parent = (
        "import subprocess, sys, time\n"
        "child = (\n"
        "    'import os, sys, time\\n'\n"
        "    'from bot.core.lifetime import die_with_parent\\n'\n"
        "    'die_with_parent(int(sys.argv[1]), poll_s=0.1, use_prctl=False)\\n'\n"
        "    'open(sys.argv[2], \"w\").write(str(os.getpid()))\\n'\n"
        "    'time.sleep(60)\\n'\n"
        ")\n"
        "import os\n"
        "subprocess.Popen([sys.executable, '-c', child, str(os.getpid()), sys.argv[1]])\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", parent, str(marker)], env=dict(os.environ, PYTHONPATH=str(ROOT))
    )
    try:
        child = _child_pid(marker)
        assert alive({child})
    finally:
        proc.kill()
        proc.wait()
    _assert_no_orphans({child})


@linux_only
def test_a_spawned_child_is_bound_to_its_parent_before_its_target_is_imported(
    tmp_path: Path,
) -> None:
    """The import's reader is started through run_bound_to_parent: a parent killed while the
    child still imports its target's modules (seconds for the importer's, under load) takes
    the child with it at once, not when those imports are over."""
    (tmp_path / "slow_target.py").write_text(
        "import time\ntime.sleep(60)  # a module that takes long to import\n"
        "def run(path):\n    open(path, 'w').write('ran')\n"
    )
    marker = tmp_path / "child.pid"
    parent = (
        "import multiprocessing, os, sys, time\n"
        "from bot.core.lifetime import run_bound_to_parent\n"
        "if __name__ == '__main__':\n"
        "    ctx = multiprocessing.get_context('spawn')\n"
        "    child = ctx.Process(target=run_bound_to_parent,\n"
        "        args=(os.getpid(), 'slow_target:run', sys.argv[1] + '.ran'))\n"
        "    child.start()\n"
        "    open(sys.argv[1], 'w').write(str(child.pid))\n"
        "    time.sleep(60)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(tmp_path)]))
    proc = subprocess.Popen([sys.executable, "-c", parent, str(marker)], env=env)
    try:
        child = _child_pid(marker)
        time.sleep(1.0)  # the child is inside the slow import by now
        assert alive({child})
    finally:
        proc.kill()
        proc.wait()
    _assert_no_orphans({child})
    assert not (tmp_path / "child.pid.ran").exists()
