"""Wise Old Man API v2 client: typed models, typed errors, a rate-limited HTTP client."""

from bot.adapters.wom.client import HttpWomClient, WomApi, WomRateLimiter, wom_party
from bot.adapters.wom.errors import (
    WomBadRequest,
    WomError,
    WomForbidden,
    WomNotFound,
    WomRateLimited,
    WomSchemaError,
    WomUnavailable,
)
from bot.adapters.wom.models import (
    Unreadable,
    WomActivity,
    WomGroup,
    WomHiscoresEntry,
    WomItems,
    WomMembership,
    WomNameChange,
    WomPlayer,
    WomPlayerDetails,
    WomSnapshot,
)

__all__ = [
    "HttpWomClient",
    "Unreadable",
    "WomActivity",
    "WomApi",
    "WomBadRequest",
    "WomError",
    "WomForbidden",
    "WomGroup",
    "WomHiscoresEntry",
    "WomItems",
    "WomMembership",
    "WomNameChange",
    "WomNotFound",
    "WomPlayer",
    "WomPlayerDetails",
    "WomRateLimited",
    "WomRateLimiter",
    "WomSchemaError",
    "WomSnapshot",
    "WomUnavailable",
    "wom_party",
]
