"""Frozen views of Wise Old Man API v2 payloads, parsed leniently.

Unknown fields are ignored, optional fields may be missing or null, and metric names are read
from the data (a boss WOM added yesterday is kept under its own name). A field WOM did not send
is ``None`` here, never a default that looks like an answer (a missing ``role`` or ``status`` is
unknown, not "no rank" or "active"): the sync keeps what it has for it. Only a missing identity
(a player's ``id`` or ``username``, a group's ``id``) or a body of the wrong shape raises
:class:`~bot.adapters.wom.errors.WomSchemaError`; in a list (a roster's memberships, a feed) one
such entry is skipped and listed with its reason instead (:class:`Unreadable`), so one bad entry
never costs the rest. ``-1`` (unranked) is kept as ``-1``, never 0.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from bot.adapters.wom.errors import WomSchemaError

__all__ = [
    "Unreadable",
    "WomActivity",
    "WomGroup",
    "WomHiscoresEntry",
    "WomItems",
    "WomMembership",
    "WomNameChange",
    "WomPlayer",
    "WomPlayerDetails",
    "WomSnapshot",
    "parse_timestamp",
]

# Which field holds a metric's value in each snapshot category; categories WOM adds later are
# read with the first numeric field of _FALLBACK_VALUE_FIELDS.
_VALUE_FIELDS = {
    "skills": "experience",
    "bosses": "kills",
    "activities": "score",
    "computed": "value",
}
_FALLBACK_VALUE_FIELDS = ("experience", "kills", "score", "value")

Json = Mapping[str, Any]
T = TypeVar("T")


@dataclass(frozen=True)
class Unreadable:
    """An entry of a WOM list that could not be read: skipped, counted, never fatal."""

    #: The WOM player it was about, when that much could be read.
    player_id: int | None
    reason: str


class WomItems(list[T]):
    """The readable entries of a WOM list, with the entries skipped (``skipped``)."""

    def __init__(self, items: list[T] | None = None, skipped: list[Unreadable] | None = None):
        super().__init__(items or [])
        self.skipped: list[Unreadable] = list(skipped or [])


def parse_items(raw: list[Any], parse: Callable[[object], T]) -> WomItems[T]:
    """Parse every entry of ``raw``; one of the wrong shape is skipped with its reason."""
    out: WomItems[T] = WomItems()
    for item in raw:
        try:
            out.append(parse(item))
        except WomSchemaError as exc:
            out.skipped.append(Unreadable(_player_id_of(item), str(exc)))
    return out


def _player_id_of(item: object) -> int | None:
    """The WOM player id an entry is about, when it says (``playerId`` or ``player.id``)."""
    if not isinstance(item, Mapping):
        return None
    for value in (
        item.get("playerId"),
        item["player"].get("id") if isinstance(item.get("player"), Mapping) else None,
    ):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def parse_timestamp(value: object) -> datetime | None:
    """Parse WOM's ISO-8601 UTC text into an aware UTC datetime; ``None`` if absent or bad."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _obj(value: object, what: str) -> Json:
    if not isinstance(value, Mapping):
        raise WomSchemaError(f"expected an object for {what}, got {type(value).__name__}")
    return value


def _list(value: object, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise WomSchemaError(f"expected a list for {what}, got {type(value).__name__}")
    return value


def _required_int(data: Json, key: str, what: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise WomSchemaError(f"{what} has no integer {key!r}")
    return value


def _str(data: Json, key: str, default: str | None = None) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else default


def _number(data: Json, key: str, default: float = 0.0) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return float(value)


def _int(data: Json, key: str, default: int = 0) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return int(value)


@dataclass(frozen=True)
class WomPlayer:
    """A player as WOM embeds it in groups, activity and hiscores."""

    id: int
    username: str
    display_name: str
    #: ``None`` when WOM did not send it (unknown: keep what we have).
    type: str | None = None
    build: str | None = None
    status: str | None = None
    exp: int = 0
    ehp: float = 0.0
    ehb: float = 0.0
    updated_at: datetime | None = None
    last_changed_at: datetime | None = None
    registered_at: datetime | None = None

    @classmethod
    def from_json(cls, raw: object) -> WomPlayer:
        data = _obj(raw, "player")
        pid = _required_int(data, "id", "player")
        username = _str(data, "username")
        if not username:
            raise WomSchemaError(f"player {pid} has no username")
        return cls(
            id=pid,
            username=username,
            display_name=_str(data, "displayName") or username,
            type=_str(data, "type") or None,
            build=_str(data, "build") or None,
            status=_str(data, "status") or None,
            exp=_int(data, "exp"),
            ehp=_number(data, "ehp"),
            ehb=_number(data, "ehb"),
            updated_at=parse_timestamp(data.get("updatedAt")),
            last_changed_at=parse_timestamp(data.get("lastChangedAt")),
            registered_at=parse_timestamp(data.get("registeredAt")),
        )


@dataclass(frozen=True)
class WomMembership:
    """One member of a group with their clan rank (``None``: WOM did not say)."""

    player: WomPlayer
    role: str | None
    created_at: datetime | None
    client_sync_joined_at: datetime | None

    @classmethod
    def from_json(cls, raw: object) -> WomMembership:
        data = _obj(raw, "membership")
        return cls(
            player=WomPlayer.from_json(data.get("player")),
            role=_str(data, "role") or None,
            created_at=parse_timestamp(data.get("createdAt")),
            client_sync_joined_at=parse_timestamp(data.get("clientSyncJoinedAt")),
        )


@dataclass(frozen=True)
class WomGroup:
    """A group with its members and its rank order (highest rank first).

    ``role_order`` is ``None`` when WOM sent no ``roleOrders`` list (unknown, not "no ranks").
    ``unreadable`` lists the memberships that could not be read (skipped, never fatal).
    """

    id: int
    name: str
    role_order: tuple[str, ...] | None
    memberships: tuple[WomMembership, ...]
    unreadable: tuple[Unreadable, ...] = ()
    # The in-game clan chat's name (WOM's ``clanChat``; None when the group does not say).
    clan_chat: str | None = None

    @classmethod
    def from_json(cls, raw: object) -> WomGroup:
        data = _obj(raw, "group")
        gid = _required_int(data, "id", "group")
        role_order: tuple[str, ...] | None = None
        if isinstance(data.get("roleOrders"), list):
            orders: list[tuple[int, str]] = []
            for item in data["roleOrders"]:
                if isinstance(item, Mapping) and isinstance(item.get("role"), str):
                    orders.append((_int(item, "index", len(orders)), item["role"]))
            role_order = tuple(role for _index, role in sorted(orders, key=lambda o: o[0]))
        # A group without its member list is not an empty roster: it is not a roster at all.
        members = parse_items(
            _list(data.get("memberships"), f"the memberships of group {gid}"),
            WomMembership.from_json,
        )
        return cls(
            id=gid,
            name=_str(data, "name") or "",
            role_order=role_order,
            memberships=tuple(members),
            unreadable=tuple(members.skipped),
            clan_chat=(_str(data, "clanChat") or "").strip() or None,
        )


def _value_keys(category: str) -> tuple[str, ...]:
    return (_VALUE_FIELDS[category],) if category in _VALUE_FIELDS else _FALLBACK_VALUE_FIELDS


def _metric_value(keys: tuple[str, ...], values: Json) -> int | float | None:
    """The first numeric field of ``keys`` (a bool is not a number)."""
    for key in keys:
        value = values.get(key)
        kind = type(value)
        if kind is int or kind is float:  # what JSON gives: the common case, checked first
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
    return None


@dataclass(frozen=True)
class WomSnapshot:
    """A player's stats at one moment; ``metrics`` holds every metric by name, -1 = unranked."""

    player_id: int
    taken_at: datetime
    overall_xp: int
    ehp: float
    ehb: float
    metrics: Mapping[str, int | float] = field(default_factory=dict)

    @classmethod
    def from_json(
        cls,
        raw: object,
        *,
        player_id: int | None = None,
        taken_at: datetime | None = None,
    ) -> WomSnapshot:
        """Parse a Snapshot (``{playerId, createdAt, data}``) or a bare ``data`` object.

        ``player_id``/``taken_at`` fill in what a bare ``data`` object lacks.
        """
        outer = _obj(raw, "snapshot")
        if "data" in outer and isinstance(outer.get("data"), Mapping):
            data: Json = outer["data"]
            pid = outer.get("playerId", player_id)
            when = parse_timestamp(outer.get("createdAt")) or taken_at
        else:
            data, pid, when = outer, player_id, taken_at
        if isinstance(pid, bool) or not isinstance(pid, int):
            raise WomSchemaError("snapshot has no integer 'playerId'")
        if when is None:
            raise WomSchemaError(f"snapshot of player {pid} has no 'createdAt'")
        metrics: dict[str, int | float] = {}
        for category, entries in data.items():
            if not isinstance(entries, Mapping):
                continue
            keys = _value_keys(str(category))  # once per category, not per metric
            for name, values in entries.items():
                if isinstance(values, Mapping):
                    value = _metric_value(keys, values)
                    if value is not None:
                        metrics[str(name)] = value
        overall = metrics.get("overall", -1)
        return cls(
            player_id=pid,
            taken_at=when,
            overall_xp=int(overall),
            ehp=float(metrics.get("ehp", 0.0)),
            ehb=float(metrics.get("ehb", 0.0)),
            metrics=metrics,
        )


@dataclass(frozen=True)
class WomPlayerDetails:
    """``GET /players/:username``: the player and their latest snapshot (None if never updated)."""

    player: WomPlayer
    latest_snapshot: WomSnapshot | None

    @classmethod
    def from_json(cls, raw: object) -> WomPlayerDetails:
        data = _obj(raw, "player details")
        player = WomPlayer.from_json(data)
        snap = data.get("latestSnapshot")
        return cls(
            player=player,
            latest_snapshot=None
            if snap is None
            else WomSnapshot.from_json(snap, player_id=player.id, taken_at=player.updated_at),
        )


@dataclass(frozen=True)
class WomHiscoresEntry:
    """One row of ``GET /groups/:id/bulk-hiscores`` (snapshot None if never updated)."""

    player: WomPlayer
    snapshot: WomSnapshot | None

    @classmethod
    def from_json(cls, raw: object) -> WomHiscoresEntry:
        data = _obj(raw, "bulk hiscores entry")
        player = WomPlayer.from_json(data.get("player"))
        snap = data.get("data")
        return cls(
            player=player,
            snapshot=None
            if snap is None
            else WomSnapshot.from_json(snap, player_id=player.id, taken_at=player.updated_at),
        )


@dataclass(frozen=True)
class WomNameChange:
    """An approved name change (``oldName`` → ``newName``)."""

    id: int | None
    player_id: int
    old_name: str
    new_name: str
    resolved_at: datetime | None

    @classmethod
    def from_json(cls, raw: object) -> WomNameChange:
        data = _obj(raw, "name change")
        player = data.get("player")
        pid = data.get("playerId")
        if (pid is None or isinstance(pid, bool)) and isinstance(player, Mapping):
            pid = player.get("id")
        if isinstance(pid, bool) or not isinstance(pid, int):
            raise WomSchemaError("name change has no integer 'playerId'")
        old_name, new_name = _str(data, "oldName"), _str(data, "newName")
        if not old_name or not new_name:
            raise WomSchemaError(f"name change of player {pid} lacks oldName/newName")
        raw_id = data.get("id")
        return cls(
            id=raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else None,
            player_id=pid,
            old_name=old_name,
            new_name=new_name,
            resolved_at=parse_timestamp(data.get("resolvedAt")),
        )


@dataclass(frozen=True)
class WomActivity:
    """A group roster event: ``joined``, ``left`` or ``changed_role`` (others kept as given)."""

    type: str
    role: str | None
    previous_role: str | None
    created_at: datetime | None
    player: WomPlayer

    @classmethod
    def from_json(cls, raw: object) -> WomActivity:
        data = _obj(raw, "activity")
        return cls(
            type=_str(data, "type") or "unknown",
            role=_str(data, "role"),
            previous_role=_str(data, "previousRole"),
            created_at=parse_timestamp(data.get("createdAt")),
            player=WomPlayer.from_json(data.get("player")),
        )
