"""`fusion serve`: the OpenAI-compatible endpoint, under uvicorn."""

from __future__ import annotations

import argparse
import logging
import os
import sys

LOOPBACK = ("127.0.0.1", "localhost", "::1")
SERVE_EXTRA = ("fastapi", "starlette", "uvicorn", "sse_starlette")
MISSING_EXTRA = 'fusion serve needs the serve extra: pip install "fusion-panel[serve]"\n'


def path_only(record: logging.LogRecord) -> bool:
    """uvicorn's access log line without the query string (it can carry keys, tokens
    or a user's text); bodies are never logged."""
    args = record.args
    if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
        record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
    return True


def serve(args: argparse.Namespace) -> int:
    """Run until interrupted; FastAPI and uvicorn are imported only here."""
    try:
        import uvicorn

        from fusion.serve.app import create_app
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in SERVE_EXTRA:
            raise
        sys.stderr.write(MISSING_EXTRA)
        return 2
    from fusion.core.settings import load_settings

    load_settings()  # a broken config file fails now, in one line, not on every request
    if not os.environ.get("FUSION_SERVER_API_KEY") and args.host not in LOOPBACK:
        sys.stderr.write(
            f"fusion serve: warning: {args.host} is reachable by others and "
            "FUSION_SERVER_API_KEY is not set: anyone who can connect spends your "
            "provider credit\n"
        )
    config = uvicorn.Config(
        create_app(db=args.db), host=args.host, port=args.port, log_level=args.log_level
    )
    logging.getLogger("uvicorn.access").addFilter(path_only)  # after uvicorn set up logging
    from fusion.serve.heap import settle

    settle()  # this process is the server's alone: freeze start-up's heap (see heap.py)
    uvicorn.Server(config).run()
    return 0
