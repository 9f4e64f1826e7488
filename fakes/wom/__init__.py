"""A local fake of the Wise Old Man API v2 over real HTTP on 127.0.0.1, for the tests and
``clanstats demo``: it serves the recorded payloads in ``fakes/data/wom/``, derives every other
answer from them, and applies rate limits and injected faults. ``python -m fakes.wom`` serves it.
"""

from fakes.wom.faults import Fault, FaultKind, RecordedRequest
from fakes.wom.recordings import DATA_DIR
from fakes.wom.server import DEFAULT_API_KEYS, DEFAULT_VERIFICATION_CODE, FakeWom

__all__ = [
    "DATA_DIR",
    "DEFAULT_API_KEYS",
    "DEFAULT_VERIFICATION_CODE",
    "FakeWom",
    "Fault",
    "FaultKind",
    "RecordedRequest",
]
