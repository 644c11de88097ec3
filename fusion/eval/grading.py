"""Grading without a model: exact or normalised answers, regular expressions, and
multiple choice. Each grade is a score in [0, 1] with a short reason.

The final answer is read from the reply's last `Answer: ...` line (every verifiable
prompt asks for one; Markdown emphasis around it is ignored), else the whole reply.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from fusion.eval.tasks import LETTERS, Task

ANSWER = re.compile(
    r"^[\s>*_#-]*(?:final\s+)?answer[\s*_]*[:\uff1a][\s*_]*(?P<value>.*?)[\s*_]*$", re.I | re.M
)
ARTICLES = re.compile(r"\b(a|an|the)\b")
LETTER = re.compile(r"^[(\[]?(?P<letter>[A-Z])(?:[)\].:]|\s|$)")


@dataclass(frozen=True)
class Grade:
    """A score in [0, 1]; `detail` says why, `error` is set when grading failed."""

    score: float
    detail: str
    extracted: str = ""
    cost_usd: float | None = None
    error: str | None = None


def final_answer(reply: str) -> str:
    """The value of the reply's last `Answer:` line, else the whole reply, stripped."""
    found = [m["value"].strip() for m in ANSWER.finditer(reply) if m["value"].strip()]
    return found[-1] if found else reply.strip()


def normalise(text: str) -> str:
    """Case-folded, without accents, punctuation, symbols, articles or extra spaces."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))  # García == Garcia
    text = text.replace(",", "")  # 1,000 == 1000
    text = "".join(" " if unicodedata.category(c).startswith(("P", "S")) else c for c in text)
    text = ARTICLES.sub(" ", text)
    return " ".join(text.split())


def grade_verifiable(task: Task, reply: str) -> Grade:
    """Grade an `answer`, `pattern` or `choice` task (rubrics go to the grader)."""
    extracted = final_answer(reply)
    if task.method == "answer":
        return _grade_answer(task, extracted)
    if task.method == "pattern":
        found = re.search(task.pattern, extracted)
        detail = f"matches /{task.pattern}/" if found else f"no match for /{task.pattern}/"
        return Grade(1.0 if found else 0.0, detail, extracted)
    if task.method == "choice":
        return _grade_choice(task, extracted)
    raise ValueError(f"task {task.id!r} is graded by rubric, not here")


def _grade_answer(task: Task, extracted: str) -> Grade:
    if task.exact:
        ok = extracted in task.answers
    else:
        ok = normalise(extracted) in {normalise(a) for a in task.answers}
    expected = " | ".join(task.answers)
    return Grade(1.0 if ok else 0.0, "correct" if ok else f"expected {expected}", extracted)


def chosen_letter(task: Task, extracted: str) -> str | None:
    """The choice a final answer names: its letter (`B`, `(B)`, `B. text`) or its text."""
    letters = LETTERS[: len(task.choices)]
    text = extracted.strip()
    match = LETTER.match(text.upper())
    if match and match["letter"] in letters:
        rest = normalise(text[match.end() :])
        index = letters.index(match["letter"])
        if not rest or rest == normalise(task.choices[index]):
            return match["letter"]
    wanted = normalise(extracted)
    for letter, choice in zip(letters, task.choices, strict=False):
        if wanted == normalise(choice):
            return letter
    return None


def _grade_choice(task: Task, extracted: str) -> Grade:
    letter = chosen_letter(task, extracted)
    right = task.correct_letter
    if letter == right:
        return Grade(1.0, "correct", extracted)
    said = f"chose {letter}" if letter else "no choice recognised"
    return Grade(0.0, f"{said}; expected {right}", extracted)
