"""`fusion eval` judge A/B: a `rejudge:` config judges another config's drafts again,
calling no panelist, and the report gives the paired difference between the judges
with its interval, and what judging cost."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from fusion.cli.main import main
from fusion.eval.configs import parse_configs
from fusion.eval.results import ResultRow, ResultsFile
from fusion.eval.stats import summarise
from tests.fixtures.eval_scripts import answers_right_on, question_number, write_tasks
from tests.fixtures.llm_replies import ChatRequest, Structured, Text
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.panel_scripts import analysis_for, judge_reply, responses_in

TASKS = 6
BASE = "base=fusion:panel=vendor/a,vendor/b;judge=vendor/judge"
OPUS = "opus-judge=rejudge:base;judge=vendor/opus"
PANEL = ("vendor/a", "vendor/b")


def judge_right_on(right: Iterable[int], cost: float) -> Callable[[ChatRequest], Text | Structured]:
    """A judge right on the task numbers in `right` whatever the drafts say."""
    right_on = set(right)

    def handler(request: ChatRequest) -> Text | Structured:
        n = question_number(request)
        answer = f"Answer: right-{n}" if n in right_on else "Answer: unsure"
        return judge_reply(request, answer, analysis_for(responses_in(request)), cost=cost)

    return handler


def eval_args(tasks: Path, out: Path, *configs: str) -> list[str]:
    args = ["eval", str(tasks), "--out", str(out), "--no-web", "--concurrency", "4"]
    for config in configs:
        args += ["--config", config]
    return args


def rows_in(out: Path) -> list[ResultRow]:
    return list(ResultsFile(out / "results.jsonl").load().values())


def panel_requests(llm: ScriptedLLMServer) -> int:
    return sum(len(llm.requests_for(m)) for m in PANEL)


def test_rejudge_config_pays_only_for_judging_and_reports_the_paired_difference(
    llm_env: ScriptedLLMServer, tmp_path: Path
) -> None:
    for model in PANEL:
        llm_env.script(model, answers_right_on(model, range(TASKS), cost=0.001))
    llm_env.script("vendor/judge", judge_right_on({0, 1, 2}, cost=0.0005))
    llm_env.script("vendor/opus", judge_right_on({0, 1, 2, 3, 4}, cost=0.0002))
    tasks = write_tasks(tmp_path / "tasks.jsonl", TASKS)
    out = tmp_path / "out"

    assert main(eval_args(tasks, out, BASE, OPUS)) == 0

    # the panel drafted once per task, for `base`; `opus-judge` called the judge only
    assert panel_requests(llm_env) == TASKS * len(PANEL)
    assert len(llm_env.requests_for("vendor/opus")) == TASKS
    rows = rows_in(out)
    opus = [r for r in rows if r.config == "opus-judge"]
    assert len(opus) == TASKS and all(r.status == "ok" for r in opus)
    assert all(r.cost_usd == pytest.approx(0.0002) for r in opus)  # judging only
    assert all(r.judge_cost_usd == pytest.approx(0.0002) for r in opus)
    base = [r for r in rows if r.config == "base"]
    assert all(r.judge_cost_usd == pytest.approx(0.0005) for r in base)
    assert all(r.cost_usd == pytest.approx(0.0025) for r in base)

    summary = summarise(parse_configs([BASE, OPUS]), rows)
    (compared,) = summary.judges
    assert (compared.name, compared.base, compared.tasks) == ("opus-judge", "base", TASKS)
    assert compared.difference == pytest.approx(2 / TASKS)  # right on tasks 3 and 4 too
    assert compared.ci[0] <= compared.difference <= compared.ci[1]
    assert compared.ci[0] < compared.ci[1]
    assert compared.judge_cost_per_task == pytest.approx(0.0002)
    assert compared.base_judge_cost_per_task == pytest.approx(0.0005)
    report = (out / "report.md").read_text()
    assert "## Judges compared on the same drafts" in report
    assert f"| opus-judge | `rejudge:base;judge=vendor/opus` | base | {TASKS} | +0.333 (" in report
    assert "| $0.00020 | $0.00050 |" in report

    # a second judge added later: 0 panel requests, the first judge's rows kept
    llm_env.reset()
    llm_env.script("vendor/judge", judge_right_on(range(TASKS), cost=0.0005))
    order = "answer-first=rejudge:base;judge_order=answer_first"
    assert main(eval_args(tasks, out, BASE, OPUS, order)) == 0
    assert panel_requests(llm_env) == 0
    assert llm_env.requests_for("vendor/opus") == []
    assert len(llm_env.requests_for("vendor/judge")) == 2 * TASKS  # answer, then analysis
    again = [r for r in rows_in(out) if r.config == "answer-first"]
    assert len(again) == TASKS and all(r.score == 1.0 for r in again)


@pytest.mark.parametrize(
    ("configs", "needle"),
    [
        ([BASE, "x=rejudge:nope;judge=vendor/opus"], "rejudge:nope names no config"),
        (["s=solo:vendor/a", "x=rejudge:s;judge=vendor/opus"], "is a solo: config"),
        ([BASE, "x=rejudge:base;panel=vendor/c"], "KEY one of judge, fallback_judge"),
        ([BASE, "x=rejudge:base;judge_order=sideways"], "judge_order"),
    ],
)
def test_bad_rejudge_configs_are_one_line_and_exit_2_before_any_call(
    llm_env: ScriptedLLMServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    configs: list[str],
    needle: str,
) -> None:
    tasks = write_tasks(tmp_path / "tasks.jsonl", 1)
    code = main(eval_args(tasks, tmp_path / "out", *configs))
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and needle in err, err
    assert llm_env.requests == []
