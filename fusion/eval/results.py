"""`DIR/results.jsonl`: one line per finished (task, config, repeat), appended and
flushed as each finishes, so an interrupted eval knows what it need not pay again.

The last line of a key wins (a re-grade appends a new line). A line cut short by a
kill is skipped when read, and the next append starts on a fresh line.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from pydantic import BaseModel, Field, ValidationError

Key = tuple[str, str, int]


class ResultRow(BaseModel):
    """One graded run of one config on one task."""

    task: str
    config: str
    spec: str
    kind: str
    repeat: int
    run_key: str = Field(description="Digest of the prompt, spec and options: what was paid for.")
    grading_key: str = Field(description="Digest of how the task is graded.")
    status: str = Field(description="ok, degraded or failed (no answer).")
    answer: str = ""
    score: float = 0.0
    grade: str = ""
    extracted: str = ""
    grade_error: str | None = None
    cost_usd: float | None = None
    cost_complete: bool = True
    seconds: float = 0.0
    failure: str | None = None
    failed_models: list[str] = Field(default_factory=list)
    thread_id: str | None = None
    resumed: bool = False
    judge_cost_usd: float | None = Field(
        default=None, description="What judging cost (a rejudge: row's whole cost)."
    )
    grader: str | None = None
    grader_cost_usd: float | None = None
    finished_at: str = Field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds")
    )

    @property
    def key(self) -> Key:
        return (self.task, self.config, self.repeat)

    @property
    def failed(self) -> bool:
        return self.status == "failed" or self.grade_error is not None


class ResultsFile:
    """Reads and appends `results.jsonl`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.skipped = 0
        self._out: IO[str] | None = None

    def load(self) -> dict[Key, ResultRow]:
        """The latest row of every key on file."""
        rows: dict[Key, ResultRow] = {}
        self.skipped = 0
        if not self.path.is_file():
            return rows
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                row = ResultRow.model_validate(json.loads(line))
            except (json.JSONDecodeError, ValidationError):
                self.skipped += 1
                continue
            rows[row.key] = row
        return rows

    def append(self, row: ResultRow) -> None:
        """Write one row and flush it to the OS (it survives the process being killed)."""
        if self._out is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            cut_short = self.path.is_file() and not self.path.read_bytes().endswith(b"\n")
            self._out = self.path.open("a", encoding="utf-8")
            if cut_short and self.path.stat().st_size:
                self._out.write("\n")
        self._out.write(row.model_dump_json() + "\n")
        self._out.flush()

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
