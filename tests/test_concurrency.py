"""Many runs at once in one process, sharing one checkpoint database."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fusion import fuse
from fusion.runs import open_checkpointer, thread_ids
from tests.fixtures.llm_replies import Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import echo_judge


async def test_runs_on_one_file_share_one_connection_while_any_is_open(tmp_path: Path) -> None:
    db = tmp_path / "runs.sqlite"
    async with open_checkpointer(db) as first, open_checkpointer(str(db)) as second:
        assert first is second
    async with open_checkpointer(db) as later:
        assert later is not first  # the last user closed it; a new run reopens it
        assert later.conn.execute("PRAGMA synchronous").fetchall() == [(1,)]  # NORMAL
        assert later.conn.execute("PRAGMA journal_mode").fetchall() == [("wal",)]


async def test_sixty_runs_at_once_on_one_database_all_finish(
    llm_env: ScriptedLLMServer, isolated_run_db: Path
) -> None:
    llm_env.script("vendor/a", lambda r: Text("draft a", delay=0.05))
    llm_env.script("vendor/b", lambda r: Text("draft b", delay=0.05))
    llm_env.script("vendor/judge", echo_judge)

    results = await asyncio.gather(
        *(
            fuse(f"Q{i}?", panel=["vendor/a", "vendor/b"], judge="vendor/judge", web=False)
            for i in range(60)
        )
    )

    assert [r.status for r in results] == ["ok"] * 60
    async with open_checkpointer(isolated_run_db) as saver:
        assert set(await thread_ids(saver, limit=100)) == {r.thread_id for r in results}
