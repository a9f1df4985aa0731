"""The WSGI entry point for one variant: ``gunicorn bench.contract.serve:app``.

CONTRACT_VARIANT names the variant's folder; CONTRACT_TOKEN is the bearer
token of the seeded user "ada" (compare.py makes one per run).
"""

from __future__ import annotations

import importlib
import os

from bench.contract.store import seeded

variant = importlib.import_module(f"bench.contract.{os.environ['CONTRACT_VARIANT']}.app")
app = variant.create_app(seeded(os.environ["CONTRACT_TOKEN"]))
