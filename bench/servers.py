"""The scripted servers in a child process: `python -m bench.servers --scale S`.

Under load (100 runs at once) the scripted servers' threads would compete with the
run under test for this process's GIL; in a child they don't. Prints one JSON line
(`{"llm": base_url, "web": origin}`) once serving, and stops when stdin closes.
"""

from __future__ import annotations

import argparse
import json
import sys

from bench.scripted import script
from tests.fixtures.llm_server import ScriptedLLMServer
from tests.fixtures.web_server import ScriptedWebServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--search-s", type=float, required=True)
    parser.add_argument("--fetch-s", type=float, required=True)
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between chunks")
    args = parser.parse_args()
    llm, web = ScriptedLLMServer(), ScriptedWebServer()
    llm.chunk_delay = args.chunk_delay
    script(llm, web, args.search_s, args.fetch_s)
    print(json.dumps({"llm": llm.base_url, "web": web.origin}), flush=True)
    sys.stdin.read()  # until the parent closes our stdin (or dies)
    llm.stop()
    web.stop()


if __name__ == "__main__":
    main()
