"""Benchmarks: our engine against ``transformers`` ``generate``, measured in one process."""
