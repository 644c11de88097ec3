"""Entry point of the `fusion` command.

Bad input is refused before the heavy imports: the argument parser and the checks
of `fusion.cli.inputs` load no LangChain, LangGraph or provider SDK. With `--json`,
every outcome is one JSON object on stdout, errors included:
`{"status": "error", "error": {"type": ..., "message": ...}}`, with the same exit
codes (2 bad input, 130 interrupted, 1 anything else).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from fusion.cli.terminal import StatusLine, one_line

if TYPE_CHECKING:
    import argparse

    from fusion.core.errors import ConfigError


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in argv
    status = StatusLine(enabled=not as_json and argv[:1] == ["ask"])
    status.show("fusion: checking the question and the plan…")  # on screen at once
    from fusion.cli.parser import UsageError, build_parser
    from fusion.core.errors import ConfigError

    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:  # its line is on stderr already
        return _json_error("usage_error", exc.message, 2) if as_json else 2
    except SystemExit:  # --help
        status.clear()
        raise
    try:
        return _run(args, status)
    except ConfigError as exc:
        status.clear()
        kind = _error_type(exc)
        sys.stderr.write(f"fusion: error: {one_line(str(exc))}\n")
        return _json_error(kind, str(exc), 2) if as_json else 2
    except KeyboardInterrupt:
        status.clear()
        thread_id = _announced_run()
        if thread_id is None:
            message = "interrupted before any run was saved: nothing to resume"
        else:
            message = f"interrupted; continue with `fusion resume {thread_id}`"
        sys.stderr.write(f"fusion: {one_line(message)}\n")
        return _json_error("interrupted", message, 130, thread_id) if as_json else 130
    except Exception as exc:
        status.clear()
        if not as_json:
            raise
        sys.stderr.write(f"fusion: error: {one_line(f'{type(exc).__name__}: {exc}')}\n")
        return _json_error("internal_error", f"{type(exc).__name__}: {exc}", 1)


def _error_type(exc: ConfigError) -> str:
    from fusion.core.errors import RunBusy, SetupError

    if isinstance(exc, SetupError):
        return "setup_error"
    if isinstance(exc, RunBusy):  # another runner holds the run's lease
        return "run_busy"
    return "config_error"


def _announced_run() -> str | None:
    """The run this command saved and named (`thread:`), if it got that far."""
    if "fusion.cli.thread_line" not in sys.modules:  # nothing imported it: no run yet
        return None
    from fusion.cli.thread_line import announced

    return announced()


def _json_error(kind: str, message: str, code: int, thread_id: str | None = None) -> int:
    import json

    error = {"type": kind, "message": message}
    payload: dict[str, object] = {"status": "error", "error": error}
    if thread_id is not None:  # the run to resume: its paid drafts are on disk
        payload["thread_id"] = thread_id
    sys.stdout.write(json.dumps(payload) + "\n")
    return code


def _run(args: argparse.Namespace, status: StatusLine) -> int:
    import asyncio  # 40 ms: after the status line is on screen

    from fusion.core.redact import install_log_redaction

    install_log_redaction()  # no key reaches a log line of this process
    if args.command == "ask":
        from fusion.cli.inputs import check_ask

        checked = check_ask(args)  # light: refuses bad input before the heavy imports
        status.show(f"fusion: asking {len(checked.plan.panel)} panelists, loading…")
        from fusion.cli.ask import ask

        return asyncio.run(ask(args, checked, status))
    if args.command == "rejudge":
        from fusion.cli.rejudge import rejudge_command

        return asyncio.run(rejudge_command(args))
    if args.command == "estimate":
        from fusion.cli.estimate import estimate

        return estimate(args)
    if args.command in ("resume", "show", "runs"):
        from fusion.cli import history

        command = {"resume": history.resume, "show": history.show, "runs": history.runs}
        return asyncio.run(command[args.command](args))
    if args.command == "prune":
        from fusion.cli.prune import prune

        return asyncio.run(prune(args))
    if args.command == "presets":
        from fusion.cli.presets import list_presets

        return list_presets()
    if args.command == "serve":
        from fusion.cli.serve import serve

        return serve(args)
    if args.command == "mcp":
        from fusion.cli.mcp import mcp_command

        return mcp_command(args)
    if args.command == "eval":
        from fusion.cli.eval import eval_command

        return eval_command(args)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
