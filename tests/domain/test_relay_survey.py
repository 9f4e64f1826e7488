"""``/setup``'s relay step: a channel's webhooks and bots, as the parser reads them."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.relay import EmbedIn, RelayConfig, RelayMessageIn
from domain.relay_survey import SAMPLE_MAX, survey_authors

WEBHOOK = 1_144_000_000_000_000_001
BOT = 1_144_000_000_000_000_002
CHATTY_BOT = 1_144_000_000_000_000_003
PERSON = 2_000_000_000_000_000_001
ME = 1_144_000_000_000_000_009
T0 = datetime(2025, 12, 23, 18, 0, tzinfo=UTC)
NOBODY_TRUSTED = RelayConfig(relay_author_ids=frozenset())

_ids = iter(range(1, 10_000))


def _message(
    author: int,
    content: str = "",
    *,
    name: str = "",
    webhook: bool = False,
    bot: bool = False,
    embeds: tuple[EmbedIn, ...] = (),
) -> RelayMessageIn:
    return RelayMessageIn(
        message_id=next(_ids),
        channel_id=5,
        author_id=author,
        author_name=name or str(author),
        is_bot=bot or webhook,
        webhook_id=author if webhook else None,
        content=content,
        embeds=embeds,
        posted_at=T0,
    )


def test_webhooks_and_bots_are_listed_with_a_read_sample_and_their_format() -> None:
    history = [  # newest first
        _message(PERSON, "**Zezima**: people are never listed", name="Ada"),
        _message(WEBHOOK, "**Zezima**: hello clan", name="Osrs clanchat", webhook=True),
        _message(WEBHOOK, "**Lynx Titan**: gz", name="Osrs clanchat (old)", webhook=True),
        _message(CHATTY_BOT, "Server restarts in 5 minutes", name="Helper", bot=True),
        _message(CHATTY_BOT, "Poll: raids tonight?", name="Helper", bot=True),
        _message(CHATTY_BOT, "Poll closed", name="Helper", bot=True),
        _message(ME, "**Zezima**: the bot itself", name="ClanStats", bot=True),
    ]
    webhook, chatty = survey_authors(history, NOBODY_TRUSTED, exclude=frozenset({ME}))
    # Recognised first, although the other posted more.
    assert (webhook.author_id, webhook.kind, webhook.name) == (WEBHOOK, "webhook", "Osrs clanchat")
    assert (webhook.messages, webhook.read, webhook.recognised) == (2, 2, True)
    assert webhook.sample == "Zezima: hello clan"
    assert webhook.formats == (("clanchat_net", 2),)
    assert webhook.format_label == "clanchat_net"
    assert (chatty.author_id, chatty.kind) == (CHATTY_BOT, "bot")
    assert (chatty.messages, chatty.read) == (3, 0)
    assert not chatty.recognised
    assert chatty.sample == "Server restarts in 5 minutes"  # its newest text
    assert chatty.formats == () and chatty.format_label == "no relay format recognised"


def test_the_newest_read_line_is_the_sample_even_after_unread_ones() -> None:
    history = [
        _message(WEBHOOK, "", webhook=True, embeds=(EmbedIn(title="A poll", description=None),)),
        _message(WEBHOOK, "**Zezima**: first read line", webhook=True),
        _message(WEBHOOK, "**Lynx Titan**: older line", webhook=True),
    ]
    (only,) = survey_authors(history, NOBODY_TRUSTED)
    assert (only.messages, only.read, only.sample) == (3, 2, "Zezima: first read line")


def test_an_embed_only_message_samples_its_words_and_long_lines_are_cut() -> None:
    long = "word " * 40
    history = [
        _message(BOT, "", bot=True, embeds=(EmbedIn(title=None, description="  "),)),
        _message(BOT, "", bot=True, embeds=(EmbedIn(title="Weekly event", description=None),)),
    ]
    (embedded,) = survey_authors(history, NOBODY_TRUSTED)
    assert embedded.sample == "Weekly event"  # its newest message has no words: the next
    history = [_message(BOT, "", bot=True, embeds=(EmbedIn(title=None, description=long),))]
    (cut,) = survey_authors(history, NOBODY_TRUSTED)
    assert len(cut.sample) == SAMPLE_MAX and cut.sample.endswith("…")
    assert "\n" not in cut.sample


def test_ties_are_broken_by_messages_then_id() -> None:
    history = [
        _message(BOT, "one", bot=True),
        _message(CHATTY_BOT, "one", bot=True),
        _message(CHATTY_BOT, "two", bot=True),
        _message(WEBHOOK, "one", webhook=True),
    ]
    order = [a.author_id for a in survey_authors(history, NOBODY_TRUSTED)]
    assert order == [CHATTY_BOT, WEBHOOK, BOT]


def test_a_sample_exactly_at_the_limit_is_kept_whole() -> None:
    exact = "x" * SAMPLE_MAX
    (only,) = survey_authors([_message(BOT, exact, bot=True)], NOBODY_TRUSTED)
    assert only.sample == exact


def test_an_excluded_author_first_hides_nobody_after_it() -> None:
    history = [
        _message(ME, "**Zezima**: the bot itself", bot=True),
        _message(PERSON, "a person", name="Ada"),
        _message(WEBHOOK, "**Zezima**: hello clan", webhook=True),
    ]
    assert [
        a.author_id for a in survey_authors(history, NOBODY_TRUSTED, exclude=frozenset({ME}))
    ] == [WEBHOOK]


def test_relayed_private_chat_is_not_game_chat() -> None:
    """The chat logger relays private messages too: read as Discord chatter, never as the
    clan's chat, so they do not make their author a recognised relay."""
    (logger,) = survey_authors(
        [_message(WEBHOOK, "From **Zezima** : psst", webhook=True)], NOBODY_TRUSTED
    )
    assert (logger.read, logger.formats, logger.sample) == (0, (), "From **Zezima** : psst")


def test_formats_are_ordered_by_use_then_by_name() -> None:
    drop = "Zezima received a drop: Abyssal whip (1,500,000 coins)."
    # plugin_direct twice, clanchat_net once: the count decides against the alphabet.
    history = [
        _message(WEBHOOK, drop, webhook=True),
        _message(WEBHOOK, drop, webhook=True),
        _message(WEBHOOK, "**Zezima**: hi", webhook=True),
    ]
    (busy,) = survey_authors(history, NOBODY_TRUSTED)
    assert busy.formats == (("plugin_direct", 2), ("clanchat_net", 1))
    # One each, plugin_direct seen first: the name breaks the tie.
    (tied,) = survey_authors(history[1:], NOBODY_TRUSTED)
    assert tied.formats == (("clanchat_net", 1), ("plugin_direct", 1))
