"""The changed-metrics scan behind gains and progress: both of its paths give one answer.

Snapshots stored by one sync list their metrics in one order and take a path that skips
unchanged values in C; mappings in different orders (or with different names) take the
plain path. Hypothesis checks both against the obvious definition, and that gains and last
progress do not depend on which path ran.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.activity import SnapshotPoint, changed_metrics, snapshot_steps

NAMES = ["attack", "zulrah", "vorkath", "clue_scrolls_all", "ehp", "nex", "mining"]
VALUES = st.one_of(
    st.integers(min_value=-1, max_value=6),
    st.just(-1),
    st.floats(min_value=-1, max_value=6),
    st.just(math.nan),
    st.none(),
)
METRICS = st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=len(NAMES))
T0 = datetime(2025, 12, 1, tzinfo=UTC)


def _reference(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    out = []
    for name, new in after.items():
        if name not in before:
            out.append((name, None, new))
        elif before[name] != new:
            out.append((name, before[name], new))
    return out


def _same(a: list[tuple[str, Any, Any]], b: list[tuple[str, Any, Any]]) -> bool:
    """Equal, counting NaN equal to NaN (a NaN value always reads as changed)."""

    def key(item: tuple[str, Any, Any]) -> tuple[Any, ...]:
        return tuple("nan" if isinstance(v, float) and math.isnan(v) else v for v in item)

    return [key(x) for x in a] == [key(x) for x in b]


def _reordered(metrics: Mapping[str, Any], seed: int) -> dict[str, Any]:
    names = list(metrics)
    random.Random(seed).shuffle(names)
    return {name: metrics[name] for name in names}


@settings(max_examples=300, deadline=None)
@given(before=METRICS, after=METRICS, seed=st.integers(0, 1000))
def test_changed_metrics_is_the_obvious_definition_on_both_paths(
    before: dict[str, Any], after: dict[str, Any], seed: int
) -> None:
    aligned = {name: before.get(name, -1) for name in after}  # same names, same order
    for old in (before, aligned, _reordered(aligned, seed)):
        assert _same(list(changed_metrics(old, after)), _reference(old, after))


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(
        st.dictionaries(st.sampled_from(NAMES), st.integers(-1, 6), min_size=len(NAMES)),
        min_size=2,
        max_size=4,
    ),
    seed=st.integers(0, 1000),
)
def test_steps_do_not_depend_on_the_order_metrics_are_listed_in(
    values: list[dict[str, int]], seed: int
) -> None:
    def points(shuffle: bool) -> list[SnapshotPoint]:
        return [
            SnapshotPoint(
                T0 + timedelta(days=i),
                100 * i,
                float(i),
                0.0,
                _reordered(m, seed + i) if shuffle else {n: m[n] for n in NAMES},
            )
            for i, m in enumerate(values)
        ]

    assert snapshot_steps(points(False)) == snapshot_steps(points(True))
