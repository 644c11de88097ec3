"""Entry point of the `fusion` command."""

from __future__ import annotations

import asyncio
import sys

from fusion.cli.parser import build_parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from fusion.core.errors import ConfigError
    from fusion.core.redact import install_log_redaction

    install_log_redaction()  # no key reaches a log line of this process

    try:
        if args.command == "ask":
            from fusion.cli.ask import ask

            return asyncio.run(ask(args))
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
    except ConfigError as exc:
        sys.stderr.write(f"fusion: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(
            "fusion: interrupted; continue with `fusion resume THREAD_ID` "
            "(the thread printed first)\n"
        )
        return 130
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
