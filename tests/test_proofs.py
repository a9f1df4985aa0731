"""The proofs runner: snippets anchored in functions, and a fix no test notices fails the run."""

from __future__ import annotations

import compileall
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tools import postgres as pg
from tools import proofs

SHOUT = """\
def shout(word):
    return word.upper() + '!'


def whisper(word):
    return word.lower() + '.'
"""

MUTATION = """
[[mutation]]
fix = "uppercase"
chapters = ["01"]
guards = ["{guard}"]
file = "shout.py"
function = "shout"
old = "{old}"
new = "word"
"""


@pytest.fixture
def chapter(tmp_path) -> Path:
    """A tiny chapter: two functions, a test that depends on one, a test that does not."""
    path = tmp_path / "01-tiny"
    (path / "tests").mkdir(parents=True)
    (path / "shout.py").write_text(SHOUT)
    (path / "tests" / "test_shout.py").write_text(
        "from shout import shout\n\n\n"
        "def test_shout_uppercases():\n    assert shout('hi') == 'HI!'\n\n\n"
        "def test_unrelated():\n    assert 1 + 1 == 2\n"
    )
    return path


def write_config(tmp_path: Path, guard: str, old: str = "word.upper()") -> Path:
    config = tmp_path / "proofs.toml"
    config.write_text(MUTATION.format(guard=guard, old=old))
    return config


@pytest.mark.parametrize(
    ("guard", "exit_code", "verdict"),
    [
        # A guard that depends on the fix fails without it: the fix is proven.
        ("tests/test_shout.py::test_shout_uppercases", 0, "proven    01  uppercase"),
        # A guard that passes without the fix proves nothing: the run fails.
        ("tests/test_shout.py::test_unrelated", 1, "SURVIVED  01  uppercase"),
    ],
)
def test_a_removal_is_proven_only_when_its_guard_fails(
    tmp_path, chapter, capsys, guard, exit_code, verdict
):
    config = write_config(tmp_path, guard)
    assert proofs.run(config, {"01": chapter}, jobs=1) == exit_code
    out = capsys.readouterr().out
    assert verdict in out
    if exit_code == 0:  # a proven run also says how long it took
        assert re.search(rf"^{re.escape(verdict)}  \(\d+\.\d s\)$", out, re.MULTILINE), out


def test_a_guard_that_fails_on_the_unchanged_chapter_stops_the_run(tmp_path, chapter, capsys):
    (chapter / "tests" / "test_shout.py").write_text(
        "from shout import shout\n\n\n"
        "def test_shout_uppercases():\n    assert shout('hi') == 'HI'\n"
    )
    config = write_config(tmp_path, "tests/test_shout.py::test_shout_uppercases")
    assert proofs.run(config, {"01": chapter}, jobs=1) == 1
    assert "guards fail with no fix removed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("function", "old", "matches"),
    [
        ("shout", "word.lower()", "0 matches"),
        # Both functions end with "+ ...": the file as a whole has it twice.
        ("", "word", "4 matches"),
        ("", "+", "2 matches"),
    ],
)
def test_a_snippet_must_match_exactly_once(function, old, matches):
    change = proofs.Change(file="shout.py", function=function, old=old, new="x")
    with pytest.raises(proofs.ProofError, match=matches):
        proofs.mutate(SHOUT, change, "01")


def test_the_function_makes_a_snippet_unique():
    change = proofs.Change(file="shout.py", function="whisper", old="+", new="*")
    assert "return word.lower() * '.'" in proofs.mutate(SHOUT, change, "01")
    assert "return word.upper() + '!'" in proofs.mutate(SHOUT, change, "01")


def test_an_unknown_function_is_an_error():
    change = proofs.Change(file="shout.py", function="Shouter.shout", drop="return")
    with pytest.raises(proofs.ProofError, match="0 definitions of 'Shouter'"):
        proofs.mutate(SHOUT, change, "01")


def test_a_snippet_is_re_anchored_after_edits_and_reformatting():
    """Code added above, a rename elsewhere, line breaks inside the call: same mutation."""
    edited = (
        "import os\n\n\n"
        "class Shouter:\n"
        "    def shout(self, word):\n"
        "        return os.fspath(\n"
        "            word\n"
        "        ).upper(\n"
        "        ) + '!'\n\n\n"
        "def murmur(word):\n    return word.lower() + '.'\n"
    )
    change = proofs.Change(
        file="shout.py", function="Shouter.shout", old="fspath(word).upper()", new="fspath(word)"
    )
    mutated = proofs.mutate(edited, change, "01")
    assert "        return os.fspath(word) + '!'\n" in mutated
    assert mutated.replace("        return os.fspath(word) + '!'\n", "") == edited.replace(
        "        return os.fspath(\n            word\n        ).upper(\n        ) + '!'\n", ""
    )


def test_a_snippet_does_not_match_inside_a_longer_name():
    source = "def f(x):\n    return reword(x) + word(x)\n"
    change = proofs.Change(file="f.py", function="f", old="word(x)", new="x")
    assert proofs.mutate(source, change, "01") == "def f(x):\n    return reword(x) + x\n"


def test_drop_turns_the_whole_statement_into_pass():
    source = (
        "def close(db):\n"
        "    if db is not None:\n"
        "        db.close(  # a comment\n"
        "            now=True,\n"
        "        )\n"
        "    return db\n"
    )
    change = proofs.Change(file="db.py", function="close", drop="db.close(")
    assert proofs.mutate(source, change, "01") == (
        "def close(db):\n    if db is not None:\n        pass\n    return db\n"
    )


def test_a_new_block_takes_the_indentation_of_its_place():
    source = "def f(x):\n    if x:\n        return 1\n    return 2\n"
    change = proofs.Change(
        file="f.py", function="f", old="return 1", new="y = x\nif y:\n    return 3"
    )
    assert proofs.mutate(source, change, "01") == (
        "def f(x):\n    if x:\n        y = x\n        if y:\n            return 3\n    return 2\n"
    )


def test_a_change_needs_old_and_new_or_drop(tmp_path):
    config = tmp_path / "proofs.toml"
    config.write_text(
        '[[mutation]]\nfix = "f"\nchapters = ["01"]\nguards = ["t"]\nfile = "a.py"\nold = "x"\n'
    )
    with pytest.raises(proofs.ProofError, match="either old and new, or drop"):
        proofs.load(config)


def test_every_mutation_applies_to_its_chapters():
    """Cheap check of the real list: chapters and guard files exist, every change applies."""
    from tools.chapters import chapters

    known = chapters()
    for mutation in proofs.load(proofs.CONFIG):
        for number in mutation.chapters:
            assert number in known, mutation.fix
            for guard in mutation.guards:
                assert (known[number] / guard.split("::")[0]).is_file(), (number, guard)
            texts: dict[str, str] = {}
            for change in mutation.changes:
                text = texts.get(change.file) or (known[number] / change.file).read_text()
                texts[change.file] = proofs.mutate(text, change, number)


def test_one_fix_may_be_removed_in_two_ways(tmp_path, chapter, capsys):
    config = write_config(tmp_path, "tests/test_shout.py::test_shout_uppercases")
    second = MUTATION.format(guard="tests/test_shout.py::test_shout_uppercases", old="+ '!'")
    config.write_text(config.read_text() + second.replace('new = "word"', 'new = ""'))
    assert proofs.run(config, {"01": chapter}, jobs=2) == 0
    assert "2 of 2 removals caught" in capsys.readouterr().out


def test_a_guard_that_fails_for_want_of_the_entrys_settings_proves_nothing(tmp_path, chapter):
    # A guard needing a server the machine lacks fails whatever was removed: the
    # unchanged chapter is checked with the entry's settings too.
    (chapter / "tests" / "test_server.py").write_text(
        "import os\n\nfrom shout import shout\n\n\n"
        "def test_shout_against_the_server():\n"
        "    assert os.environ.get('SERVER', 'up') != 'down'\n"
        "    assert shout('hi') == 'HI!'\n"
    )
    config = write_config(tmp_path, "tests/test_server.py::test_shout_against_the_server")
    config.write_text(
        config.read_text().replace("[[mutation]]\n", '[[mutation]]\nenv = { SERVER = "down" }\n', 1)
    )
    with pytest.raises(proofs.ProofError, match="guards fail with no fix removed"):
        proofs.run(config, {"01": chapter}, jobs=1)


def test_a_postgres_entry_runs_each_guard_run_in_a_new_database(
    tmp_path, chapter, capsys, monkeypatch
):
    # The guard notes which database it ran in, and leaves a table there.
    (chapter / "tests" / "test_database.py").write_text(
        "import os\n\nimport sqlalchemy as sa\n\nfrom shout import shout\n\n\n"
        "def test_shout_in_a_database():\n"
        "    url = os.environ.get('TEST_DATABASE_URL')\n"
        "    if url:\n"
        "        engine = sa.create_engine(url)\n"
        "        with engine.begin() as connection:\n"
        "            connection.execute(sa.text('CREATE TABLE mine (id int)'))\n"
        "            name = connection.scalar(sa.text('SELECT current_database()'))\n"
        "        engine.dispose()\n"
        "        with open(os.environ['SEEN'], 'a') as seen:\n"
        "            print(name, file=seen)\n"
        "    assert shout('hi') == 'HI!'\n"
    )
    config = write_config(tmp_path, "tests/test_database.py::test_shout_in_a_database")
    marked = config.read_text().replace("[[mutation]]\n", "[[mutation]]\npostgres = true\n")
    config.write_text(marked)
    seen = tmp_path / "seen"
    monkeypatch.setenv("SEEN", str(seen))
    with pg.throwaway_server() as server:
        monkeypatch.setenv("TEST_DATABASE_URL", server.url)
        assert proofs.run(config, {"01": chapter}, jobs=1) == 0
        left = pg.scalar(server.url, "SELECT count(*) FROM pg_database WHERE datname LIKE 'test_%'")
    # The unchanged copy, then the mutated one: two databases, both dropped afterwards.
    names = seen.read_text().split()
    assert len(names) == 2 and len(set(names)) == 2 and "test" not in names
    assert left == 0
    assert "1 of 1 removals caught" in capsys.readouterr().out


def test_a_postgres_entrys_guard_left_out_on_sqlite_is_proven_on_postgresql(
    tmp_path, chapter, capsys, monkeypatch
):
    # A chapter may leave PostgreSQL-only tests out of a run without a server:
    # such a guard is checked unchanged on PostgreSQL, not in the SQLite baseline.
    (chapter / "tests" / "conftest.py").write_text(
        "import os\n\n\n"
        "def pytest_collection_modifyitems(config, items):\n"
        "    if not os.environ.get('TEST_DATABASE_URL'):\n"
        "        config.hook.pytest_deselected(items=items[:])\n"
        "        items[:] = []\n"
    )
    config = write_config(tmp_path, "tests/test_shout.py::test_shout_uppercases")
    marked = config.read_text().replace("[[mutation]]\n", "[[mutation]]\npostgres = true\n")
    config.write_text(marked)
    with pg.throwaway_server() as server:
        monkeypatch.setenv("TEST_DATABASE_URL", server.url)
        assert proofs.run(config, {"01": chapter}, jobs=1) == 0
    assert "1 of 1 removals caught" in capsys.readouterr().out


# --- how guard runs are started: a forked child of the pytest server, or --fresh


@pytest.mark.parametrize("fresh", [False, True], ids=["server", "fresh"])
def test_both_ways_of_running_pytest_give_the_same_verdicts(tmp_path, chapter, capsys, fresh):
    config = write_config(tmp_path, "tests/test_shout.py::test_shout_uppercases")
    # The second removal changes nothing the guard looks at: it must be reported.
    config.write_text(
        config.read_text()
        + MUTATION.format(guard="tests/test_shout.py::test_shout_uppercases", old="return")
        .replace('function = "shout"', 'function = "whisper"')
        .replace('new = "word"', 'new = "return"')
    )
    assert proofs.run(config, {"01": chapter}, jobs=2, fresh=fresh) == 1
    out = capsys.readouterr().out
    assert "proven    01  uppercase" in out
    assert "SURVIVED  01  uppercase" in out
    assert "1 of 2 removals caught" in out


def test_each_child_imports_the_code_of_its_own_folder(tmp_path):
    # Two folders with the same module name and different code, run one after the
    # other by one server: each run sees its own (nothing is kept from the last).
    runs = {}
    with_server = proofs.PytestServer.start(tmp_path)
    try:
        for word in ("one", "two"):
            folder = tmp_path / word
            (folder / "tests").mkdir(parents=True)
            (folder / "blog.py").write_text(f"WORD = {word!r}\n")
            (folder / "tests" / "test_word.py").write_text(
                f"import blog\n\n\ndef test_word():\n    assert blog.WORD == {word!r}\n"
            )
            runs[word] = proofs.run_guards(
                folder, ["tests/test_word.py::test_word"], {}, pytest=with_server
            )
    finally:
        with_server.stop()
    passed = {"tests/test_word.py::test_word": False}
    assert runs == {"one": passed, "two": passed}


def test_a_mutated_file_is_compiled_again_whatever_its_time(tmp_path, chapter):
    # The unchanged copy has run and left its bytecode; the copy for a mutation
    # takes it. A change of the same length written within the same second as
    # the original would look up to date to Python: its bytecode must go.
    unchanged = proofs.copy_chapter(chapter, tmp_path / "unchanged")
    assert compileall.compile_dir(unchanged, quiet=1)
    copy = proofs.copy_chapter(chapter, tmp_path / "copy", bytecode=unchanged)
    assert list((copy / "__pycache__").glob("shout.*.pyc"))
    source = copy / "shout.py"
    before = source.stat()
    mutation = proofs.load(write_config(tmp_path, "tests/test_shout.py::x"))[0]
    mutation.changes[0] = proofs.Change("shout.py", "shout", "word.upper()", "word.lower()")
    proofs.apply(copy, mutation)
    os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert source.stat().st_size == before.st_size
    shouted = subprocess.run(
        [sys.executable, "-c", "import shout; print(shout.shout('Hi'))"],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert shouted == "hi!\n"


def test_a_run_that_dies_is_an_error_not_a_verdict(tmp_path, chapter):
    (chapter / "tests" / "test_dies.py").write_text(
        "import os\nimport signal\n\n\ndef test_dies():\n    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    with_server = proofs.PytestServer.start(tmp_path)
    try:
        with pytest.raises(proofs.ServerError, match="ended without a result"):
            proofs.run_guards(chapter, ["tests/test_dies.py::test_dies"], {}, pytest=with_server)
    finally:
        with_server.stop()


def test_a_run_past_its_time_is_stopped_with_what_it_started(tmp_path, chapter):
    (chapter / "tests" / "test_hangs.py").write_text(
        "import subprocess\nimport sys\nimport time\n\n\n"
        "def test_hangs():\n"
        "    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        "    time.sleep(600)\n"
    )
    with_server = proofs.PytestServer.start(tmp_path)
    try:
        with pytest.raises(proofs.ServerError, match="no result in 5 s") as stopped:
            with_server.run(chapter, ["tests/test_hangs.py"], dict(os.environ), tmp_path / "o", 5)
    finally:
        with_server.stop()
    group = int(re.search(r"process group (\d+)", str(stopped.value))[1])
    # The run and the process it started were in one group, killed at once.
    for _ in range(300):
        if not alive(lambda: os.killpg(group, 0)) and not alive(lambda: os.kill(group, 0)):
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"process group {group} still runs")


def alive(signal_zero) -> bool:
    try:
        signal_zero()
    except ProcessLookupError:
        return False
    return True
