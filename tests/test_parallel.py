"""`python3 noxfile.py`: sessions a few at a time, each log printed whole, then a table."""

from __future__ import annotations

import re
import sys

from tools import parallel

# A stand-in for `nox -s NAME`: "slow" writes twice with a pause between, "bad" fails,
# "busy" has a child of its own spend 0.3 s of CPU (as nox runs pytest).
FAKE_NOX = [
    sys.executable,
    "-c",
    "import subprocess, sys, time\n"
    "name = sys.argv[1]\n"
    "burn = 'while time.process_time() < 0.3: pass'\n"
    "if name == 'busy': subprocess.run([sys.executable, '-c', 'import time\\n' + burn])\n"
    "print(name, 'begins', flush=True)\n"
    "time.sleep(1.5 if name == 'slow' else 0.1)\n"
    "print(name, 'ends', flush=True)\n"
    "sys.exit(name == 'bad')\n",
]


def test_each_log_is_printed_whole_and_a_failure_is_named(tmp_path, capsys):
    sessions = ["fast", "bad", "slow", "bench"]
    code = parallel.run_commands(FAKE_NOX, sessions, 3, ["slow"], ["bench"], tmp_path)
    out = capsys.readouterr().out
    assert code == 1
    # All three ran at once: the slow one started first yet printed last of them.
    blocks = re.findall(r"===== (\w+): (\w+) in \d+ s \(.+\)\n(\w+) begins\n(\w+) ends\n", out)
    names = [block[0] for block in blocks]
    assert set(names[:2]) == {"fast", "bad"} and names[2:] == ["slow", "bench"]
    assert all(name == begun == ended for name, _, begun, ended in blocks)
    results = {name: result for name, result, _, _ in blocks}
    assert results == {"fast": "passed", "bad": "FAILED", "slow": "passed", "bench": "passed"}
    assert (tmp_path / "slow.log").read_text() == "slow begins\nslow ends\n"
    # The table: one row per session, then the failed ones named.
    assert re.search(r"^bad +FAILED +\d+ +\d+$", out, re.MULTILINE)
    assert re.search(r"^slow +passed +\d+ +\d+$", out, re.MULTILINE)
    assert out.splitlines()[-1].endswith("Failed: bad")


def test_one_at_a_time_and_all_passed(tmp_path, capsys):
    code = parallel.run_commands(FAKE_NOX, ["slow", "fast"], 1, [], [], tmp_path)
    out = capsys.readouterr().out
    assert code == 0
    assert out.index("===== slow") < out.index("===== fast")
    assert out.splitlines()[-1].endswith("All passed.")


def test_the_longest_start_first_and_the_rest_keep_their_order():
    assert parallel.in_order(["a", "b", "c", "d"], ["c", "a"]) == ["c", "a", "b", "d"]


def test_jobs_come_from_the_arguments_or_the_environment(monkeypatch):
    monkeypatch.delenv("NOX_JOBS", raising=False)
    assert parallel.jobs_asked([]) == (None, [])
    assert parallel.jobs_asked(["--jobs", "4"]) == (4, [])
    assert parallel.jobs_asked(["--jobs=2"]) == (2, [])
    assert parallel.jobs_asked(["-s", "lint"]) == (None, ["-s", "lint"])
    monkeypatch.setenv("NOX_JOBS", "5")
    assert parallel.jobs_asked([]) == (5, [])


def test_the_table_gives_the_cpu_time_of_each_session_and_its_children(tmp_path, capsys):
    code = parallel.run_commands(FAKE_NOX, ["busy", "slow"], 2, [], [], tmp_path)
    out = capsys.readouterr().out
    assert code == 0
    # "busy" spent its CPU in a child it waited for; "slow" mostly slept.
    ended = re.findall(r"===== (\w+): passed in \d+ s \(([\d.]+) s CPU", out)
    cpu = {name: float(seconds) for name, seconds in ended}
    assert set(cpu) == {"busy", "slow"}
    assert cpu["slow"] < 0.3 <= cpu["busy"]
    assert re.search(r"2 sessions in \d+ s, \d+ s CPU\. All passed\.$", out)
