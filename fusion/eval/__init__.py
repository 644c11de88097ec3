"""`fusion eval`: fusion, solo models and self-fusion side by side on your own tasks.

One module per job: `tasks` (TASKS.jsonl), `configs` (NAME=SPEC), `calls` (one
run of a config), `grading` and `rubric` (scores in [0, 1]), `results`
(results.jsonl, resumable), `runner` (tasks x configs x repeats), `stats`,
`report` (report.md), `plot` (report.png) and `progress` (the bar).
"""
