"""The job-queue comparison's capture was measured on the code that is in the repository.

captures/jobs-compare.json records a digest of every file under bench/jobs/; a change
to a task module or to the driver without a new run (``nox -s jobs-compare``) fails
here, so the decision page never shows numbers of code that no longer exists.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.jobs import compare

CAPTURE = Path(__file__).resolve().parents[1] / "captures" / "jobs-compare.json"


def test_capture_matches_the_code() -> None:
    recorded = json.loads(CAPTURE.read_text())
    assert recorded["digest"] == compare.digest(), (
        "bench/jobs/ changed since captures/jobs-compare.* was written: "
        "run `python3 noxfile.py -s jobs-compare`"
    )


def test_capture_covers_every_variant_in_every_round() -> None:
    recorded = json.loads(CAPTURE.read_text())
    assert list(recorded["libraries"]) == list(compare.VARIANTS)
    assert recorded["rounds"] >= 3
    for name, row in recorded["libraries"].items():
        assert len(row["rounds"]) == recorded["rounds"], name
        for numbers in row["rounds"]:
            assert numbers["jobs_per_s"] > 0
            # Where a kill was measured, it was: the job ran at least once before it.
            if compare.VARIANTS[name].killed:
                assert numbers["runs"] >= 1, name
