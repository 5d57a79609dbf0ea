"""Benchmarks of mlcicd against the limits: ``python -m benchmarks`` (``make bench``)."""
