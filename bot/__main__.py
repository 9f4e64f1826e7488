"""``python -m bot``: the same CLI as the ``clanstats`` console script."""

if __name__ == "__main__":  # not when a spawned worker process loads it as ``__mp_main__``
    from bot.cli import main

    raise SystemExit(main())
