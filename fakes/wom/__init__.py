"""A local fake of the Wise Old Man API v2, served over real HTTP on 127.0.0.1.

Used by the test suite and by ``clanstats demo``; ``python -m fakes.wom`` serves it alone.
:class:`FakeWom` serves the recorded payloads in ``fakes/data/wom/`` byte for byte, derives
every other answer from them in code, and applies WOM's rate limits and the faults a test
injects (HTML error pages, 503s, timeouts, truncated JSON).
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
