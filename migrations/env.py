"""Alembic environment: async engines, batch mode for SQLite, connection sharing.

``storage.migrate`` hands an open connection in ``config.attributes["connection"]`` so the
bot and the CLI migrate from inside their own event loop; the ``alembic`` command line gets
a fresh async engine from ``CLANSTATS_DATABASE_URL`` (or the ini's ``sqlalchemy.url``).
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from storage.engine import DbTimeouts, create_engine
from storage.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return os.environ.get("CLANSTATS_DATABASE_URL") or config.get_main_option(
        "sqlalchemy.url", "sqlite:///clanstats.sqlite3"
    )


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def _run_sync(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    # No statement timeout: a migration may rightly run long.
    engine = create_engine(_url(), timeouts=DbTimeouts(statement_s=None))
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


shared = config.attributes.get("connection")
if context.is_offline_mode():
    run_migrations_offline()
elif shared is not None:
    _run_sync(shared)
else:
    asyncio.run(_run_async())
