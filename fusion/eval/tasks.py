"""TASKS.jsonl: one task a line, each with exactly one way to grade it.

A line is a JSON object with `id`, `prompt` and one grading method:

- `answer` (a string, or a list of accepted strings): the final answer must equal
  one of them after normalisation (case, punctuation, articles, spacing), or
  exactly with `"match": "exact"`;
- `pattern`: a Python regular expression searched in the final answer;
- `choices` + `answer`: multiple choice; `answer` is the letter or the choice text;
- `rubric`: `[{"criterion": "...", "weight": 2}, ...]`, graded by the grader model.

Every error names the file and line and what to change, and is raised before any
model is called.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fusion.core.errors import ConfigError

Method = Literal["answer", "pattern", "choice", "rubric"]
KEYS = ("id", "prompt", "answer", "match", "pattern", "choices", "rubric", "tags", "notes")
LETTERS = string.ascii_uppercase
ANSWER_LINE = "End your reply with a final line of the form `Answer: <your short answer>`."
LETTER_LINE = "End your reply with a final line of the form `Answer: <letter>`."


@dataclass(frozen=True)
class Criterion:
    criterion: str
    weight: float = 1.0


@dataclass(frozen=True)
class Task:
    """One task, validated; `prompt_text` is what every config is sent."""

    id: str
    prompt: str
    method: Method
    line: int
    answers: tuple[str, ...] = ()
    exact: bool = False
    pattern: str = ""
    choices: tuple[str, ...] = ()
    rubric: tuple[Criterion, ...] = ()
    tags: tuple[str, ...] = field(default=())

    @property
    def correct_letter(self) -> str:
        """For multiple choice: the letter of the right choice."""
        return self.answers[0] if self.method == "choice" else ""

    @property
    def prompt_text(self) -> str:
        if self.method == "choice":
            options = "\n".join(f"{LETTERS[i]}. {c}" for i, c in enumerate(self.choices))
            return f"{self.prompt}\n\n{options}\n\n{LETTER_LINE}"
        if self.method in ("answer", "pattern"):
            return f"{self.prompt}\n\n{ANSWER_LINE}"
        return self.prompt

    @property
    def grading_key(self) -> str:
        """A digest of how the task is graded: a changed key re-grades stored answers."""
        parts = [self.method, self.answers, self.exact, self.pattern, self.choices]
        rubric = [(c.criterion, c.weight) for c in self.rubric]
        return _digest([*parts, rubric])


def load_tasks(path: str | Path) -> list[Task]:
    """Read and validate a TASKS.jsonl file (blank lines are skipped)."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(f"no tasks file {file}: give the path of a TASKS.jsonl file")
    tasks: list[Task] = []
    seen: dict[str, int] = {}
    for number, text in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        where = f"{file}:{number}"
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}: not valid JSON ({exc.msg}, column {exc.colno})") from None
        task = parse_task(data, number, where)
        if task.id in seen:
            raise ConfigError(
                f"{where}: task id {task.id!r} is also on line {seen[task.id]}: ids must be unique"
            )
        seen[task.id] = number
        tasks.append(task)
    if not tasks:
        raise ConfigError(f"{file} has no tasks: write one JSON object per line")
    return tasks


def parse_task(data: Any, line: int, where: str) -> Task:
    """One validated task from a decoded JSON line."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: a task is a JSON object with `id` and `prompt`")
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}: use {', '.join(KEYS)}")
    task_id = data.get("id")
    if not isinstance(task_id, str | int) or isinstance(task_id, bool) or str(task_id) == "":
        raise ConfigError(f"{where}: give the task an `id` (a string or a number)")
    where = f"{where} (task {task_id!r})"
    prompt = data.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ConfigError(f"{where}: give a non-empty `prompt` string")
    tags = data.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ConfigError(f"{where}: `tags` is a list of strings")
    common: dict[str, Any] = {"id": str(task_id), "prompt": prompt.strip(), "line": line}
    common["tags"] = tuple(tags)
    return Task(**common, **_grading(data, where))


def _grading(data: dict[str, Any], where: str) -> dict[str, Any]:
    given = [k for k in ("answer", "pattern", "choices", "rubric") if k in data]
    if not given:
        raise ConfigError(
            f"{where}: no way to grade it: add `answer`, `pattern`, `choices` + `answer`, "
            "or `rubric`"
        )
    if "choices" in data:
        extra = [k for k in given if k not in ("choices", "answer")]
        if "answer" not in data or extra:
            raise ConfigError(f"{where}: a multiple-choice task has `choices` and `answer` only")
        return _choice(data["choices"], data["answer"], where)
    if len(given) > 1:
        raise ConfigError(f"{where}: give one grading method, not {' and '.join(given)}")
    match = data.get("match", "normalised")
    if match not in ("normalised", "exact"):
        raise ConfigError(f"{where}: `match` is `normalised` (the default) or `exact`")
    if given[0] == "answer":
        return {"method": "answer", "answers": _answers(data["answer"], where)} | {
            "exact": match == "exact"
        }
    if given[0] == "pattern":
        return {"method": "pattern", "pattern": _pattern(data["pattern"], where)}
    return {"method": "rubric", "rubric": _rubric(data["rubric"], where)}


def _answers(value: Any, where: str) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    answers = tuple(str(v).strip() for v in values if isinstance(v, str | int | float))
    if len(answers) != len(values) or not answers or not all(answers):
        raise ConfigError(f"{where}: `answer` is a non-empty string (or a list of them)")
    return answers


def _pattern(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: `pattern` is a non-empty regular expression string")
    try:
        re.compile(value)
    except re.error as exc:
        raise ConfigError(f"{where}: `pattern` is not a valid regular expression: {exc}") from None
    return value


def _choice(choices: Any, answer: Any, where: str) -> dict[str, Any]:
    if (
        not isinstance(choices, list)
        or not 2 <= len(choices) <= len(LETTERS)
        or not all(isinstance(c, str) and c.strip() for c in choices)
    ):
        raise ConfigError(f"{where}: `choices` is a list of 2 to 26 non-empty strings")
    texts = tuple(c.strip() for c in choices)
    letters = LETTERS[: len(texts)]
    if isinstance(answer, str) and answer.strip().upper() in letters and len(answer.strip()) == 1:
        letter = answer.strip().upper()
    elif isinstance(answer, str) and answer.strip() in texts:
        letter = letters[texts.index(answer.strip())]
    else:
        raise ConfigError(
            f"{where}: `answer` of a multiple-choice task is a letter A-{letters[-1]} "
            "or the text of one choice"
        )
    return {"method": "choice", "choices": texts, "answers": (letter,)}


def _rubric(value: Any, where: str) -> tuple[Criterion, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: `rubric` is a list of {{criterion, weight}} objects")
    criteria = []
    for i, item in enumerate(value, start=1):
        text = item.get("criterion") if isinstance(item, dict) else None
        weight = item.get("weight", 1.0) if isinstance(item, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"{where}: rubric item {i} needs a `criterion` string")
        if not isinstance(weight, int | float) or isinstance(weight, bool) or weight <= 0:
            raise ConfigError(f"{where}: rubric item {i} needs a positive number `weight`")
        criteria.append(Criterion(text.strip(), float(weight)))
    return tuple(criteria)


def _digest(value: Any) -> str:
    blob = json.dumps(value, sort_keys=True, default=list).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def digest(*parts: Any) -> str:
    """A short stable digest of JSON-able parts (run identities, thread IDs)."""
    return _digest(list(parts))
