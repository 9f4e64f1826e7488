"""What the fake WOM serves: a recorded group, the test's changes to it (renames, a truncated
roster, dropped fields, extra metrics and activity), and the payloads derived from both.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from domain.names import name_key
from fakes.wom.recordings import Recording, copy_data, iso, parse_iso

_FULL_SNAPSHOT_PLAYER = "partymarty94"
_FEEDS = ("activity", "name-changes")


@dataclass
class MembershipPatch:
    """A test's change to one membership as served: fields set or removed, on the membership
    and on its player (a drifted or corrupt entry)."""

    values: dict[str, Any] = field(default_factory=dict)
    remove: set[str] = field(default_factory=set)
    player_values: dict[str, Any] = field(default_factory=dict)
    player_remove: set[str] = field(default_factory=set)


class RecordedPayloads:
    """Mixin of :class:`~fakes.wom.FakeWom`: the served data and its test controls."""

    # Set by FakeWom.__init__.
    group_id: int
    fixture: str
    _recordings: dict[str, Recording]
    _players: dict[str, Recording]
    _renames: dict[int, tuple[str, str, datetime]]  # id → (old, new, resolved)
    _name_changes: list[dict[str, Any]]
    _keep_only: int | None
    _unknown_metrics: dict[str, int]
    _dropped_fields: set[str]
    _dropped_group_fields: set[str]
    _dropped_feed_fields: dict[str, set[str]]
    _patches: dict[int, MembershipPatch]
    _extra_activity: list[dict[str, Any]]
    _template_cache: dict[str, Any] | None
    _group_fields: dict[str, Any]

    # ------------------------------------------------------------------ test controls

    @property
    def fixtures(self) -> list[str]:
        """The recorded group payloads available, oldest first."""
        return sorted(self._recordings)

    def use_fixture(self, fixture: str) -> None:
        """Serve the group payload recorded at ``fixture`` (e.g. ``"2025-12-23T1935Z"``)."""
        if fixture not in self._recordings:
            raise KeyError(f"no recording {fixture!r}; have {sorted(self._recordings)}")
        self.fixture = fixture

    def name_group(self, name: str, *, clan_chat: str | None = None) -> None:
        """Serve the group under ``name`` with in-game clan chat ``clan_chat`` (WOM's
        ``clanChat``; None: the group says nothing of it). A WOM group's name is free text
        and often differs from the in-game clan's."""
        self._group_fields = {"name": name, "clanChat": clan_chat}

    def rename_player(
        self,
        player_id: int,
        new_display_name: str,
        resolved_at: datetime,
        *,
        in_feed: bool = True,
    ) -> None:
        """Rename a member in the roster and, unless ``in_feed`` is false, record an approved
        name change (WOM lists some renames late, or never: the roster shows them first)."""
        member = self._original_member(player_id)
        old = self._renames[player_id][1] if player_id in self._renames else None
        old_name = old or member["player"]["displayName"]
        self._renames[player_id] = (old_name, new_display_name, resolved_at)
        if in_feed:
            self.publish_rename(player_id)

    def publish_rename(self, player_id: int) -> None:
        """List the member's latest rename in the name-change feed (after ``in_feed=False``)."""
        old_name, new_name, resolved_at = self._renames[player_id]
        self._name_changes.append(
            {
                "id": 900_000 + len(self._name_changes) + 1,
                "playerId": player_id,
                "oldName": old_name,
                "newName": new_name,
                "status": "approved",
                "reviewContext": None,
                "resolvedAt": iso(resolved_at),
                "createdAt": iso(resolved_at - timedelta(minutes=5)),
                "updatedAt": iso(resolved_at),
            }
        )

    def keep_only_members(self, n: int | None) -> None:
        """Make the roster list only its first ``n`` members (``None`` restores all)."""
        self._keep_only = n

    def add_unknown_metric(self, name: str, value: int) -> None:
        """Add a boss nobody knows yet to every snapshot served."""
        self._unknown_metrics[name] = value

    def drop_optional_field(self, field_name: str) -> None:
        """Remove ``field_name`` from every membership and player object served."""
        self._dropped_fields.add(field_name)

    def drop_group_field(self, field_name: str) -> None:
        """Remove a top-level field (``roleOrders``, ``memberships``) from the group served."""
        self._dropped_group_fields.add(field_name)

    def drop_feed_field(self, feed: str, field_name: str) -> None:
        """Remove ``field_name`` from every entry of a feed (``activity``, ``name-changes``)."""
        if feed not in _FEEDS:
            raise ValueError(f"no feed {feed!r}; have {_FEEDS}")
        self._dropped_feed_fields.setdefault(feed, set()).add(field_name)

    def patch_membership(
        self,
        player_id: int,
        *,
        values: Mapping[str, Any] | None = None,
        remove: Collection[str] = (),
        player_values: Mapping[str, Any] | None = None,
        player_remove: Collection[str] = (),
    ) -> None:
        """Serve one membership changed: ``values`` set and ``remove`` dropped on it,
        ``player_values``/``player_remove`` on its player (a role WOM never had, a name no
        player can have, an entry without its player's id …)."""
        self._original_member(player_id)  # a recorded member, or KeyError
        patch = self._patches.setdefault(player_id, MembershipPatch())
        patch.values.update(values or {})
        patch.remove.update(remove)
        patch.player_values.update(player_values or {})
        patch.player_remove.update(player_remove)

    def clear_drift(self) -> None:
        """Serve the recorded fields again: undo every drop and patch."""
        self._dropped_fields.clear()
        self._dropped_group_fields.clear()
        self._dropped_feed_fields.clear()
        self._patches.clear()

    def add_activity(
        self,
        type: str,
        player_id: int,
        *,
        created_at: datetime,
        role: str | None = None,
        previous_role: str | None = None,
    ) -> None:
        """Add a group activity event (``joined``, ``left`` or ``changed_role``)."""
        player = self._current_player(player_id) or self._original_member(player_id)["player"]
        self._extra_activity.append(
            {
                "groupId": self.group_id,
                "playerId": player_id,
                "type": type,
                "role": role,
                "previousRole": previous_role,
                "createdAt": iso(created_at),
                "player": player,
            }
        )

    @property
    def activity(self) -> list[dict[str, Any]]:
        """The group activity the fake serves, newest first."""
        joined = [
            {
                "groupId": self.group_id,
                "playerId": m["player"]["id"],
                "type": "joined",
                "role": m.get("role"),
                "previousRole": None,
                "createdAt": m.get("createdAt"),
                "player": m["player"],
            }
            for m in self._group_payload()["memberships"]
        ]
        events = joined + self._extra_activity
        ordered = sorted(events, key=lambda e: str(e.get("createdAt") or ""), reverse=True)
        return self._drop_feed_fields("activity", ordered)

    def _drop_feed_fields(self, feed: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        dropped = self._dropped_feed_fields.get(feed, set())
        if not dropped:
            return items
        return [{k: v for k, v in item.items() if k not in dropped} for item in items]

    @property
    def name_changes(self) -> list[dict[str, Any]]:
        """Approved name changes, newest first."""
        out = []
        for change in self._name_changes:
            item = dict(change)
            item["player"] = self._current_player(change["playerId"])
            out.append(item)
        ordered = sorted(out, key=lambda c: str(c["resolvedAt"]), reverse=True)
        return self._drop_feed_fields("name-changes", ordered)

    # ------------------------------------------------------------------ derivation

    @property
    def _served(self) -> Recording:
        return self._recordings[self.fixture]

    def _served_state(self) -> tuple[object, ...]:
        """Everything a served member and snapshot is derived from besides the recordings:
        equal states serve equal members and snapshots."""
        return (
            self.fixture,
            self._keep_only,
            tuple(sorted(self._dropped_fields)),
            tuple(sorted(self._renames.items())),
            tuple(sorted(self._unknown_metrics.items())),
        )

    def _roster_mutated(self) -> bool:
        return bool(
            self._renames
            or self._keep_only is not None
            or self._dropped_fields
            or self._dropped_group_fields
            or self._patches
            or self._group_fields
        )

    def _snapshots_mutated(self) -> bool:
        return bool(self._unknown_metrics or self._dropped_fields)

    def _original_member(self, player_id: int) -> dict[str, Any]:
        for m in self._served.payload["memberships"]:
            if m["player"]["id"] == player_id:
                return dict(m)
        raise KeyError(f"player {player_id} is not in the recorded group")

    def _mutate_player(self, player: dict[str, Any]) -> dict[str, Any]:
        player = dict(player)
        rename = self._renames.get(player["id"])
        if rename is not None:
            player["displayName"] = rename[1]
            player["username"] = name_key(rename[1])
        for name in self._dropped_fields:
            player.pop(name, None)
        return player

    def _group_payload(self, recording: Recording | None = None) -> dict[str, Any]:
        """The group as served, with every membership whole (patches are applied on the way
        out, by :meth:`_served_group`: the fake's own lookups need ids and names)."""
        payload = dict((recording or self._served).payload)
        payload.update(self._group_fields)
        members = payload["memberships"]
        if self._keep_only is not None:
            members = members[: self._keep_only]
        out = []
        for m in members:
            item = {k: v for k, v in m.items() if k not in self._dropped_fields}
            item["player"] = self._mutate_player(m["player"])
            out.append(item)
        payload["memberships"] = out
        payload["memberCount"] = len(out)
        return payload

    def _served_group(self) -> dict[str, Any]:
        """``GET /groups/:id`` as served: dropped top-level fields and patched memberships."""
        payload = self._group_payload()
        out = []
        for m in payload["memberships"]:
            patch = self._patches.get(m["player"]["id"])
            if patch is not None:
                m = {k: v for k, v in m.items() if k not in patch.remove}
                m.update(patch.values)
                if isinstance(m.get("player"), dict):
                    player = {k: v for k, v in m["player"].items() if k not in patch.player_remove}
                    player.update(patch.player_values)
                    m["player"] = player
            out.append(m)
        payload["memberships"] = out
        for name in self._dropped_group_fields:
            payload.pop(name, None)
        return payload

    def _current_player(self, player_id: int) -> dict[str, Any] | None:
        for m in self._group_payload()["memberships"]:
            if m["player"]["id"] == player_id:
                return dict(m["player"])
        return None

    def _template(self) -> dict[str, Any]:
        """Metric names (and -1 values) read from the recorded full snapshot."""
        if self._template_cache is None:
            rec = self._players.get(_FULL_SNAPSHOT_PLAYER) or next(iter(self._players.values()))
            data = rec.payload["latestSnapshot"]["data"]
            out: dict[str, Any] = {}
            for category, metrics in data.items():
                out[category] = {}
                for metric, values in metrics.items():
                    blank = {
                        k: -1 if k in ("experience", "kills", "score", "rank", "value") else 0
                        for k in values
                    }
                    if "level" in blank:
                        blank["level"] = 1
                    blank["metric"] = metric
                    out[category][metric] = blank
            self._template_cache = out
        return copy_data(self._template_cache)

    def _with_unknown_metrics(self, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` (the caller's own copy, changed in place) with the unknown bosses added."""
        bosses = data.setdefault("bosses", {})
        for name, value in self._unknown_metrics.items():
            bosses[name] = {
                "metric": name,
                "kills": value,
                "rank": -1 if value < 0 else 1,
                "ehb": 0,
            }
        return data

    def _snapshot_for(self, player: Mapping[str, Any]) -> dict[str, Any] | None:
        """The latest snapshot of a group member as WOM would hold it."""
        if player.get("updatedAt") is None:
            return None
        recorded = self._players.get(name_key(str(player.get("username", ""))))
        if recorded is not None and recorded.payload.get("exp") == player.get("exp"):
            snap = _copy_snapshot(recorded.payload["latestSnapshot"])
        else:
            data = self._template()
            overall = data.setdefault("skills", {}).setdefault("overall", {"metric": "overall"})
            overall.update({"experience": player.get("exp", -1), "rank": -1, "level": -1})
            overall["ehp"] = player.get("ehp", 0)
            computed = data.setdefault("computed", {})
            computed["ehp"] = {"metric": "ehp", "value": player.get("ehp", 0), "rank": -1}
            computed["ehb"] = {"metric": "ehb", "value": player.get("ehb", 0), "rank": -1}
            pid = int(player["id"])
            stamp = int(parse_iso(str(player["updatedAt"])).timestamp())
            snap = {
                "id": pid * 10_000 + stamp % 10_000,
                "playerId": pid,
                "createdAt": player["updatedAt"],
                "importedAt": None,
                "data": data,
            }
        snap["data"] = self._with_unknown_metrics(snap["data"])
        return dict(snap)

    def _player_details(self, key: str) -> tuple[bytes | None, dict[str, Any]] | None:
        """(exact recorded bytes or None, payload) for a username key."""
        for m in self._group_payload()["memberships"]:
            player = m["player"]
            if name_key(str(player.get("username", ""))) != key:
                continue
            recorded = self._players.get(key)
            if (
                recorded is not None
                and recorded.payload.get("exp") == player.get("exp")
                and not self._roster_mutated()
                and not self._snapshots_mutated()
            ):
                return recorded.raw, recorded.payload
            details = dict(player)
            details.setdefault("combatLevel", 3)
            details.setdefault("archive", None)
            details.setdefault("annotations", [])
            details["latestSnapshot"] = self._snapshot_for(player)
            return None, details
        recorded = self._players.get(key)
        if recorded is None or key in self._renamed_away():
            return None
        if not self._snapshots_mutated():
            return recorded.raw, recorded.payload
        details = self._mutate_player(recorded.payload)
        snap = _copy_snapshot(recorded.payload["latestSnapshot"])
        snap["data"] = self._with_unknown_metrics(snap["data"])
        details["latestSnapshot"] = snap
        return None, details

    def _renamed_away(self) -> set[str]:
        return {name_key(old) for old, _new, _at in self._renames.values()}

    def _member_snapshots(self, key: str) -> list[dict[str, Any]]:
        found = self._player_details(key)
        if found is None:
            return []
        _raw, details = found
        pid = details["id"]
        snaps: dict[str, dict[str, Any]] = {}
        for stamp in self.fixtures:
            if stamp > self.fixture:
                break
            for m in self._group_payload(self._recordings[stamp])["memberships"]:
                if m["player"]["id"] == pid:
                    snap = self._snapshot_for(m["player"])
                    if snap is not None:
                        snaps[str(snap["createdAt"])] = snap
        latest = details.get("latestSnapshot")
        if latest is not None:
            snaps[str(latest["createdAt"])] = latest
        return [snaps[k] for k in sorted(snaps, reverse=True)]


def _copy_snapshot(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """A recorded snapshot to change: its fields are plain values but ``data``, copied as
    deep as it goes (category → metric → values); ``copy.deepcopy`` cost twice as much."""
    return {**snapshot, "data": copy_data(snapshot["data"])}
