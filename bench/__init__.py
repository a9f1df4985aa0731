"""The load benchmark: ``python -m bench.run`` (or ``nox -s bench``) from the repository root."""
