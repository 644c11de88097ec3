"""Fusion's benchmarks: what a fused run costs above its critical path.

Every script runs against the scripted local servers of `tests/fixtures` with set
latencies and prints ratios measured in the same run (median of `--runs` runs after
a warm-up), never absolute claims. `python -m bench` runs them all; `python -m bench
overhead` (or checkpoints, straggler, concurrency, ttft, startup) runs one.
"""
