"""The census of the fake Discord's checks finds each way of rejecting, once per block, and
counts a check as exercised only when its rejecting line ran."""

from __future__ import annotations

from pathlib import Path

from coverage import CoverageData

from tests.fakes.check_sites import check_sites, executed_lines

SOURCE = """
def error(status, code, message):
    return {"status": status}


class Routes:
    def _violation(self, request, reason):
        self.violations.append(reason)

    async def handler(self, request, errors, ws):
        if request.bad:
            self._violation(request, "bad")
            return error(400, 1, "Bad")
        if request.forbidden:
            return self._forbidden(request, 50013, "no")
        if request.long:
            errors.add(("content",), "BASE_TYPE_MAX_LENGTH", "too long")
        seen = set()
        seen.add(1)
        if request.guard:
            self._violation(request, "bug")  # fake-check: not a Discord rule
        if request.gateway:
            await ws.close(code=4004, message=b"Authentication failed.")
            await ws.close(code=1000)
        await ws.send({"op": 9, "d": False})
        await ws.send({"op": 11})
        return error(200, 0, "fine") if False else None
"""


def test_each_rejecting_block_is_one_check(tmp_path: Path) -> None:
    source = tmp_path / "routes.py"
    source.write_text(SOURCE)
    sites = check_sites([source], root=tmp_path)
    assert [(s.line, s.function) for s in sites] == [
        (12, "handler"),  # a violation and its error: one check, named by the first
        (15, "handler"),  # _forbidden
        (17, "handler"),  # errors.add (but not seen.add)
        (23, "handler"),  # close with a 4xxx code (not 1000)
        (25, "handler"),  # INVALID_SESSION (op 9), not a heartbeat ack; the block's first
    ]
    # error() and _violation() themselves are the plumbing, and the guarded line is skipped.
    assert not any(s.function in ("error", "_violation") for s in sites)


def test_a_check_counts_as_exercised_only_when_its_line_ran(tmp_path: Path) -> None:
    source = tmp_path / "routes.py"
    source.write_text(SOURCE)
    data = CoverageData(basename=str(tmp_path / ".coverage"))
    data.add_lines({str(source): [11, 12, 13, 15, 25]})
    data.write()
    ran = executed_lines(tmp_path / ".coverage", root=tmp_path)
    sites = check_sites([source], root=tmp_path)
    fired = [s.line for s in sites if s.line in ran["routes.py"]]
    assert fired == [12, 15, 25]


def test_the_fake_discord_has_checks_of_every_kind() -> None:
    texts = [s.text for s in check_sites()]
    assert len(texts) > 150
    for kind in ("errors.add(", "_forbidden(", "_violation(", "_refuse(", "error(", '"op": 9'):
        assert any(kind in t for t in texts), kind
