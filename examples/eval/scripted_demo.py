"""Run `fusion eval` on examples/eval/tasks.jsonl offline, against scripted models.

    python examples/eval/scripted_demo.py [--out DIR] [--png docs/eval-report.png]

Starts the scripted OpenAI-compatible server of tests/fixtures (so run it from a clone
of the repository) with made-up models of known accuracy, latency and price, then runs
the eval exactly as a user would. Every model's answers are a pure function of the
model, the task and the sample number, so the report (and the README's picture) comes
out the same on every machine. No key, no network.

The models: `demo/flagship-a` and `demo/flagship-b` (right on about 80% and 74% of tasks,
a cent or more a call), `demo/mid` (66%), `demo/flash` (60%) and `demo/mini` (52%, a
few hundredths of a cent). The judges take the panel's majority answer, break ties
towards the right answer half of the time, and merge what the drafts cover on rubric
tasks; `demo/grader` marks a rubric criterion met when the answer covers it.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import shutil
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from fusion.cli.main import main as fusion_main  # noqa: E402
from fusion.eval.grading import final_answer  # noqa: E402
from fusion.eval.tasks import LETTERS, Task, load_tasks  # noqa: E402
from tests.fixtures.llm_replies import ChatRequest, Handler, Structured, Text  # noqa: E402
from tests.fixtures.llm_server import ScriptedLLMServer  # noqa: E402
from tests.fixtures.panel_scripts import (  # noqa: E402
    analysis_for,
    is_analysis_request,
    is_verdict_request,
    judge_reply,
    responses_in,
)

TASKS = Path(__file__).with_name("tasks.jsonl")
# model: (share of tasks it gets right, dollars a call, seconds a call)
MODELS = {
    "demo/flagship-a": (0.68, 0.0150, 0.30),
    "demo/flagship-b": (0.64, 0.0120, 0.25),
    "demo/mid": (0.58, 0.0025, 0.12),
    "demo/flash": (0.55, 0.0008, 0.06),
    "demo/mini": (0.48, 0.0003, 0.04),
}
JUDGES = {"demo/judge": 0.0100, "demo/judge-lite": 0.0010}
CONFIGS = [
    "flagship-a=solo:demo/flagship-a",
    "flagship-b=solo:demo/flagship-b",
    "mini=solo:demo/mini",
    "panel=fusion:panel=demo/flagship-a,demo/flagship-b,demo/mid;judge=demo/judge",
    "budget-panel=fusion:panel=demo/mid,demo/flash;judge=demo/judge-lite",
    "self-mini=self:demo/mini*3",
]
# a right final answer for each `pattern` task of the example set
PATTERN_ANSWERS = {
    "prime-90s": "97",
    "moon-landing": "1969",
    "derivative-cube": "3x^2",
    "iso-date": "2030-01-01",
    "boiling-f": "212",
    "sqrt-2": "1.414",
}
COVERS = "Covers: "


def draw(*parts: object) -> float:
    """A reproducible number in [0, 1) for these parts."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def knows(accuracy: float, model: str, *item: object, sample: int) -> bool:
    """Right mostly by the item's difficulty (shared by every model, so errors go
    together, as real models' do) and partly by this model's luck on this sample."""
    return 0.7 * draw("difficulty", *item) + 0.3 * draw(model, sample, *item) < accuracy


class DemoModels:
    """Answers for every scripted model, looked up from the task in the request."""

    def __init__(self, tasks: list[Task]) -> None:
        # longest prompt first, so a prompt inside another never shadows it
        self.tasks = sorted(tasks, key=lambda t: -len(t.prompt))
        self.samples: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()

    def task_of(self, request: ChatRequest) -> Task:
        text = request.text
        return next(t for t in self.tasks if t.prompt in text)

    def model(self, model: str) -> Handler:
        accuracy, cost, delay = MODELS[model]

        def handler(request: ChatRequest) -> Text | Structured:
            if responses_in(request) or is_analysis_request(request):
                return self.judge(request, cost)
            task = self.task_of(request)
            sample = 0
            if any(m.get("role") == "system" for m in request.messages):  # a panelist
                with self.lock:
                    sample = self.samples[(model, task.id)]
                    self.samples[(model, task.id)] += 1
            return Text(self.reply(task, model, sample, accuracy), cost=cost, delay=delay)

        return handler

    def reply(self, task: Task, model: str, sample: int, accuracy: float) -> str:
        if task.method == "rubric":
            covered = [
                c.criterion
                for i, c in enumerate(task.rubric)
                if knows(accuracy, model, task.id, i, sample=sample)
            ]
            return "Here is my take.\n" + "\n".join(COVERS + c for c in covered)
        right = knows(accuracy, model, task.id, sample=sample)
        return f"Let me work through it.\nAnswer: {self.answer(task, right, model, sample)}"

    def answer(self, task: Task, right: bool, model: str, sample: int) -> str:
        if task.method == "choice":
            if right:
                return task.correct_letter
            wrong = [x for x in LETTERS[: len(task.choices)] if x != task.correct_letter]
            return wrong[int(draw("wrong", model, task.id, sample) * len(wrong))]
        if right:
            return PATTERN_ANSWERS[task.id] if task.method == "pattern" else task.answers[0]
        return f"not-sure-{int(draw('guess', model, task.id, sample) * 3)}"

    def judge(self, request: ChatRequest, cost: float) -> Text | Structured:
        drafts = responses_in(request)
        if is_analysis_request(request) and not is_verdict_request(request):
            return Structured(analysis_for(drafts), cost=cost / 4)
        reply = self.judge_answer(request, drafts)
        return judge_reply(request, reply, analysis_for(drafts), cost=cost)

    def judge_answer(self, request: ChatRequest, drafts: dict[str, str]) -> str:
        task = self.task_of(request)
        if task.method == "rubric":
            lines = {ln for d in drafts.values() for ln in d.splitlines() if ln.startswith(COVERS)}
            return "The panel's points, merged.\n" + "\n".join(sorted(lines))
        finals = Counter(final_answer(d) for d in drafts.values())
        (top, votes), *rest = finals.most_common()
        if rest and rest[0][1] == votes:  # a tie: sometimes the judge spots the right one
            tied = sorted(f for f, n in finals.items() if n == votes)
            right = self.answer(task, True, "", 0)
            pick_right = right in tied and draw("judge", task.id) < 0.5
            top = right if pick_right else tied[0]
        return f"Weighing the drafts.\nAnswer: {top}"

    def grader(self, request: ChatRequest) -> Structured:
        task = self.task_of(request)
        graded = request.text.split("<answer>")[1].split("</answer>")[0]
        verdicts = [
            {"number": i, "met": COVERS + c.criterion in graded, "reason": "checked"}
            for i, c in enumerate(task.rubric, start=1)
        ]
        return Structured({"verdicts": verdicts}, cost=0.0002)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_out = Path(tempfile.gettempdir()) / "fusion-eval-demo"
    parser.add_argument("--out", default=str(default_out), help=f"eval folder ({default_out})")
    parser.add_argument("--png", help="also copy report.png here (e.g. docs/eval-report.png)")
    parser.add_argument("--concurrency", default="8")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    empty_config = out / "demo-config.toml"
    empty_config.write_text("# no user config: every demo model goes to the scripted server\n")
    server = ScriptedLLMServer()
    models = DemoModels(load_tasks(TASKS))
    for model in MODELS:
        server.script(model, models.model(model))
    for judge, cost in JUDGES.items():
        server.script(judge, functools.partial(models.judge, cost=cost))
    server.script("demo/grader", models.grader)
    os.environ.update(
        FUSION_BASE_URL=server.base_url,
        FUSION_API_KEY="scripted",
        FUSION_CONFIG=str(empty_config),
        FUSION_DB=str(out / "runs.sqlite"),
    )
    argv = ["eval", str(TASKS), "--out", str(out), "--no-web", "--grader", "demo/grader"]
    argv += ["--concurrency", args.concurrency]
    for config in CONFIGS:
        argv += ["--config", config]
    try:
        code = fusion_main(argv)
    finally:
        server.stop()
    if code == 0 and args.png:
        Path(args.png).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out / "report.png", args.png)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
