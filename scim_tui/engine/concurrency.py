"""A bound on work in flight whose limit can change while work is running."""

from __future__ import annotations

import asyncio


class AdjustableLimiter:
    """Like ``asyncio.Semaphore``, but :meth:`set_limit` takes effect at once.

    Lowering the limit never interrupts work in flight: new acquisitions wait
    until enough of it has finished.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        self._limit = limit
        self._in_use = 0
        self._changed = asyncio.Condition()

    @property
    def limit(self) -> int:
        return self._limit

    @property
    def in_use(self) -> int:
        return self._in_use

    async def acquire(self) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self._in_use < self._limit)
            self._in_use += 1

    async def release(self) -> None:
        async with self._changed:
            self._in_use -= 1
            self._changed.notify_all()

    async def set_limit(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        async with self._changed:
            self._limit = limit
            self._changed.notify_all()
