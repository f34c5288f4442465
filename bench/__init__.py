"""Small benchmarks, runnable as `.venv/bin/python -m bench.<name>`."""
