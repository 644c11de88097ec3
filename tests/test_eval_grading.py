"""`fusion eval` pieces on their own: task and spec validation, each grading method
(the rubric through a scripted grader), and the statistics."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from fusion.core.errors import ConfigError
from fusion.core.settings import load_settings
from fusion.eval.configs import parse_config, parse_configs
from fusion.eval.grading import final_answer, grade_verifiable, normalise
from fusion.eval.rubric import grade_rubric
from fusion.eval.stats import bootstrap_ci, percentile
from fusion.eval.tasks import Task, load_tasks, parse_task
from tests.fixtures.llm_replies import ChatRequest, Structured, Text
from tests.fixtures.llm_server import ScriptedLLMServer

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "eval" / "tasks.jsonl"


def task(**fields: Any) -> Task:
    return parse_task({"id": "t", "prompt": "Q?", **fields}, 1, "tasks.jsonl:1")


def test_the_example_task_set_loads_with_every_grading_method() -> None:
    tasks = load_tasks(EXAMPLES)
    assert len(tasks) >= 30
    assert {t.method for t in tasks} == {"answer", "pattern", "choice", "rubric"}


def test_the_offline_demo_scripts_right_and_wrong_answers_for_every_example_task() -> None:
    spec = importlib.util.spec_from_file_location(
        "scripted_demo", EXAMPLES.with_name("scripted_demo.py")
    )
    assert spec and spec.loader
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    tasks = load_tasks(EXAMPLES)
    models = demo.DemoModels(tasks)
    for graded in (t for t in tasks if t.method != "rubric"):
        right = models.answer(graded, True, "demo/x", 0)
        wrong = models.answer(graded, False, "demo/x", 0)
        assert grade_verifiable(graded, f"...\nAnswer: {right}").score == 1.0, graded.id
        assert grade_verifiable(graded, f"...\nAnswer: {wrong}").score == 0.0, graded.id


def test_the_final_answer_is_the_last_answer_line_else_the_whole_reply() -> None:
    assert final_answer("Thinking...\nAnswer: Paris\nno wait\n**Answer:** Lyon") == "Lyon"
    assert final_answer("Final answer: 42") == "42"
    assert final_answer("  just Paris \n") == "just Paris"


@pytest.mark.parametrize(
    ("reply", "score"),
    [
        ("Answer: Gabriel Garcia Marquez", 1.0),  # accents
        ("Answer: gabriel garcía márquez.", 1.0),  # case, punctuation
        ("Answer: The García Márquez", 1.0),  # articles, an accepted alias
        ("Answer: Borges", 0.0),
        ("García Márquez wrote it, not Borges", 0.0),  # no Answer line: the whole reply
    ],
)
def test_normalised_answers(reply: str, score: float) -> None:
    graded = task(answer=["Gabriel García Márquez", "García Márquez"])
    assert grade_verifiable(graded, reply).score == score


def test_exact_answers_and_number_normalisation() -> None:
    exact = task(answer="AELV", match="exact")
    assert grade_verifiable(exact, "Answer: AELV").score == 1.0
    assert grade_verifiable(exact, "Answer: aelv").score == 0.0
    assert grade_verifiable(task(answer="1048576"), "Answer: 1,048,576").score == 1.0
    assert normalise("  The  Ohm!  ") == "ohm"


def test_regex_answers_are_searched_in_the_final_answer() -> None:
    graded = task(pattern=r"^3\.14\d*$")
    assert grade_verifiable(graded, "Pi is about...\nAnswer: 3.14159").score == 1.0
    miss = grade_verifiable(graded, "Answer: about 3.14")
    assert miss.score == 0.0 and miss.detail.startswith("no match")


@pytest.mark.parametrize(
    ("reply", "score"),
    [
        ("Answer: B", 1.0),
        ("Answer: (b)", 1.0),
        ("Answer: B. float", 1.0),
        ("Answer: float", 1.0),  # the choice's text
        ("Answer: A", 0.0),
        ("Answer: B. int", 0.0),  # letter and text disagree
        ("Answer: maybe", 0.0),
    ],
)
def test_multiple_choice_by_letter_or_text(reply: str, score: float) -> None:
    graded = task(choices=["int", "float", "Decimal"], answer="B")
    assert grade_verifiable(graded, reply).score == score


def test_a_multiple_choice_answer_may_be_given_as_the_choice_text() -> None:
    graded = task(choices=["int", "float"], answer="float")
    assert graded.correct_letter == "B"
    assert "A. int\nB. float" in graded.prompt_text and "`Answer: <letter>`" in graded.prompt_text


async def test_rubric_is_the_weighted_share_of_criteria_the_grader_says_are_met(
    llm_env: ScriptedLLMServer,
) -> None:
    verdicts = [
        {"number": 1, "met": True, "reason": "says so"},
        {"number": 2, "met": False, "reason": "no example"},
        {"number": 3, "met": True, "reason": "short"},
    ]
    llm_env.script("vendor/grader", Structured({"verdicts": verdicts}, cost=0.0003))
    graded = task(
        rubric=[
            {"criterion": "names the cause", "weight": 2},
            {"criterion": "gives an example", "weight": 1},
            {"criterion": "is short", "weight": 1},
        ]
    )

    grade = await grade_rubric(graded, "It is the cause.", "vendor/grader", load_settings())

    assert grade.score == 0.75 and grade.error is None
    assert grade.detail == "2/3 criteria met (missed 2)"
    assert grade.cost_usd == pytest.approx(0.0003)
    (request,) = llm_env.requests_for("vendor/grader")
    assert request.body["tool_choice"]["function"]["name"] == "RubricVerdict"  # function calling
    assert "2. gives an example" in request.text and "It is the cause." in request.text


async def test_a_grader_that_never_fits_the_schema_fails_the_grade(
    llm_env: ScriptedLLMServer,
) -> None:
    llm_env.script("vendor/grader", lambda r: Text("I think it is fine."))
    graded = task(rubric=[{"criterion": "anything"}])

    grade = await grade_rubric(graded, "An answer.", "vendor/grader", load_settings())

    assert grade.score == 0.0 and grade.error
    assert len(llm_env.requests_for("vendor/grader")) == 2


def _never(request: ChatRequest) -> Text:
    raise AssertionError("no call expected")


async def test_an_empty_answer_is_not_sent_to_the_grader(llm_env: ScriptedLLMServer) -> None:
    llm_env.script("vendor/grader", _never)
    grade = await grade_rubric(
        task(rubric=[{"criterion": "c"}]), " ", "vendor/grader", load_settings()
    )
    assert grade.score == 0.0 and llm_env.requests == []


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"answer": "x", "pattern": "x"}, "one grading method, not answer and pattern"),
        ({"choices": ["a", "b"]}, "has `choices` and `answer` only"),
        ({"choices": ["a", "b"], "answer": "C"}, "letter A-B"),
        ({"pattern": "("}, "not a valid regular expression"),
        ({"rubric": [{"criterion": "c", "weight": 0}]}, "positive number `weight`"),
        ({"answer": "x", "hint": "y"}, "unknown key 'hint'"),
        ({"answer": "x", "match": "fuzzy"}, "`match` is"),
    ],
)
def test_bad_tasks_name_the_line_and_the_fix(fields: dict[str, Any], needle: str) -> None:
    with pytest.raises(ConfigError, match=r"tasks\.jsonl:1") as raised:
        task(**fields)
    assert needle in str(raised.value)


def test_duplicate_task_ids_name_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(
        '{"id": "a", "prompt": "p", "answer": "x"}\n\n{"id": "a", "prompt": "q", "answer": "y"}\n'
    )
    with pytest.raises(ConfigError, match=r"t.jsonl:3: task id 'a' is also on line 1"):
        load_tasks(path)


def test_config_specs() -> None:
    solo = parse_config("best=solo:openai/gpt-5")
    assert (solo.name, solo.kind, solo.model) == ("best", "solo", "openai/gpt-5")
    preset = parse_config("fusion:quality")
    assert (preset.name, preset.preset, preset.panel) == ("fusion:quality", "quality", ())
    panel = parse_config("p=fusion:panel=a/x, b/y ,c/z;judge=d/w")
    assert panel.panel == ("a/x", "b/y", "c/z") and panel.judge == "d/w"
    self_fusion = parse_config("self:vendor/m*3")
    assert self_fusion.panel == ("vendor/m",) * 3 and self_fusion.judge == "vendor/m"
    assert [c.name for c in parse_configs(["a=solo:v/a", "solo:v/b"])] == ["a", "solo:v/b"]


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("solo:", "solo:vendor/model"),
        ("solo:a/b,c/d", "solo:vendor/model"),
        ("self:vendor/m", "self:vendor/model*N"),
        ("self:vendor/m*1", "N from 2 to 8"),
        ("fusion:panel=a;jugde=b", "KEY=VALUE"),
        ("fusion:panel=" + ",".join(["m"] * 9), "1 to 8"),
        ("bad name=solo:a/b", "NAME 'bad name'"),
        ("vendor/model", "SPEC is"),
    ],
)
def test_bad_specs_say_how_to_write_them(spec: str, needle: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(spec)
    assert needle in str(raised.value)


def test_percentiles_interpolate_between_ranks() -> None:
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile(list(range(1, 21)), 95) == pytest.approx(19.05)
    assert percentile([7.0], 95) == 7.0
    assert percentile([1, 2, 3], 0) == 1 and percentile([1, 2, 3], 100) == 3


def test_bootstrap_is_deterministic_for_a_seed_and_brackets_the_mean() -> None:
    values = [1.0] * 7 + [0.0] * 3
    first = bootstrap_ci(values, seed=1)
    assert bootstrap_ci(values, seed=1) == first
    assert bootstrap_ci(values, seed=2) != first or first[0] == first[1]
    low, high = first
    assert 0.3 < low < 0.7 < high <= 1.0
    assert bootstrap_ci([0.5] * 5) == (0.5, 0.5)
    assert bootstrap_ci([0.2]) == (0.2, 0.2)
    wide = bootstrap_ci([1.0, 0.0] * 5)
    narrow = bootstrap_ci([1.0, 0.0] * 50)
    assert wide[1] - wide[0] > narrow[1] - narrow[0]  # more tasks, tighter interval
