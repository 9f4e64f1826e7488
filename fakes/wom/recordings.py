"""Loading the recorded payloads in ``fakes/data/wom/``, and the pure time and snapshot helpers
shared by the payload derivation and the endpoints.

The recordings are package data (``[tool.setuptools.package-data]`` in pyproject.toml): they are
found through :mod:`importlib.resources`, so ``clanstats demo`` works from an installed wheel
or the Docker image as well as from a checkout.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

from domain.names import name_key

#: The recorded payloads shipped inside the ``fakes`` package (a directory on disk for a
#: checkout or an installed wheel; any :class:`Traversable` works, a zip import included).
DATA_DIR: Traversable = files("fakes") / "data" / "wom"

_GROUP_FILE = re.compile(r"group-(?P<gid>\d+)-(?P<stamp>\d{4}-\d{2}-\d{2}T\d{4}Z)\.json")
_PLAYER_FILE = re.compile(r"player-(?P<name>.+)-(?P<stamp>\d{4}-\d{2}-\d{2}T\d{4}Z)\.json")
_VALUE_FIELD = {"skills": "experience", "bosses": "kills", "activities": "score"}


@dataclass
class Recording:
    """One recorded payload: its stamp, when it was taken, the exact bytes and the parsed JSON."""

    stamp: str
    taken_at: datetime
    raw: bytes
    payload: dict[str, Any] = field(repr=False)


def _json_files(data_dir: Traversable) -> list[Traversable]:
    """The ``*.json`` files of ``data_dir``, by name; a missing folder holds none."""
    if not data_dir.is_dir():
        return []
    return sorted(
        (f for f in data_dir.iterdir() if f.is_file() and f.name.endswith(".json")),
        key=lambda f: f.name,
    )


def load_group_recordings(data_dir: Traversable, group_id: int) -> dict[str, Recording]:
    """Every recording of group ``group_id``, keyed by stamp (``"2025-12-23T0901Z"``)."""
    out: dict[str, Recording] = {}
    for path in _json_files(data_dir):
        m = _GROUP_FILE.fullmatch(path.name)
        if m is None or int(m["gid"]) != group_id:
            continue
        raw = path.read_bytes()
        out[m["stamp"]] = Recording(m["stamp"], stamp_time(m["stamp"]), raw, json.loads(raw))
    if not out:
        raise FileNotFoundError(f"no group-{group_id}-*.json in {data_dir}")
    return out


def load_player_recordings(data_dir: Traversable) -> dict[str, Recording]:
    """Every recorded player payload, keyed by :func:`name_key` of its username."""
    out: dict[str, Recording] = {}
    for path in _json_files(data_dir):
        m = _PLAYER_FILE.fullmatch(path.name)
        if m is None:
            continue
        raw = path.read_bytes()
        payload = json.loads(raw)
        key = name_key(str(payload.get("username") or m["name"]))
        out[key] = Recording(m["stamp"], stamp_time(m["stamp"]), raw, payload)
    return out


def iso(dt: datetime) -> str:
    """WOM's timestamp format: UTC, milliseconds, ``Z``."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def stamp_time(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H%MZ").replace(tzinfo=UTC)


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def copy_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """Copy a snapshot's ``data`` two levels deep (category → metric → values)."""
    return {
        cat: {name: dict(values) for name, values in metrics.items()}
        for cat, metrics in data.items()
    }


def metric_values(snapshot: Mapping[str, Any] | None) -> Iterator[tuple[str, float]]:
    """(metric, value) for every metric of a snapshot, reading each category's value field."""
    if snapshot is None:
        return
    for category, metrics in snapshot.get("data", {}).items():
        for metric, values in metrics.items():
            field_name = _VALUE_FIELD.get(category, "value")
            value = values.get(field_name)
            if isinstance(value, int | float):
                yield metric, value
