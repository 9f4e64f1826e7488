"""``python -m fakes.wom --port 8765``: serve the fake Wise Old Man until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

import fakes.wom
from fakes.wom.server import FakeWom


async def _serve_forever(port: int, fixture: str, window: float) -> None:
    async with FakeWom(port=port, fixture=fixture, rate_window_s=window) as fake:
        print(f"fake Wise Old Man listening on {fake.base_url}", flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    """Parse ``--port``, ``--fixture`` and ``--rate-window`` and serve."""
    parser = argparse.ArgumentParser(prog="python -m fakes.wom", description=fakes.wom.__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fixture", default="2025-12-23T0901Z")
    parser.add_argument("--rate-window", type=float, default=60.0)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(args.port, args.fixture, args.rate_window))


if __name__ == "__main__":
    main()
