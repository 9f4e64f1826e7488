"""``python -m bot``: the same CLI as the ``clanstats`` console script."""

from bot.cli import main

raise SystemExit(main())
