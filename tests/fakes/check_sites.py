"""Every check of the fake Discord, and whether a test made it fire.

A *check* is a place where the fake rejects something: it adds a form error
(``errors.add``), answers an HTTP error (``error(...)``, ``not_found()``,
``rate_limited(...)``), records a violation (``self._violation``) or an unknown request
(``self._unknown``), closes the gateway with a 4xxx code, or sends INVALID_SESSION (op 9).
A line marked ``# fake-check: not a Discord rule`` (the fake's guard against its own bugs)
is left out. Rejections that sit in one block (a violation recorded, then its error
answered) are one check, named by the first of them. A check *fired* when the line of that
first rejection ran under the test suite: coverage of the rejecting branch, from coverage's
data.

    python -m tests.fakes.check_sites [--data .coverage] [--require-all]

prints "fake Discord checks exercised: N of M" and every check no test made fire;
``--require-all`` exits 1 unless every check fired (``scripts/test`` runs it so).
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FAKE = ROOT / "fakes" / "discord"

# On a rejecting line that guards the fake itself (its own bugs), not a rule of Discord's.
SKIP_PRAGMA = "# fake-check: not a Discord rule"
# Calls that reject, by the called name (a function or a method on anything).
_REJECTING_CALLS = {
    "error",
    "not_found",
    "rate_limited",
    "reject",
    "_forbidden",
    "_too_many",
    "_refuse",
    "_violation",
    "_unknown",
}
# The plumbing that every rejection goes through: not checks themselves.
_INFRASTRUCTURE = {
    "error",
    "not_found",
    "rate_limited",
    "reject",
    "_forbidden",
    "_too_many",
    "_refuse",
    "_violation",
    "_unknown",
    "_invalid_form",
    "add",
    "at",
    "tree",
    "reasons",
}


@dataclass(frozen=True, order=True)
class CheckSite:
    path: str  # relative to the repository root
    line: int
    function: str
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} ({self.function}): {self.text}"


def _called_name(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _is_rejection(node: ast.AST) -> bool:
    """Whether ``node`` (an expression, anywhere in a statement) is a rejecting call."""
    if not isinstance(node, ast.Call):
        return False
    name = _called_name(node)
    if name in _REJECTING_CALLS:
        return True
    func = node.func
    if (
        name == "add"
        and isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id == "errors"
    ):
        return True
    if name == "close":
        for keyword in node.keywords:
            value = keyword.value
            if keyword.arg == "code" and isinstance(value, ast.Constant):
                return isinstance(value.value, int) and 4000 <= value.value < 5000
    if name == "send" and node.args and isinstance(node.args[0], ast.Dict):
        for key, value in zip(node.args[0].keys, node.args[0].values, strict=True):
            if isinstance(key, ast.Constant) and key.value == "op":
                return isinstance(value, ast.Constant) and value.value == 9
    return False


def _rejects(statement: ast.stmt) -> bool:
    """Whether the statement itself (not a nested block) rejects."""
    if isinstance(
        statement, ast.If | ast.For | ast.AsyncFor | ast.While | ast.With | ast.AsyncWith | ast.Try
    ):
        return False
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return False
    return any(_is_rejection(n) for n in ast.walk(statement))


def _blocks(node: ast.AST) -> Iterator[list[ast.stmt]]:
    for field in ("body", "orelse", "finalbody"):
        block = getattr(node, field, None)
        if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
            yield block
    for handler in getattr(node, "handlers", []) or []:
        yield handler.body
    for case in getattr(node, "cases", []) or []:
        yield case.body


def _sites_in(tree: ast.Module, path: str, lines: list[str]) -> Iterator[CheckSite]:
    def walk(node: ast.AST, function: str) -> Iterator[CheckSite]:
        for block in _blocks(node):
            first = next((s for s in block if _rejects(s)), None)
            skip = first is not None and SKIP_PRAGMA in lines[first.lineno - 1]
            if first is not None and function not in _INFRASTRUCTURE and not skip:
                text = lines[first.lineno - 1].strip()
                yield CheckSite(path, first.lineno, function, text)
            for statement in block:
                name = function
                if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
                    name = statement.name
                yield from walk(statement, name)

    yield from walk(tree, "<module>")


def check_sites(files: Iterable[Path] | None = None, root: Path = ROOT) -> list[CheckSite]:
    """Every check in the fake Discord's source (or ``files``), in file and line order."""
    found: list[CheckSite] = []
    for file in sorted(files if files is not None else FAKE.rglob("*.py")):
        source = file.read_text()
        rel = file.resolve().relative_to(root.resolve()).as_posix()
        found.extend(_sites_in(ast.parse(source), rel, source.splitlines()))
    return sorted(found)


def executed_lines(data_file: Path, root: Path = ROOT) -> dict[str, set[int]]:
    """Lines run under the tests, per file relative to the root (from coverage's data)."""
    from coverage import CoverageData

    data = CoverageData(basename=str(data_file))
    data.read()
    out: dict[str, set[int]] = {}
    for measured in data.measured_files():
        try:
            rel = Path(measured).resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            continue
        out.setdefault(rel, set()).update(data.lines(measured) or ())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / ".coverage")
    parser.add_argument("--require-all", action="store_true")
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"no coverage data at {args.data}: run scripts/test first", file=sys.stderr)
        return 2
    ran = executed_lines(args.data)
    sites = check_sites()
    missed = [s for s in sites if s.line not in ran.get(s.path, set())]
    print(f"fake Discord checks exercised: {len(sites) - len(missed)} of {len(sites)}")
    for site in missed:
        print(f"  never fired: {site}")
    return 1 if missed and args.require_all else 0


if __name__ == "__main__":
    raise SystemExit(main())
