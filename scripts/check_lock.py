"""Is the committed lock in step with pyproject.toml? Offline and quick, for .ci/run.

``scripts/lock`` writes ``requirements.lock`` (what the bot runs with) and
``requirements-dev.lock`` (the same plus the dev tools). This checks, without the network:

* every line pins one exact version with at least one sha256 hash;
* every dependency pyproject.toml declares (with ``[build-system].requires``, and for the dev
  lock the ``dev`` extra) is pinned, and the pinned version satisfies its specifier;
* the dev lock pins each runtime package at the runtime lock's version;
* each lock is closed: every requirement of a pinned package (its metadata, markers and extras
  evaluated for this interpreter) is pinned too. That metadata is read from the installed
  packages, so run it with the venv that ``scripts/bootstrap`` filled from the dev lock.

Prints one line per problem and exits 1, or prints a summary and exits 0.
"""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)")
_HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


@dataclass
class Lock:
    path: Path
    pins: dict[str, Version] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def read_lock(path: Path) -> Lock:
    """The pins of a pip-compile lock (``name==version \\ --hash=...`` entries)."""
    lock = Lock(path)
    if not path.is_file():
        lock.problems.append(f"{path.name}: missing (run scripts/lock)")
        return lock
    entries: list[str] = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].rstrip() if not raw.lstrip().startswith("--hash") else raw
        if not line.strip():
            continue
        if line[0].isspace() and entries:
            entries[-1] += " " + line.strip()
        else:
            entries.append(line.strip())
    for entry in entries:
        if entry.startswith("-"):
            lock.problems.append(f"{path.name}: unexpected option line {entry.split()[0]!r}")
            continue
        m = _PIN.match(entry)
        if m is None:
            lock.problems.append(f"{path.name}: not an exact pin: {entry[:60]!r}")
            continue
        name = canonicalize_name(m["name"])
        if not _HASH.search(entry):
            lock.problems.append(f"{path.name}: {name} has no sha256 hash")
        lock.pins[name] = Version(m["version"])
    if not lock.pins and not lock.problems:
        lock.problems.append(f"{path.name}: pins nothing")
    return lock


def check_declared(lock: Lock, declared: list[str]) -> list[str]:
    """Every declared requirement is pinned at a version its specifier allows."""
    problems = []
    for text in declared:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate():
            continue
        name = canonicalize_name(req.name)
        pinned = lock.pins.get(name)
        if pinned is None:
            problems.append(f"{lock.path.name}: {req.name} is in pyproject.toml but not pinned")
        elif not req.specifier.contains(pinned, prereleases=True):
            problems.append(
                f"{lock.path.name}: {name}=={pinned} does not satisfy {text!r} (pyproject.toml)"
            )
    return problems


def check_closed(lock: Lock, roots: list[str]) -> list[str]:
    """Everything the pinned packages require (from the installed metadata) is pinned too."""
    problems = []
    wanted: list[tuple[str, frozenset[str]]] = []
    for text in roots:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate():
            wanted.append((canonicalize_name(req.name), frozenset(req.extras)))
    seen: set[tuple[str, frozenset[str]]] = set()
    while wanted:
        name, extras = wanted.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            problems.append(
                f"{lock.path.name}: {name} is not installed here: run scripts/bootstrap first"
            )
            continue
        installed = Version(dist.version)
        if name in lock.pins and installed != lock.pins[name]:
            problems.append(
                f"{lock.path.name}: {name} {installed} is installed but {lock.pins[name]} is "
                "pinned: run scripts/bootstrap"
            )
        for text in dist.requires or []:
            req = Requirement(text)
            envs = [{"extra": e} for e in extras] or [{"extra": ""}]
            if req.marker is not None and not any(req.marker.evaluate(env) for env in envs):
                continue
            dep = canonicalize_name(req.name)
            if dep not in lock.pins:
                problems.append(f"{lock.path.name}: {dep} (needed by {name}) is not pinned")
                continue
            if not req.specifier.contains(lock.pins[dep], prereleases=True):
                problems.append(
                    f"{lock.path.name}: {dep}=={lock.pins[dep]} does not satisfy {name}'s {text!r}"
                )
            wanted.append((dep, frozenset(req.extras)))
    return problems


def check(root: Path = ROOT, *, closure: bool = True) -> list[str]:
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    project = pyproject["project"]
    # The build backend is pinned too: the project is built from the lock, offline.
    build = list(pyproject.get("build-system", {}).get("requires", []))
    runtime_deps = list(project["dependencies"]) + build
    dev_deps = runtime_deps + list(project.get("optional-dependencies", {}).get("dev", []))
    runtime = read_lock(root / "requirements.lock")
    dev = read_lock(root / "requirements-dev.lock")
    problems = runtime.problems + dev.problems
    problems += check_declared(runtime, runtime_deps)
    problems += check_declared(dev, dev_deps)
    for name, version in runtime.pins.items():
        if dev.pins.get(name) != version:
            problems.append(
                f"requirements-dev.lock: {name} is {dev.pins.get(name)}, "
                f"requirements.lock has {version}"
            )
    if closure and not problems:
        problems += check_closed(runtime, runtime_deps)
        problems += check_closed(dev, dev_deps)
    return problems


def main() -> int:
    problems = check()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print("The lock is out of step with pyproject.toml: run scripts/lock.", file=sys.stderr)
        return 1
    runtime = read_lock(ROOT / "requirements.lock")
    dev = read_lock(ROOT / "requirements-dev.lock")
    print(
        f"Lock in step with pyproject.toml: {len(runtime.pins)} runtime pins, "
        f"{len(dev.pins)} with the dev tools, all hashed."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
