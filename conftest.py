"""Pytest run from the repository root: this file puts the root on sys.path.

A rootdir conftest.py outside any package makes pytest (prepend import mode)
insert its folder into sys.path, so tests import the helpers as ``tools.docs_hooks``
without patching sys.path themselves.
"""
