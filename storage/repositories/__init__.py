"""Repository functions: each is one question or one write the application needs.

They take an ``AsyncSession`` opened by a unit of work (:class:`storage.engine.Database`).
"""
