"""Every REST check of the fake Discord fires with Discord's status, code and body.

A plain HTTP client plays the bot here, so each request can break exactly one rule (a client
library would refuse to send most of them). How discord.py meets these answers is in
``test_fake_discord.py``; how ClanStats does, in ``tests/e2e/``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from fakes.discord import FakeDiscord, FakeGuild, FakeInteraction, Permission
from fakes.discord.ratelimits import Limit, RateLimiter
from tests.fakes.toy_world import (
    BOT_CHANNEL_ID,
    GUILD_ID,
    MEMBER_ID,
    OFFICER_ID,
    OFFICER_ROLE_ID,
    RELAY_CHANNEL_ID,
    build_world,
)

UNKNOWN = 1_100_000_000_000_009_999
BOT_ROLE_ID = 1_100_000_000_000_000_050
HIGH_ROLE_ID = 1_100_000_000_000_000_051
LOW_ROLE_ID = 1_100_000_000_000_000_052
INTENTS = (1 << 0) | (1 << 9) | (1 << 15)  # guilds, guild messages, message content


class Api:
    """A raw HTTP client with the bot's token, answering (status, JSON body, headers)."""

    def __init__(self, fake: FakeDiscord, http: aiohttp.ClientSession) -> None:
        self.fake = fake
        self.http = http
        self.base = f"{fake.base_url}/api/v10"
        self.auth = {"Authorization": f"Bot {fake.token}"}

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        files: dict[str, bytes] | None = None,
        auth: bool = True,
        params: dict[str, str] | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        headers = dict(self.auth) if auth else {}
        kwargs: dict[str, Any] = {"headers": headers, "params": params}
        if files is not None:
            form = aiohttp.FormData(quote_fields=False)
            form.add_field("payload_json", json.dumps(body or {}))
            for index, (name, data) in enumerate(files.items()):
                form.add_field(f"files[{index}]", data, filename=name)
            kwargs["data"] = form
        elif raw is not None:
            kwargs["data"] = raw
            headers["Content-Type"] = "application/json"
        elif body is not None:
            kwargs["json"] = body
        url = path if path.startswith("http") else self.base + path
        async with self.http.request(method, url, **kwargs) as resp:
            text = await resp.text()
            data = json.loads(text) if text and resp.content_type == "application/json" else None
            return resp.status, data, dict(resp.headers)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    # These tests send bursts of bad requests on purpose: only the rate-limit tests limit.
    unlimited = RateLimiter(routes={}, default=Limit(1000, 1.0), global_limit=Limit(1000, 1.0))
    async with FakeDiscord(rate_limits=unlimited) as fake:
        build_world(fake)
        yield fake


@pytest.fixture
async def api(fake: FakeDiscord) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as http:
        yield Api(fake, http)


def guild(fake: FakeDiscord) -> FakeGuild:
    return fake.guilds[GUILD_ID]


def missing_access() -> dict[str, Any]:
    return {"message": "Missing Access", "code": 50001}


def missing_permissions() -> dict[str, Any]:
    return {"message": "Missing Permissions", "code": 50013}


# --------------------------------------------------------------------------- unknown things


async def test_unknown_resources_get_discords_404_codes(api: Api, fake: FakeDiscord) -> None:
    message = fake.seed_history(BOT_CHANNEL_ID, [{"author_id": MEMBER_ID, "content": "hi"}])[0]
    cases = [
        ("GET", f"/channels/{UNKNOWN}", 10003),
        ("POST", f"/channels/{UNKNOWN}/typing", 10003),
        ("GET", f"/channels/{UNKNOWN}/messages", 10003),
        ("GET", f"/channels/{UNKNOWN}/messages/{message['id']}", 10003),
        ("PATCH", f"/channels/{UNKNOWN}/messages/{message['id']}", 10003),
        ("DELETE", f"/channels/{UNKNOWN}/messages/{message['id']}", 10003),
        ("PUT", f"/channels/{UNKNOWN}/permissions/{MEMBER_ID}", 10003),
        ("GET", f"/channels/{BOT_CHANNEL_ID}/messages/{UNKNOWN}", 10008),
        ("PATCH", f"/channels/{BOT_CHANNEL_ID}/messages/{UNKNOWN}", 10008),
        ("DELETE", f"/channels/{BOT_CHANNEL_ID}/messages/{UNKNOWN}", 10008),
        ("GET", f"/guilds/{UNKNOWN}", 10004),
        ("GET", f"/guilds/{UNKNOWN}/channels", 10004),
        ("GET", f"/guilds/{UNKNOWN}/roles", 10004),
        ("GET", f"/guilds/{UNKNOWN}/members/{MEMBER_ID}", 10004),
        ("GET", f"/guilds/{GUILD_ID}/members/{UNKNOWN}", 10007),
        ("PUT", f"/guilds/{UNKNOWN}/members/{MEMBER_ID}/roles/{OFFICER_ROLE_ID}", 10004),
        ("PUT", f"/guilds/{GUILD_ID}/members/{UNKNOWN}/roles/{OFFICER_ROLE_ID}", 10007),
        ("PUT", f"/guilds/{GUILD_ID}/members/{MEMBER_ID}/roles/{UNKNOWN}", 10011),
        ("GET", f"/users/{UNKNOWN}", 10013),
        ("GET", f"/webhooks/{UNKNOWN}", 10015),
    ]
    for method, path, code in cases:
        status, body, _ = await api.call(method, path, {"content": "x"})
        assert (status, body["code"]) == (404, code), (method, path, body)
    status, body, _ = await api.call("POST", f"/channels/{UNKNOWN}/messages", {"content": "x"})
    assert (status, body) == (404, {"message": "Unknown Channel", "code": 10003})
    assert any("Unknown Channel" in v for v in fake.violations)


async def test_routes_discord_does_not_have_are_recorded(api: Api, fake: FakeDiscord) -> None:
    assert (await api.call("GET", "/nope"))[:2] == (404, {"message": "404: Not Found", "code": 0})
    wrong_version = f"{fake.base_url}/api/v9/users/@me"
    assert (await api.call("GET", wrong_version))[0] == 404
    cdn = f"{fake.base_url}/attachments/{BOT_CHANNEL_ID}/{UNKNOWN}/chart.png"
    assert (await api.call("GET", cdn))[0] == 404
    async with api.http.get(fake.base_url + "/") as resp:  # the gateway, without a websocket
        assert resp.status == 404
    assert fake.unknown_requests == [
        "GET /api/v10/nope",
        "GET /api/v9/users/@me",
        f"GET /attachments/{BOT_CHANNEL_ID}/{UNKNOWN}/chart.png",
        "GET /",
    ]


async def test_a_missing_or_wrong_token_is_401_and_recorded(api: Api, fake: FakeDiscord) -> None:
    status, body, _ = await api.call("GET", "/users/@me", auth=False)
    assert (status, body) == (401, {"message": "401: Unauthorized", "code": 0})
    assert fake.violations == ["GET /api/v10/users/@me: 401 Unauthorized: no or a wrong bot token"]


# --------------------------------------------------------------------------- bodies


async def test_bodies_discord_cannot_read_or_show(api: Api, fake: FakeDiscord) -> None:
    path = f"/channels/{BOT_CHANNEL_ID}/messages"
    status, body, _ = await api.call("POST", path, raw=b"{not json")
    assert (status, body["code"]) == (400, 50109)
    status, body, _ = await api.call("POST", path, ["a", "list"])
    assert (status, body["code"]) == (400, 50109)
    status, body, _ = await api.call("POST", path, {"content": ""})
    assert (status, body) == (400, {"message": "Cannot send an empty message", "code": 50006})
    status, body, _ = await api.call("POST", path, {"content": "x" * 2001})
    assert (status, body["code"], body["message"]) == (400, 50035, "Invalid Form Body")
    assert body["errors"]["content"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
    big = {"big.png": b"\0" * (10 * 1024 * 1024 + 1)}
    status, body, _ = await api.call("POST", path, {"content": "x"}, files=big)
    assert (status, body["code"]) == (413, 40005)
    # An embed image naming a file the message does not carry: Discord shows no image.
    picture = {"embeds": [{"title": "t", "image": {"url": "attachment://chart.png"}}]}
    status, _, _ = await api.call("POST", path, picture)
    assert status == 200
    assert fake.violations[-1].endswith(
        "embeds.0.image refers to attachment://chart.png but no such file is attached "
        "(Discord shows no image)"
    )
    assert len(fake.violations) == 6


async def test_history_queries_outside_discords_range_are_refused(api: Api) -> None:
    path = f"/channels/{BOT_CHANNEL_ID}/messages"
    for params, code in (
        ({"limit": "ten"}, "NUMBER_TYPE_COERCE"),
        ({"limit": "0"}, "NUMBER_TYPE_MIN"),
        ({"before": "1", "after": "2"}, "BASE_TYPE_CHOICES"),
    ):
        status, body, _ = await api.call("GET", path, params=params)
        assert status == 400 and body["code"] == 50035
        tree = body["errors"]
        errors = tree.get("_errors") or tree["limit"]["_errors"]
        assert [e["code"] for e in errors] == [code], body


# --------------------------------------------------------------------------- permissions


async def test_without_view_channel_everything_there_is_missing_access(
    api: Api, fake: FakeDiscord
) -> None:
    message = fake.seed_history(BOT_CHANNEL_ID, [{"author_id": MEMBER_ID, "content": "hi"}])[0]
    await fake.set_channel_permissions(BOT_CHANNEL_ID, GUILD_ID, deny=Permission.VIEW_CHANNEL)
    base = f"/channels/{BOT_CHANNEL_ID}"
    for method, path in (
        ("GET", base),
        ("POST", f"{base}/typing"),
        ("GET", f"{base}/messages"),
        ("GET", f"{base}/messages/{message['id']}"),
        ("POST", f"{base}/messages"),
        ("PATCH", f"{base}/messages/{message['id']}"),
        ("DELETE", f"{base}/messages/{message['id']}"),
        ("PUT", f"{base}/permissions/{MEMBER_ID}"),
    ):
        status, body, _ = await api.call(method, path, {"content": "x", "type": 1})
        assert (status, body) == (403, missing_access()), (method, path)
    assert len(fake.violations) == 8
    assert all("Missing Access (50001)" in v for v in fake.violations)
    # The other channel is untouched, and a member overwrite gives the bot its view back.
    assert (await api.call("GET", f"/channels/{RELAY_CHANNEL_ID}"))[0] == 200
    await fake.set_channel_permissions(
        BOT_CHANNEL_ID, fake.bot_user_id, allow=Permission.VIEW_CHANNEL
    )
    assert (await api.call("GET", base))[0] == 200


async def test_posting_needs_send_messages_attach_files_and_history_for_replies(
    api: Api, fake: FakeDiscord
) -> None:
    path = f"/channels/{BOT_CHANNEL_ID}/messages"
    await fake.set_channel_permissions(BOT_CHANNEL_ID, GUILD_ID, deny=Permission.SEND_MESSAGES)
    assert (await api.call("POST", path, {"content": "x"}))[:2] == (403, missing_permissions())
    assert (await api.call("POST", f"/channels/{BOT_CHANNEL_ID}/typing"))[0] == 403
    await fake.set_channel_permissions(BOT_CHANNEL_ID, GUILD_ID, deny=Permission.ATTACH_FILES)
    chart = {"chart.png": b"\x89PNG"}
    assert (await api.call("POST", path, {"content": "x"}, files=chart))[:2] == (
        403,
        missing_permissions(),
    )
    original = fake.seed_history(BOT_CHANNEL_ID, [{"author_id": MEMBER_ID, "content": "q"}])[0]
    await fake.set_channel_permissions(
        BOT_CHANNEL_ID, GUILD_ID, deny=Permission.READ_MESSAGE_HISTORY
    )
    reply = {"content": "a", "message_reference": {"message_id": original["id"]}}
    assert (await api.call("POST", path, reply))[:2] == (403, missing_permissions())
    assert [v.split(": ", 1)[1] for v in fake.violations] == [
        "Missing Permissions (50013): no Send Messages in #bot",
        "Missing Permissions (50013): no Send Messages in #bot",
        "Missing Permissions (50013): no Attach Files in #bot",
        "Missing Permissions (50013): a reply needs Read Message History in #bot",
    ]
    await fake.set_channel_permissions(BOT_CHANNEL_ID, GUILD_ID)
    status, body, _ = await api.call("POST", path, reply)
    assert status == 200 and body["message_reference"]["message_id"] == original["id"]


async def test_embeds_without_embed_links_are_refused_alone_and_dropped_with_text(
    api: Api, fake: FakeDiscord
) -> None:
    path = f"/channels/{BOT_CHANNEL_ID}/messages"
    await fake.set_channel_permissions(BOT_CHANNEL_ID, GUILD_ID, deny=Permission.EMBED_LINKS)
    embeds = [{"title": "Daily report"}]
    assert (await api.call("POST", path, {"embeds": embeds}))[:2] == (403, missing_permissions())
    status, body, _ = await api.call("POST", path, {"content": "today", "embeds": embeds})
    assert status == 200 and body["embeds"] == [] and body["content"] == "today"
    assert fake.sent_messages[-1].embeds == []
    assert fake.violations[-1].endswith(
        "no Embed Links in #bot: Discord drops the message's 1 embed(s) and shows the rest"
    )


async def test_history_without_read_message_history_is_an_empty_page(
    api: Api, fake: FakeDiscord
) -> None:
    seeded = fake.seed_history(BOT_CHANNEL_ID, [{"author_id": MEMBER_ID, "content": "old"}])
    await fake.set_channel_permissions(
        BOT_CHANNEL_ID, GUILD_ID, deny=Permission.READ_MESSAGE_HISTORY
    )
    status, body, _ = await api.call("GET", f"/channels/{BOT_CHANNEL_ID}/messages")
    assert (status, body) == (200, [])
    status, body, _ = await api.call(
        "GET", f"/channels/{BOT_CHANNEL_ID}/messages/{seeded[0]['id']}"
    )
    assert (status, body) == (403, missing_access())
    assert (
        "read without Read Message History: Discord answers an empty list" in (fake.violations[0])
    )


async def test_editing_or_deleting_what_is_not_the_bots(api: Api, fake: FakeDiscord) -> None:
    theirs = fake.seed_history(BOT_CHANNEL_ID, [{"author_id": MEMBER_ID, "content": "mine"}])[0]
    path = f"/channels/{BOT_CHANNEL_ID}/messages/{theirs['id']}"
    status, body, _ = await api.call("PATCH", path, {"content": "edited"})
    assert (status, body["code"]) == (403, 50005)
    assert (await api.call("DELETE", path))[:2] == (403, missing_permissions())
    guild(fake).add_role(BOT_ROLE_ID, "Bot", Permission.MANAGE_MESSAGES)
    guild(fake).members[fake.bot_user_id].role_ids.append(BOT_ROLE_ID)
    assert (await api.call("DELETE", path))[0] == 204
    assert fake.history(BOT_CHANNEL_ID) == []


async def test_permission_overwrites_need_manage_roles_and_grant_only_what_the_bot_has(
    api: Api, fake: FakeDiscord
) -> None:
    path = f"/channels/{BOT_CHANNEL_ID}/permissions/{MEMBER_ID}"
    send = str(int(Permission.SEND_MESSAGES))
    assert (await api.call("PUT", path, {"type": 1, "deny": send}))[:2] == (
        403,
        missing_permissions(),
    )
    guild(fake).add_role(BOT_ROLE_ID, "Bot", Permission.MANAGE_ROLES)
    guild(fake).members[fake.bot_user_id].role_ids.append(BOT_ROLE_ID)
    status, body, _ = await api.call("PUT", path, {"type": 7, "deny": send})
    assert (status, body["code"]) == (400, 50035)
    manage_guild = str(int(Permission.MANAGE_GUILD))
    assert (await api.call("PUT", path, {"type": 1, "allow": manage_guild}))[:2] == (
        403,
        missing_permissions(),
    )
    assert (await api.call("PUT", path, {"type": 1, "deny": send}))[0] == 204
    channel = guild(fake).channels[BOT_CHANNEL_ID]
    assert channel.overwrites[MEMBER_ID].deny == Permission.SEND_MESSAGES
    assert not guild(fake).permissions_in(channel, MEMBER_ID) & Permission.SEND_MESSAGES
    assert (await api.call("DELETE", path))[0] == 204
    assert MEMBER_ID not in channel.overwrites


async def test_giving_roles_needs_manage_roles_and_obeys_the_hierarchy(
    api: Api, fake: FakeDiscord
) -> None:
    g = guild(fake)
    g.add_role(LOW_ROLE_ID, "Low", position=1)
    g.add_role(BOT_ROLE_ID, "Bot", position=2)
    g.add_role(HIGH_ROLE_ID, "High", position=3)
    g.members[fake.bot_user_id].role_ids.append(BOT_ROLE_ID)
    low = f"/guilds/{GUILD_ID}/members/{MEMBER_ID}/roles/{LOW_ROLE_ID}"
    assert (await api.call("PUT", low))[:2] == (403, missing_permissions())
    g.roles[BOT_ROLE_ID].permissions = Permission.MANAGE_ROLES
    for role_id in (HIGH_ROLE_ID, BOT_ROLE_ID):  # above, and level with, its own top role
        path = f"/guilds/{GUILD_ID}/members/{MEMBER_ID}/roles/{role_id}"
        assert (await api.call("PUT", path))[:2] == (403, missing_permissions())
    assert (await api.call("PUT", low))[0] == 204
    assert LOW_ROLE_ID in g.members[MEMBER_ID].role_ids
    assert (await api.call("DELETE", low))[0] == 204
    assert LOW_ROLE_ID not in g.members[MEMBER_ID].role_ids
    assert [v.split(": ", 1)[1] for v in fake.violations] == [
        "Missing Permissions (50013): giving or taking roles needs Manage Roles",
        "Missing Permissions (50013): role 'High' (position 3) is not below the bot's highest "
        "role (position 2)",
        "Missing Permissions (50013): role 'Bot' (position 2) is not below the bot's highest "
        "role (position 2)",
    ]


async def test_managed_roles_are_given_by_discord_alone(api: Api, fake: FakeDiscord) -> None:
    g = guild(fake)
    g.add_role(BOT_ROLE_ID, "Bot", Permission.MANAGE_ROLES, position=5)
    g.add_role(LOW_ROLE_ID, "Server Booster", position=1, managed=True)
    g.members[fake.bot_user_id].role_ids.append(BOT_ROLE_ID)
    for method in ("PUT", "DELETE"):
        path = f"/guilds/{GUILD_ID}/members/{MEMBER_ID}/roles/{LOW_ROLE_ID}"
        assert (await api.call(method, path))[:2] == (403, missing_permissions())
    assert LOW_ROLE_ID not in g.members[MEMBER_ID].role_ids
    assert [v.split(": ", 1)[1] for v in fake.violations] == [
        "Missing Permissions (50013): role 'Server Booster' is managed by an integration"
    ] * 2


async def test_direct_messages_reach_only_users_who_accept_them(
    api: Api, fake: FakeDiscord
) -> None:
    status, channel, _ = await api.call("POST", "/users/@me/channels", {"recipient_id": MEMBER_ID})
    assert status == 200 and channel["type"] == 1
    assert channel["recipients"][0]["id"] == str(MEMBER_ID)
    again = (await api.call("POST", "/users/@me/channels", {"recipient_id": str(MEMBER_ID)}))[1]
    assert again["id"] == channel["id"]  # one DM channel per user
    path = f"/channels/{channel['id']}/messages"
    body = {"content": "hello", "allowed_mentions": {"parse": []}}
    status, message, _ = await api.call("POST", path, body)
    assert status == 200 and message["content"] == "hello"
    assert fake.sent_messages[-1].channel_id == int(channel["id"])
    # Empty or malformed messages are refused as in any channel.
    assert (await api.call("POST", path, {"content": ""}))[:2] == (
        400,
        {"message": "Cannot send an empty message", "code": 50006},
    )
    # A user whose privacy settings refuse DMs: 50007, the user's choice (no violation).
    fake.dms_closed.add(MEMBER_ID)
    before = len(fake.violations)
    assert (await api.call("POST", path, body))[:2] == (
        403,
        {"message": "Cannot send messages to this user", "code": 50007},
    )
    assert len(fake.violations) == before
    unknown = await api.call("POST", "/users/@me/channels", {"recipient_id": "42"})
    assert unknown[:2] == (400, {"message": "Invalid Recipient(s)", "code": 50033})
    assert fake.violations[-1].endswith("Invalid Recipient(s): '42'")


async def test_channel_permissions_follow_discords_overwrite_order(fake: FakeDiscord) -> None:
    g = guild(fake)
    channel = g.channels[BOT_CHANNEL_ID]
    view, send = Permission.VIEW_CHANNEL, Permission.SEND_MESSAGES
    await fake.set_channel_permissions(BOT_CHANNEL_ID, GUILD_ID, deny=view)  # @everyone
    assert g.permissions_in(channel, MEMBER_ID) == 0  # nothing without View Channel
    await fake.set_channel_permissions(BOT_CHANNEL_ID, OFFICER_ROLE_ID, allow=view)
    officer = 1_100_000_000_000_000_030
    assert g.permissions_in(channel, officer) & view  # a role's allow beats @everyone's deny
    await fake.set_channel_permissions(BOT_CHANNEL_ID, officer, deny=view)
    assert g.permissions_in(channel, officer) == 0  # the member's own overwrite comes last
    await fake.set_channel_permissions(BOT_CHANNEL_ID, GUILD_ID, deny=send)
    await fake.set_channel_permissions(BOT_CHANNEL_ID, officer)
    held = g.permissions_in(channel, MEMBER_ID)
    # Without Send Messages, Embed Links and Attach Files are void, though @everyone has them.
    assert held & view and not held & (send | Permission.EMBED_LINKS | Permission.ATTACH_FILES)
    assert g.permissions_in(channel, g.owner_id) == (1 << 53) - 1


# --------------------------------------------------------------------------- commands


async def test_commands_for_another_application_or_a_foreign_guild(
    api: Api, fake: FakeDiscord
) -> None:
    app = fake.application_id
    status, body, _ = await api.call("PUT", f"/applications/{UNKNOWN}/commands", [])
    assert (status, body["code"]) == (404, 10002)
    status, body, _ = await api.call("PUT", f"/applications/{app}/guilds/{UNKNOWN}/commands", [])
    assert (status, body) == (403, missing_access())
    status, body, _ = await api.call(
        "PUT", f"/applications/{app}/commands", [{"name": "Bad Name", "description": "d"}]
    )
    assert (status, body["code"]) == (400, 50035)


async def test_default_member_permissions_are_checked_and_answered_as_a_string(
    api: Api, fake: FakeDiscord
) -> None:
    path = f"/applications/{fake.application_id}/guilds/{GUILD_ID}/commands"
    status, body, _ = await api.call(
        "PUT",
        path,
        [
            {"name": "status", "description": "d", "default_member_permissions": 32},
            {"name": "setup", "description": "d", "default_member_permissions": "0"},
            {"name": "help", "description": "d", "default_member_permissions": None},
            {"name": "player", "description": "d"},
        ],
    )
    assert status == 200
    assert [(c["name"], c["default_member_permissions"]) for c in body] == [
        ("status", "32"),
        ("setup", "0"),
        ("help", None),
        ("player", None),
    ]
    before = list(fake.registered_commands[GUILD_ID])
    status, body, _ = await api.call(
        "PUT",
        path,
        [{"name": "status", "description": "d", "default_member_permissions": "manage_guild"}],
    )
    assert (status, body["code"]) == (400, 50035)
    assert body["errors"]["0"]["default_member_permissions"]["_errors"][0] == {
        "code": "NUMBER_TYPE_COERCE",
        "message": 'Value "manage_guild" is not int.',
    }
    assert fake.registered_commands[GUILD_ID] == before  # a refused body changes nothing
    assert any("default_member_permissions" in v for v in fake.violations)
    fake.violations.clear()


async def test_discord_offers_a_command_only_to_members_its_permissions_let_in(
    api: Api, fake: FakeDiscord
) -> None:
    guild = fake.guilds[GUILD_ID]
    manager_role, admin_role = 1_100_000_000_000_000_060, 1_100_000_000_000_000_061
    manager, admin = 1_100_000_000_000_000_062, 1_100_000_000_000_000_063
    guild.add_role(manager_role, "Manager", permissions=Permission.MANAGE_GUILD)
    guild.add_role(admin_role, "Admin", permissions=Permission.ADMINISTRATOR)
    guild.add_member(manager, "Manager Mia", [manager_role])
    guild.add_member(admin, "Admin Abe", [admin_role])
    status, _, _ = await api.call(
        "PUT",
        f"/applications/{fake.application_id}/guilds/{GUILD_ID}/commands",
        [
            {"name": "status", "description": "d", "default_member_permissions": "32"},
            {"name": "setup", "description": "d", "default_member_permissions": "0"},
            {"name": "help", "description": "d", "default_member_permissions": None},
        ],
    )
    assert status == 200

    def usable(user: int, channel: int = BOT_CHANNEL_ID) -> set[str]:
        return {
            name
            for name in ("status", "setup", "help")
            if fake.command_usable_by(GUILD_ID, channel, user, name)
        }

    # No override: default_member_permissions decides ("0": admins only, null: everyone).
    assert usable(MEMBER_ID) == usable(OFFICER_ID) == {"help"}
    assert usable(manager) == {"status", "help"}
    assert usable(admin) == {"status", "setup", "help"}
    assert not fake.command_usable_by(GUILD_ID, BOT_CHANNEL_ID, admin, "unregistered")

    # The server opens the app to its officer role: overrides replace the default.
    fake.set_command_permissions(GUILD_ID, [{"id": OFFICER_ROLE_ID, "type": 1, "permission": True}])
    assert usable(OFFICER_ID) == {"status", "setup", "help"}
    assert usable(MEMBER_ID) == {"help"}

    # A command's own overrides come before the app's: one member in, everyone else out,
    # and the command shut in one channel even for that member (never for an admin).
    fake.set_command_permissions(
        GUILD_ID,
        [
            {"id": MEMBER_ID, "type": 2, "permission": True},
            {"id": GUILD_ID, "type": 1, "permission": False},
            {"id": BOT_CHANNEL_ID, "type": 3, "permission": False},
        ],
        command="status",
    )
    assert usable(MEMBER_ID, RELAY_CHANNEL_ID) == {"status", "help"}
    assert usable(MEMBER_ID, BOT_CHANNEL_ID) == {"help"}
    assert usable(OFFICER_ID, RELAY_CHANNEL_ID) == {"setup", "help"}  # @everyone denied
    assert usable(manager, RELAY_CHANNEL_ID) == {"help"}
    assert usable(admin, BOT_CHANNEL_ID) == {"status", "setup", "help"}
    # a role that allows wins over one that denies; "all channels" is the guild's id - 1
    fake.set_command_permissions(
        GUILD_ID,
        [
            {"id": OFFICER_ROLE_ID, "type": 1, "permission": False},
            {"id": manager_role, "type": 1, "permission": True},
        ],
        command="setup",
    )
    guild.members[OFFICER_ID].role_ids.append(manager_role)
    assert "setup" in usable(OFFICER_ID)
    fake.set_command_permissions(
        GUILD_ID, [{"id": GUILD_ID - 1, "type": 3, "permission": False}], command="help"
    )
    assert "help" not in usable(MEMBER_ID, RELAY_CHANNEL_ID)

    # A member Discord does not offer a command to cannot run it.
    await RawGateway.open(fake, api.http)
    with pytest.raises(PermissionError, match="does not offer /setup"):
        await fake.invoke_slash(GUILD_ID, BOT_CHANNEL_ID, MEMBER_ID, "setup")
    skipped = await fake.invoke_slash(
        GUILD_ID, BOT_CHANNEL_ID, MEMBER_ID, "setup", check_permissions=False
    )
    assert skipped.id in fake.interactions

    for bad in ([{"id": 1, "type": 4, "permission": True}], [{"id": 1, "type": 1}]):
        with pytest.raises(ValueError, match="not a command permission"):
            fake.set_command_permissions(GUILD_ID, bad)
    with pytest.raises(ValueError, match="at most 100"):
        fake.set_command_permissions(GUILD_ID, [{"id": 1, "type": 2, "permission": True}] * 101)
    with pytest.raises(LookupError):
        fake.set_command_permissions(UNKNOWN, [])


# --------------------------------------------------------------------------- rate limits


async def test_a_route_over_its_limit_gets_discords_429(fake: FakeDiscord, api: Api) -> None:
    fake.rate_limits = RateLimiter(
        routes={("POST", "/channels/{channel_id}/messages"): Limit(2, 30.0)}
    )
    path = f"/channels/{BOT_CHANNEL_ID}/messages"
    first = await api.call("POST", path, {"content": "1"})
    second = await api.call("POST", path, {"content": "2"})
    third = await api.call("POST", path, {"content": "3"})
    elsewhere = await api.call("POST", f"/channels/{RELAY_CHANNEL_ID}/messages", {"content": "4"})
    assert [first[0], second[0], third[0], elsewhere[0]] == [200, 200, 429, 200]
    headers = first[2]
    assert headers["X-RateLimit-Limit"] == "2" and headers["X-RateLimit-Remaining"] == "1"
    assert 29.9 < float(headers["X-RateLimit-Reset-After"]) <= 30.0
    assert second[2]["X-RateLimit-Remaining"] == "0"
    assert headers["X-RateLimit-Bucket"] == second[2]["X-RateLimit-Bucket"]
    _, body, limited = third
    assert body["message"] == "You are being rate limited." and body["global"] is False
    assert 29 < body["retry_after"] <= 30
    assert limited["X-RateLimit-Scope"] == "user" and limited["Retry-After"] == "30"
    assert limited["X-RateLimit-Remaining"] == "0" and limited["Via"] == "1.1 google"
    assert "X-RateLimit-Global" not in limited
    assert len(fake.sent_messages) == 3
    assert fake.violations == [
        f"POST /api/v10/channels/{BOT_CHANNEL_ID}/messages: 429 Too Many Requests (user): the "
        "bot went over Discord's rate limit for POST /channels/{channel_id}/messages"
    ]


async def test_the_global_limit_counts_every_route_but_interactions(
    fake: FakeDiscord, api: Api
) -> None:
    fake.rate_limits = RateLimiter(global_limit=Limit(3, 30.0))
    answers = [
        (await api.call("GET", path))[0]
        for path in ("/users/@me", f"/channels/{BOT_CHANNEL_ID}", f"/guilds/{GUILD_ID}")
    ]
    status, body, headers = await api.call("GET", f"/channels/{RELAY_CHANNEL_ID}")
    assert answers == [200, 200, 200] and status == 429
    assert body["global"] is True and body["message"] == "You are being rate limited."
    assert headers["X-RateLimit-Global"] == "true" and headers["X-RateLimit-Scope"] == "global"
    assert "(global)" in fake.violations[0]
    # Interaction callbacks do not count toward it (and need no bot token).
    status, _, _ = await api.call(
        "POST", f"/interactions/{UNKNOWN}/token/callback", {"type": 4}, auth=False
    )
    assert status == 404  # unknown interaction, not 429


async def test_a_forced_shared_429_is_discords_doing_not_the_bots(
    fake: FakeDiscord, api: Api
) -> None:
    fake.rate_limit_next("POST", "/channels/{channel_id}/messages", retry_after=0.25)
    path = f"/channels/{BOT_CHANNEL_ID}/messages"
    status, body, headers = await api.call("POST", path, {"content": "x"})
    assert status == 429 and headers["X-RateLimit-Scope"] == "shared"
    assert body == {
        "message": "The resource is being rate limited.",
        "retry_after": 0.25,
        "global": False,
    }
    assert (await api.call("POST", path, {"content": "x"}))[0] == 200
    assert fake.violations == []
    assert [(a.scope, a.forced) for a in fake.rate_limits.answered] == [("shared", True)]


# --------------------------------------------------------------------------- interactions


class RawGateway:
    """A bare websocket session, so the fake has a bot to send interactions to."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, fake: FakeDiscord, http: aiohttp.ClientSession) -> RawGateway:
        ws = await http.ws_connect(fake.gateway_url + "?v=10&encoding=json")
        gateway = cls(ws)
        assert (await gateway.receive())["op"] == 10
        await ws.send_json({"op": 2, "d": {"token": fake.token, "intents": INTENTS}})
        assert (await gateway.receive())["t"] == "READY"
        return gateway

    async def receive(self) -> dict[str, Any]:
        message = await asyncio.wait_for(self.ws.receive(), 5)
        assert message.type is aiohttp.WSMsgType.TEXT, message
        data: dict[str, Any] = json.loads(message.data)
        return data


async def _interaction(fake: FakeDiscord, api: Api) -> FakeInteraction:
    await RawGateway.open(fake, api.http)
    return await fake.invoke_slash(
        GUILD_ID, BOT_CHANNEL_ID, MEMBER_ID, "whois", require_registered=False
    )


async def test_interaction_callbacks_discord_refuses(fake: FakeDiscord, api: Api) -> None:
    interaction = await _interaction(fake, api)
    callback = f"/interactions/{interaction.id}/{interaction.token}/callback"
    wrong = f"/interactions/{interaction.id}/not-the-token/callback"
    assert (await api.call("POST", wrong, {"type": 4}, auth=False))[1]["code"] == 10062
    assert (await api.call("POST", callback, ["x"], auth=False))[1]["code"] == 50109
    status, body, _ = await api.call("POST", callback, {"type": 8}, auth=False)
    assert status == 400 and body["errors"]["type"]["_errors"][0]["code"] == (
        "INTERACTION_CALLBACK_TYPE_INVALID"
    )
    status, body, _ = await api.call("POST", callback, {"type": 4, "data": {}}, auth=False)
    assert (status, body["code"]) == (400, 50006)
    modal = {"type": 9, "data": {"title": "", "custom_id": "m", "components": []}}
    status, body, _ = await api.call("POST", callback, modal, auth=False)
    assert set(body["errors"]["data"]) == {"title", "components"}
    ok = await api.call("POST", callback, {"type": 4, "data": {"content": "hi"}}, auth=False)
    assert ok[0] == 204
    again = await api.call("POST", callback, {"type": 4, "data": {"content": "hi"}}, auth=False)
    assert (again[0], again[1]["code"]) == (400, 40060)
    reasons = [v.split(": ", 1)[1] for v in fake.violations]
    assert reasons == [
        "Unknown interaction",
        "body is not a JSON object",
        "type: callback type 8 is not valid for interaction type 2",
        "Cannot send an empty message",
        "data.title: Must be 1 to 45 long.",
        "data.components: Must be 1 to 5 long.",
        "Interaction has already been acknowledged",
    ]


async def test_a_late_acknowledgement_is_an_unknown_interaction(
    fake: FakeDiscord, api: Api
) -> None:
    fake.ack_timeout = 0.0
    interaction = await _interaction(fake, api)
    callback = f"/interactions/{interaction.id}/{interaction.token}/callback"
    status, body, _ = await api.call("POST", callback, {"type": 5}, auth=False)
    assert (status, body["code"]) == (404, 10062)
    assert "acknowledged after" in fake.violations[0]


async def test_interaction_webhooks_discord_refuses(fake: FakeDiscord, api: Api) -> None:
    interaction = await _interaction(fake, api)
    app, token = fake.application_id, interaction.token
    followup = f"/webhooks/{app}/{token}"
    status, body, _ = await api.call("POST", followup, {"content": "early"}, auth=False)
    assert (status, body["code"]) == (404, 10015)  # before the interaction was acknowledged
    callback = f"/interactions/{interaction.id}/{token}/callback"
    assert (await api.call("POST", callback, {"type": 5}, auth=False))[0] == 204  # public defer
    # An ephemeral followup cannot make a public "thinking" message ephemeral.
    status, _, _ = await api.call(
        "POST", followup + "?wait=true", {"content": "secret", "flags": 64}, auth=False
    )
    assert status == 200
    for method, path, code in (
        ("POST", f"/webhooks/{UNKNOWN}/{token}", 10015),
        ("POST", f"/webhooks/{app}/no-such-token", 10015),
        ("PATCH", f"/webhooks/{app}/{token}/messages/{UNKNOWN}", 10008),
        ("GET", f"/webhooks/{app}/{token}/messages/nope", 10008),
    ):
        status, body, _ = await api.call(method, path, {"content": "x"}, auth=False)
        assert (status, body["code"]) == (404, code), path
    fake.token_lifetime = 0.0
    status, body, _ = await api.call("POST", followup, {"content": "late"}, auth=False)
    assert (status, body["code"]) == (401, 50027)
    reasons = [v.split(": ", 1)[1] for v in fake.violations]
    assert reasons == [
        "followup sent before the interaction was acknowledged",
        "followup asked to be ephemeral but completes a public deferred response: Discord "
        "shows it to everyone (defer with ephemeral=True)",
        "Unknown Webhook (wrong application id)",
        "Unknown Webhook (no interaction has this token)",
        f"Unknown Message ({UNKNOWN} of interaction {interaction.id})",
        f"Unknown Message (nope of interaction {interaction.id})",
        "Invalid Webhook Token: interaction token expired (15 min)",
    ]
