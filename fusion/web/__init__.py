"""The web page: ask the panel, watch it deliberate, read a run side by side.

Server-rendered (Jinja2 templates) with one small hand-written script for the live
parts (EventSource and fetch), shipped as package data: `pip install` is all it
needs, no Node toolchain. `fusion.serve.app` mounts it at `/` beside `/v1`.
"""
