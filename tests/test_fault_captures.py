"""The committed captures of chapter 08's faults obey the rules of the tests that wrote them.

The containers session and chapter 08's PostgreSQL tests rewrite these files
when they run; the pages include the committed copies. A hand edit that makes a
figure look better than any run could (a failure dropped, a write lost) fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

CAPTURES = Path(__file__).resolve().parents[1] / "captures"


def number(text: str, label: str) -> int:
    (found,) = re.findall(rf"^{re.escape(label)}:? (\d+)", text, re.MULTILINE)
    return int(found)


def test_a_killed_host_lost_no_acknowledged_write():
    text = (CAPTURES / "hosts-killed.txt").read_text()
    sent, failed = number(text, "writes sent"), number(text, "failed")
    acknowledged, stored = number(text, "acknowledged (201)"), number(text, "stored")
    writers = int(re.search(r"(\d+) writers", text).group(1))
    assert sent == acknowledged + failed
    # Every acknowledged write is stored; a failed one at most once.
    assert acknowledged <= stored <= acknowledged + failed
    assert failed <= writers  # at most the one request each writer had in flight
    assert "is DOWN" in text


def test_a_rolling_deploy_failed_no_request():
    text = (CAPTURES / "hosts-deploy.txt").read_text()
    assert number(text, "failed") == 0
    assert number(text, "writes sent") == number(text, "acknowledged (201)") > 0
    reasons = re.findall(r"the balancer: (\w+) is DOWN, reason: ([^,]+, code: \d+)", text)
    hosts = re.search(r"each host, stop to back in rotation: (.*)", text).group(1)
    assert sorted(host for host, _ in reasons) == sorted(re.findall(r"(\w+) [\d.]+ s", hosts))
    assert {reason for _, reason in reasons} == {"Layer7 wrong status, code: 503"}


def test_a_postgres_restart_answered_201_or_503_only():
    text = (CAPTURES / "postgres-restart.md").read_text()
    answered = int(re.search(r"writes answered in [\d.]+ s: (\d+)", text).group(1))
    created = int(re.search(r"201 Created: (\d+), all found in the database", text).group(1))
    unavailable = int(re.search(r"503 Service Unavailable: (\d+)", text).group(1))
    assert number(text.replace("  ", ""), "anything else") == 0
    assert answered == created + unavailable and created > 0


def test_a_killed_worker_lost_no_job_and_mailed_twice_only_what_it_held():
    text = (CAPTURES / "worker-killed.md").read_text()
    queued = int(re.search(r"reset requests queued: (\d+)", text).group(1))
    held = number(text, "jobs taken and not acknowledged at the kill")
    mailed = re.search(
        r"addresses mailed: (\d+) of (\d+); once: (\d+), twice: (\d+), never: (\d+)", text
    )
    addresses, of, once, twice, never = map(int, mailed.groups())
    assert addresses == of == queued and never == 0
    assert once + twice == queued and twice <= held
    worked = re.search(r"tokens that reset the password: (\d+), refused .*: (\d+)", text)
    assert tuple(map(int, worked.groups())) == (queued, twice)


def test_the_budget_adds_up():
    text = (CAPTURES / "db-budget.md").read_text()
    available = re.search(r"Available: max_connections (\d+) - \S+ (\d+) - \S+ (\d+) = (\d+)", text)
    most, reserved, more_reserved, left = map(int, available.groups())
    assert most - reserved - more_reserved == left
    needed = re.search(
        r"Needed: (\d+) hosts x (\d+) workers x \(POOL_SIZE (\d+) \+ POOL_MAX_OVERFLOW (\d+)\)"
        r" \+ (\d+) others = (\d+)",
        text,
    )
    hosts, workers, size, overflow, others, total = map(int, needed.groups())
    assert hosts * workers * (size + overflow) + others == total
    assert f"{left - total} to spare" in text
