"""`fusion eval` end to end against the scripted server: known accuracies give known
scores, a killed eval resumes without calling finished work again, and the reports
are written (the picture is a real PNG)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fusion.cli.main import main
from fusion.eval.configs import parse_configs
from fusion.eval.results import ResultRow, ResultsFile
from fusion.eval.runner import EvalPlan, plan_items
from fusion.eval.stats import summarise
from fusion.eval.tasks import load_tasks
from tests.fixtures.checkpoints import saved_writes, wait_for
from tests.fixtures.eval_scripts import (
    answers_right_on,
    majority_judge,
    question_number,
    write_tasks,
)
from tests.fixtures.llm_replies import ChatRequest, Error, Hang, Structured, Text
from tests.fixtures.llm_server import ScriptedLLMServer

PANEL_SPEC = "fusion:panel=vendor/good,vendor/good2,vendor/bad;judge=vendor/judge"
CONFIGS = [
    "good=solo:vendor/good",
    "good2=solo:vendor/good2",
    "bad=solo:vendor/bad",
    f"panel={PANEL_SPEC}",
    "selfbad=self:vendor/bad*3",
]


def eval_args(tasks: Path, out: Path, configs: list[str], *extra: str) -> list[str]:
    args = ["eval", str(tasks), "--out", str(out), "--no-web", *extra]
    for config in configs:
        args += ["--config", config]
    return args


def rows_in(out: Path) -> list[ResultRow]:
    return list(ResultsFile(out / "results.jsonl").load().values())


def questions_asked(llm: ScriptedLLMServer, model: str) -> list[int]:
    return sorted(question_number(r) for r in llm.requests_for(model))


def test_known_accuracies_give_expected_scores_intervals_and_order(
    llm_env: ScriptedLLMServer, tmp_path: Path
) -> None:
    # good misses task 9, good2 misses task 0, bad is right on 3 of 10: the panel's
    # majority is right everywhere; bad sampled three times stays at 3 of 10
    llm_env.script("vendor/good", answers_right_on("vendor/good", range(9), cost=0.002))
    llm_env.script("vendor/good2", answers_right_on("vendor/good2", range(1, 10), cost=0.003))
    llm_env.script("vendor/bad", answers_right_on("vendor/bad", {0, 5, 9}, cost=0.0005))
    llm_env.script("vendor/judge", majority_judge)
    tasks = write_tasks(tmp_path / "tasks.jsonl", 10)
    out = tmp_path / "out"

    assert main(eval_args(tasks, out, CONFIGS, "--concurrency", "8")) == 0

    rows = rows_in(out)
    assert len(rows) == 50 and all(r.status == "ok" for r in rows)
    summary = summarise(parse_configs(CONFIGS), rows)
    scores = {s.name: s.score for s in summary.configs}
    assert scores == pytest.approx(
        {"panel": 1.0, "good": 0.9, "good2": 0.9, "bad": 0.3, "selfbad": 0.3}
    )
    # best first; equal scores: cheaper first
    assert [s.name for s in summary.configs] == ["panel", "good", "good2", "bad", "selfbad"]
    for s in summary.configs:
        assert s.ci[0] <= s.score <= s.ci[1]
    by = summary.by_name
    assert by["panel"].ci == (1.0, 1.0)
    assert 0.6 <= by["good"].ci[0] < 0.9 and by["good"].ci[1] == 1.0
    assert by["bad"].ci[1] < by["good"].ci[0] and by["bad"].ci[0] >= 0.0
    # lift and cost ratio against the best solo config
    assert summary.best_solo == "good"
    assert by["panel"].lift == pytest.approx(0.1)
    assert by["bad"].lift == pytest.approx(-0.6)
    assert by["good"].cost_per_task == pytest.approx(0.002)
    assert by["good"].cost_total == pytest.approx(0.02)
    assert by["good2"].cost_ratio == pytest.approx(1.5)
    panel_cost = by["panel"].cost_per_task
    assert panel_cost is not None
    assert panel_cost == pytest.approx(
        sum(r.cost_usd or 0 for r in rows if r.config == "panel") / 10
    )
    assert by["panel"].cost_ratio == pytest.approx(panel_cost / 0.002)
    assert panel_cost / 0.002 > 2.5  # three panelists and a judge
    assert all(s.failures == 0 for s in summary.configs)
    # the solo models were called once per task as solo, once more inside the panel
    assert questions_asked(llm_env, "vendor/good") == sorted([*range(10)] * 2)
    # the report's table lists the configs best first
    report = (out / "report.md").read_text()
    positions = [report.index(f"| {name} | `") for name in ("panel", "good", "good2", "bad")]
    assert positions == sorted(positions)

    # a rerun finds every run done: no model is called, the results are unchanged
    before = len(llm_env.requests)
    assert main(eval_args(tasks, out, CONFIGS)) == 0
    assert len(llm_env.requests) == before
    assert len((out / "results.jsonl").read_text().splitlines()) == 50


def test_a_killed_eval_resumes_without_calling_finished_work_again(
    llm_env: ScriptedLLMServer, tmp_path: Path
) -> None:
    def slow_first_life(request: ChatRequest) -> Text | Structured | Hang:
        if question_number(request) == 3:
            return Hang()  # the panel of task 3 is cut here, its other draft saved
        return answers_right_on("vendor/slow", range(6), cost=0.001)(request)

    llm_env.script("vendor/fast", answers_right_on("vendor/fast", range(6), cost=0.001))
    llm_env.script("vendor/slow", slow_first_life)
    llm_env.script("vendor/judge", majority_judge)
    tasks = write_tasks(tmp_path / "tasks.jsonl", 6)
    out = tmp_path / "out"
    configs = [
        "solo=solo:vendor/fast",
        "panel=fusion:panel=vendor/fast,vendor/slow;judge=vendor/judge",
    ]
    args = eval_args(tasks, out, configs, "--concurrency", "1")
    env = {k: v for k, v in os.environ.items() if k not in ("TAVILY_API_KEY", "FUSION_CONFIG")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fusion.cli.main", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    plan = EvalPlan(load_tasks(tasks), parse_configs(configs), out, options={"web": False})
    (cut,) = [i for i in plan_items(plan) if i.key == ("t3", "panel", 0)]
    results = out / "results.jsonl"

    def lines() -> int:
        return len(results.read_text().splitlines()) if results.exists() else 0

    # tasks 0-2 under both configs and task 3 solo are written; task 3's panel has
    # fast's draft checkpointed (fan_out's reset is one write, the draft another)
    wait_for(
        lambda: lines() == 7 and saved_writes(out / "runs.sqlite", cut.thread_id, "responses") >= 2,
        "7 results and task 3's first draft",
    )
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    assert lines() == 7

    llm_env.reset()
    llm_env.script("vendor/fast", answers_right_on("vendor/fast", range(6), cost=0.001))
    llm_env.script("vendor/slow", answers_right_on("vendor/slow", range(6), cost=0.001))
    llm_env.script("vendor/judge", majority_judge)
    assert main(args) == 0

    # finished runs are not called again; task 3's panel resumes from its checkpoint
    assert questions_asked(llm_env, "vendor/fast") == [4, 4, 5, 5]
    assert questions_asked(llm_env, "vendor/slow") == [3, 4, 5]
    rows = {r.key: r for r in rows_in(out)}
    assert len(rows) == 12 and all(r.score == 1.0 for r in rows.values())
    resumed = rows[("t3", "panel", 0)]
    assert resumed.resumed and resumed.thread_id == cut.thread_id


MIXED_TASKS = [
    {"id": "word", "prompt": "Question 0: the word?", "answer": "right-0"},
    {"id": "regex", "prompt": "Question 1: the word?", "pattern": r"^right-\d$"},
    {
        "id": "pick",
        "prompt": "Question 2: which word?",
        "choices": ["wrong", "right-2", "other"],
        "answer": "B",
    },
    {
        "id": "essay",
        "prompt": "Question 3: explain the word.",
        "rubric": [
            {"criterion": "says right-3", "weight": 3},
            {"criterion": "gives an example", "weight": 1},
        ],
    },
]


def grader(request: ChatRequest) -> Structured:
    """Criterion 1 is met when the graded answer says right-3; criterion 2 never."""
    graded = request.text.split("<answer>")[1].split("</answer>")[0]
    met = "right-3" in graded
    verdicts = [{"number": 1, "met": met, "reason": "read"}, {"number": 2, "met": False}]
    return Structured({"verdicts": verdicts}, cost=0.0001)


def test_report_md_and_png_are_written_with_every_grading_method(
    llm_env: ScriptedLLMServer, tmp_path: Path
) -> None:
    llm_env.script("vendor/good", answers_right_on("vendor/good", range(4), cost=0.01))
    llm_env.script("vendor/mini", answers_right_on("vendor/mini", {0}, cost=0.0002))
    llm_env.script("vendor/down", lambda r: Error(400, "no such thing"))
    llm_env.script("vendor/judge", majority_judge)
    llm_env.script("vendor/grader", grader)
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("\n".join(json.dumps(t) for t in MIXED_TASKS) + "\n")
    out = tmp_path / "out"
    configs = [
        "good=solo:vendor/good",
        "mini=solo:vendor/mini",
        "down=solo:vendor/down",
        "fusion:panel=vendor/good,vendor/mini;judge=vendor/judge",
    ]

    code = main(eval_args(tasks, out, configs, "--grader", "vendor/grader", "--repeats", "2"))

    assert code == 0
    rows = {r.key: r for r in rows_in(out)}
    assert len(rows) == 4 * 4 * 2
    good = {task: rows[(task, "good", 0)] for task in ("word", "regex", "pick", "essay")}
    assert [good[t].score for t in good] == [1.0, 1.0, 1.0, 0.75]
    assert good["essay"].grade == "1/2 criteria met (missed 2)"
    assert good["essay"].grader_cost_usd == pytest.approx(0.0001)
    assert rows[("essay", "mini", 1)].score == 0.0
    assert rows[("word", "down", 0)].failed and rows[("word", "down", 0)].score == 0.0
    summary = summarise(parse_configs(configs), list(rows.values()))
    assert summary.by_name["down"].failures == 8
    assert summary.grader_cost == pytest.approx(0.0001 * 3 * 2)  # 'down' has no answer to grade

    report = (out / "report.md").read_text()
    for heading in ("## Configs", "## Per task", "## Answers", "### essay (rubric)"):
        assert heading in report
    assert "![score against cost per task](report.png)" in report
    assert "lift vs `good`" in report and "1/2 criteria met" in report
    assert "(failed: bad_request: HTTP 400: no such thing)" in report

    from matplotlib.image import imread

    png = out / "report.png"
    assert png.stat().st_size > 10_000
    height, width = imread(str(png)).shape[:2]
    assert width > 300 and height > 300


def test_retry_failed_calls_only_the_failed_runs_again(
    llm_env: ScriptedLLMServer, tmp_path: Path
) -> None:
    llm_env.script("vendor/good", answers_right_on("vendor/good", range(3), cost=0.001))
    llm_env.script("vendor/flaky", lambda r: Error(402, "out of credits"))
    tasks = write_tasks(tmp_path / "tasks.jsonl", 3)
    out = tmp_path / "out"
    args = eval_args(tasks, out, ["good=solo:vendor/good", "flaky=solo:vendor/flaky"])
    assert main(args) == 0
    assert sum(r.failed for r in rows_in(out)) == 3

    llm_env.reset()
    llm_env.script("vendor/good", answers_right_on("vendor/good", range(3), cost=0.001))
    llm_env.script("vendor/flaky", answers_right_on("vendor/flaky", range(3), cost=0.001))
    assert main(args) == 0
    assert llm_env.requests == []  # failures are results too: kept, not re-paid
    assert main([*args, "--retry-failed"]) == 0
    assert questions_asked(llm_env, "vendor/good") == []
    assert questions_asked(llm_env, "vendor/flaky") == [0, 1, 2]
    assert all(r.score == 1.0 for r in rows_in(out))


@pytest.mark.parametrize(
    ("lines", "configs", "extra", "needle"),
    [
        (None, ["solo:vendor/a"], [], "no tasks file"),
        (
            ['{"id": 1, "prompt": "p", "answer": "x"}', "{not json"],
            ["solo:vendor/a"],
            [],
            ":2: not valid JSON",
        ),
        (['{"id": 1, "prompt": "p"}'], ["solo:vendor/a"], [], "no way to grade it"),
        (
            ['{"id": 1, "prompt": "p", "answer": "x"}'],
            ["x=duo:vendor/a"],
            [],
            "SPEC is fusion:PRESET",
        ),
        (
            ['{"id": 1, "prompt": "p", "answer": "x"}'],
            ["a=solo:v/a", "a=solo:v/b"],
            [],
            "given twice",
        ),
        (['{"id": 1, "prompt": "p", "answer": "x"}'], [], [], "give at least one --config"),
        (['{"id": 1, "prompt": "p", "answer": "x"}'], ["self:vendor/a*9"], [], "N from 2 to 8"),
        (['{"id": 1, "prompt": "p", "answer": "x"}'], ["fusion:nosuch"], [], "unknown preset"),
        (
            ['{"id": "e", "prompt": "p", "rubric": [{"criterion": "c", "weight": 1}]}'],
            ["solo:vendor/a"],
            [],
            "add --grader MODEL",
        ),
        (
            ['{"id": 1, "prompt": "p", "answer": "x"}'],
            ["solo:vendor/a"],
            ["--repeats", "0"],
            "--repeats",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2_before_any_call(
    llm_env: ScriptedLLMServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    lines: list[str] | None,
    configs: list[str],
    extra: list[str],
    needle: str,
) -> None:
    tasks = tmp_path / "tasks.jsonl"
    if lines is not None:
        tasks.write_text("\n".join(lines) + "\n")

    code = main(eval_args(tasks, tmp_path / "out", configs, *extra))

    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and needle in err, err
    assert llm_env.requests == []
    assert not (tmp_path / "out" / "results.jsonl").exists()
