"""An endpoint lock contended in one event loop still works in the next one (a second
`asyncio.run`, as a script calling `fuse()` twice or a test suite does)."""

from __future__ import annotations

import asyncio

from fusion.core.loop_locks import LoopLocks


async def contend(locks: LoopLocks, order: list[str]) -> None:
    async def hold(name: str) -> None:
        async with locks.get("http://127.0.0.1:1/v1"):
            order.append(name)
            await asyncio.sleep(0)

    await asyncio.gather(hold("first"), hold("second"))


def test_a_lock_contended_in_one_loop_is_usable_in_the_next() -> None:
    locks = LoopLocks()
    order: list[str] = []
    asyncio.run(contend(locks, order))
    asyncio.run(contend(locks, order))  # a module-level asyncio.Lock raised here
    assert order == ["first", "second", "first", "second"]
