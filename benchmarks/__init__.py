"""`make bench`: the project's benchmarks, one module per job (see bench.py)."""
