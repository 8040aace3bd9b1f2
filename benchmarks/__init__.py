"""Benchmarks for issue 7: the raw floor vs `consoleme-assets refresh` (see benchmarks/README.md)."""
