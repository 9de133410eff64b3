"""Reproducible speed, accuracy and memory measurements of the engine, with their baselines.

Run everything with ``python -m benchmarks`` (``make bench``); see ``benchmarks/README.md``.
Each module ``bench_*.py`` exposes ``run(quick: bool) -> list[Record]``; targets are ratios
measured side by side in one run (never wall-clock thresholds in the tests).
"""
