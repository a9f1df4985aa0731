"""Makes the repository root importable in every pytest run started from here.

pytest puts the folder of a root-level conftest.py on ``sys.path``, so tests
import ``tools`` and ``bench`` as packages, as ``python -m`` does, with no path
patches of their own.
"""
