"""Fusion's foundations: what every tool, node and face shares.

The run's `Context` and state schema, settings and providers, prices and usage,
the cost estimate and budget, the run plan, failure reasons, progress events and
errors. Nothing here imports `fusion.tools`, `fusion.nodes`, `fusion.graph` or the
face (`fusion.api`, CLI, serve, eval): imports go one way, from here upwards.
"""
