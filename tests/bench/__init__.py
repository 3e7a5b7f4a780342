"""Throughput, latency and CPU benchmark of the adapter against a fake Gemini upstream.

Run with `python -m tests.bench.run` (or `make bench`); see README.md in this folder.
"""
