"""The proofs runner catches a fix whose removal no test notices."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import proofs

MUTATION = """
[[mutation]]
fix = "{fix}"
chapters = ["01"]
guards = ["{guard}"]
[[mutation.change]]
file = "shout.py"
old = '{old}'
new = '{new}'
"""


@pytest.fixture
def chapter(tmp_path) -> Path:
    """A tiny chapter: one function, one test that depends on it, one that does not."""
    path = tmp_path / "01-tiny"
    (path / "tests").mkdir(parents=True)
    (path / "shout.py").write_text("def shout(word):\n    return word.upper() + '!'\n")
    (path / "tests" / "test_shout.py").write_text(
        "from shout import shout\n\n\n"
        "def test_shout_uppercases():\n    assert shout('hi') == 'HI!'\n\n\n"
        "def test_unrelated():\n    assert 1 + 1 == 2\n"
    )
    return path


def write_config(tmp_path: Path, **fields: str) -> Path:
    config = tmp_path / "proofs.toml"
    config.write_text(MUTATION.format(**fields))
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
    config = write_config(tmp_path, fix="uppercase", guard=guard, old="word.upper()", new="word")
    assert proofs.run(config, {"01": chapter}, jobs=1) == exit_code
    assert verdict in capsys.readouterr().out


def test_a_replacement_must_match_exactly_once(tmp_path, chapter):
    config = write_config(
        tmp_path,
        fix="typo",
        guard="tests/test_shout.py::test_shout_uppercases",
        old="word.lower()",
        new="word",
    )
    with pytest.raises(proofs.ProofError, match="0 matches"):
        proofs.run(config, {"01": chapter}, jobs=1)


def test_every_mutation_names_known_chapters_and_guard_files():
    from tools.chapters import chapters

    known = chapters()
    for mutation in proofs.load(proofs.CONFIG):
        for number in mutation.chapters:
            assert number in known, mutation.fix
            for guard in mutation.guards:
                assert (known[number] / guard.split("::")[0]).is_file(), (number, guard)
            for change in mutation.changes:
                text = (known[number] / change.file).read_text()
                assert text.count(change.old) == 1, (number, mutation.fix, change.old)
