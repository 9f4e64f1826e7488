"""A paged list with buttons: only the invoker can page; buttons expire; full list as a file."""

from __future__ import annotations

import asyncio
import io
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import discord
import structlog

from cogs.officer._render import LINES_PER_PAGE, page_embed

if TYPE_CHECKING:
    from bot.client import ClanStatsBot

log = structlog.get_logger(__name__)

PAGER_TIMEOUT_S = 600.0
#: Pagers open at once in this process. Each holds its whole list (and the findings its files
#: are built from) until it expires: at one officer command a second that was 600 of them and
#: ~60 MB. Opening one more closes the oldest, greyed out as if it had expired.
MAX_OPEN_PAGERS = 100
NO_MENTIONS = discord.AllowedMentions.none()


# The open pagers of each event loop (one per running bot), oldest first.
_OPEN: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, OrderedDict[int, Pager]] = (
    weakref.WeakKeyDictionary()
)


def _open_pagers() -> OrderedDict[int, Pager] | None:
    """This loop's open pagers (None outside a running loop)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return _OPEN.setdefault(loop, OrderedDict())


class Pager(discord.ui.View):
    """Pages through ``lines``; the files are the full list, built when asked for."""

    #: Grey-out edits of pagers closed early, kept until done (a bare task may be collected).
    _closing: ClassVar[set[asyncio.Task[None]]] = set()

    def __init__(
        self,
        *,
        owner_id: int,
        title: str,
        lines: Sequence[str],
        empty: str,
        files: dict[str, Callable[[], bytes]],
        footer: str = "",
        header: str = "",
        timeout: float | None = None,
    ) -> None:
        super().__init__(timeout=PAGER_TIMEOUT_S if timeout is None else timeout)
        self.owner_id = owner_id
        self.title = title
        self.lines = list(lines)
        self.empty = empty
        self.footer = footer
        self.header = header
        self.files = files
        self.page = 0
        self.pages = max(1, -(-len(self.lines) // LINES_PER_PAGE))
        self.interaction: discord.Interaction[ClanStatsBot] | None = None
        for name in files:
            self.add_item(_FileButton(name))
        self._sync_buttons()
        opened = _open_pagers()
        if opened is not None:
            opened[id(self)] = self
            while len(opened) > MAX_OPEN_PAGERS:
                _, oldest = opened.popitem(last=False)
                oldest._close_early()

    def _close_early(self) -> None:
        """Stop listening now and grey the buttons out, as :meth:`on_timeout` does."""
        self.stop()
        try:
            task = asyncio.get_running_loop().create_task(self.on_timeout())
        except RuntimeError:  # no loop (never sent): nothing to grey out
            return
        Pager._closing.add(task)
        task.add_done_callback(Pager._closing.discard)

    def embed(self) -> discord.Embed:
        return page_embed(
            self.title,
            self.lines,
            self.page,
            empty=self.empty,
            footer=self.footer,
            header=self.header,
        )

    def _sync_buttons(self) -> None:
        self.previous.disabled = self.page <= 0
        self.next.disabled = self.page >= self.pages - 1

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "Only the officer who ran this command can use these buttons.",
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )
        return False

    @discord.ui.button(
        label="◀ Previous", style=discord.ButtonStyle.primary, custom_id="pager:prev"
    )
    async def previous(
        self, interaction: discord.Interaction[Any], _button: discord.ui.Button[Pager]
    ) -> None:
        self.page = max(0, self.page - 1)
        self._sync_buttons()
        await interaction.response.edit_message(embed=self.embed(), view=self)

    @discord.ui.button(label="Next ▶", style=discord.ButtonStyle.primary, custom_id="pager:next")
    async def next(
        self, interaction: discord.Interaction[Any], _button: discord.ui.Button[Pager]
    ) -> None:
        self.page = min(self.pages - 1, self.page + 1)
        self._sync_buttons()
        await interaction.response.edit_message(embed=self.embed(), view=self)

    async def on_timeout(self) -> None:
        """Expired: grey the buttons out so nobody clicks a dead control."""
        opened = _open_pagers()
        if opened is not None:
            opened.pop(id(self), None)
        # The list and the findings its files are built from go now: the pager itself is
        # held in reference cycles with its buttons, and lives on until the collector's next
        # full pass (many minutes with our thresholds; in the soak, ~50 closed pagers and
        # their findings piled up each minute).
        self.lines = []
        self.files = {}
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        interaction, self.interaction = self.interaction, None
        if interaction is not None:
            try:
                await interaction.edit_original_response(view=self)
            except Exception as exc:  # best effort: Discord refused or could not be reached
                # (an HTTP error, a dropped connection): the buttons stay as they were.
                log.info("pager.expire_edit_failed", error=repr(exc)[:200])


class _FileButton(discord.ui.Button[Pager]):
    """Sends the whole list as a file (CSV or XLSX), only to the officer who asked."""

    def __init__(self, filename: str) -> None:
        super().__init__(
            label=f"Full list ({filename.rsplit('.', 1)[-1].upper()})",
            style=discord.ButtonStyle.secondary,
            custom_id=f"pager:file:{filename}",
        )
        self.filename = filename

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        assert self.view is not None
        build = self.view.files.get(self.filename)
        if build is None:  # clicked as the pager closed: its list is gone
            await interaction.response.send_message(
                "This list has expired: run the command again.",
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return
        data = build()
        await interaction.response.send_message(
            f"The full list ({len(self.view.lines)} entries).",
            file=discord.File(io.BytesIO(data), filename=self.filename),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )
