"""Half-sent requests hold gunicorn's sync workers until the worker timeout kills them."""

import re

from pitfalls import run_demo

ANSWERED = re.compile(r"^GET /healthz -> 200, answered in (\d+\.\d) s$", re.MULTILINE)


def waits(out: str) -> list[float]:
    """The seconds each timed ``GET /healthz`` took, in order."""
    return [float(seconds) for seconds in ANSWERED.findall(out)]


def held_by_the_default_timeout(out: str) -> None:
    *before, held = waits(out)
    assert len(before) == 2
    # The clock starts half a second after the slow clients connected.
    assert held >= 29.5, out
    assert "gunicorn's log says WORKER TIMEOUT: yes" in out


def bounded_by_the_shipped_timeout(out: str) -> None:
    assert "$ gunicorn --bind 127.0.0.1:" in out and "--timeout" not in out
    *before, held = waits(out)
    assert len(before) == 2
    # Under the default's 30 s: the shipped file's setting is what ended the wait.
    assert 9.5 <= held < 29.5, out
    assert "gunicorn's log says WORKER TIMEOUT: yes" in out


# The same rules for the committed captures: `tools.capture --check` applies them,
# since its comparison masks the seconds.
CAPTURE_RULES = {
    "slow-clients-default": held_by_the_default_timeout,
    "slow-clients-shipped": bounded_by_the_shipped_timeout,
}


def test_with_the_default_timeout_a_quick_request_waits_30_seconds():
    held_by_the_default_timeout(run_demo("slow-clients-default"))


def test_the_shipped_timeout_of_10_seconds_bounds_the_wait():
    bounded_by_the_shipped_timeout(run_demo("slow-clients-shipped"))
