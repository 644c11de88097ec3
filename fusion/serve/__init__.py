"""`fusion serve`: the OpenAI chat-completions API in front of the panel.

Any OpenAI client switches to a fused answer by changing `base_url` and `model`.
Kept apart from the core so that FastAPI, uvicorn and sse-starlette (the `serve`
extra) are imported only when the server is used.
"""
