"""Benchmark harness: external literature instances, generated communes, and the runner.

Run ``python -m benchmarks.run --help``. Nothing here is imported by the planner or the solver.
"""
