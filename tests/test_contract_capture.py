"""The contract comparison's capture was measured on the code that is in the repository.

captures/contract-compare.json records a digest of every file under bench/contract/;
a change to a variant without a new run (``nox -s contract-compare``) fails here,
so the decision page never shows numbers of code that no longer exists.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.contract import compare

CAPTURE = Path(__file__).resolve().parents[1] / "captures" / "contract-compare.json"


def test_capture_matches_the_variants() -> None:
    recorded = json.loads(CAPTURE.read_text())
    assert recorded["digest"] == compare.variant_hash(), (
        "bench/contract/ changed since captures/contract-compare.* was written: "
        "run `python3 noxfile.py -s contract-compare`"
    )


def test_capture_covers_every_variant_and_check() -> None:
    recorded = json.loads(CAPTURE.read_text())
    assert list(recorded["variants"]) == compare.VARIANTS
    for row in recorded["variants"].values():
        assert row["schemathesis"]["generated"] > 0  # schemathesis ran, with examples
        assert row["errors"]["cases"] == len(compare.BAD_INPUT)
