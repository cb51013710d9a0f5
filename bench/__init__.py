"""Benchmarks: Lingpao's hot paths as ratios to a bare Sanic app measured in the same run."""
