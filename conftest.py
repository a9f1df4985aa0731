"""pytest loads this file first, which puts the repository root on ``sys.path``:
the root tests can ``import tools``."""
