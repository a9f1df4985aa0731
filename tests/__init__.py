"""Repository checks (run by ``nox -s repo``); a package so ``tools`` imports from the root."""
