"""The docs and the chapters cannot drift apart.

* No page types Python code: every Python block is an include of a real file.
* Every include names a file that exists and, if given, a section that exists.
* Every section marked in a chapter file is shown by some page (or listed in
  NOT_FOR_DOCS with a reason).
* A broken include path or section name makes ``mkdocs build --strict`` fail.
* The generated diffs and version stamps really come from the files.

Runs under ``nox -s repo`` (needs the docs requirements and pytest).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
sys.path.insert(0, str(ROOT / "tools"))
import docs_hooks  # noqa: E402

# Sections marked in chapter files that no page needs to show. Key:
# "chapters/<chapter>/<path>:<section>", value: why it is not in the docs.
NOT_FOR_DOCS: dict[str, str] = {
    "chapters/01-minimal/tests/test_bad_input.py:unexpected": (
        "chapter 03's copy is shown; this one only patches app.get_db instead"
    ),
    "chapters/02-factory/tests/test_bad_input.py:unexpected": (
        "chapter 03's copy is shown; this one only patches db.session.get instead of Session.get"
    ),
    "chapters/02-factory/tests/test_factory.py:debug_off": (
        "chapter 03's copy is shown; this one only disposes the engine through a helper"
    ),
}

PYTHON_LANGS = {"python", "py", "python3", "py3", "pycon", "pyi", "ipython"}
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`]*)$")
INCLUDE = re.compile(r"""^[ \t]*-{1,}8<-{1,}[ \t]+(?P<q>["'])(?P<target>.+?)(?P=q)[ \t]*$""")
BLOCK_INCLUDE = re.compile(r"^[ \t]*-{1,}8<-{1,}[ \t]*$")
SECTION_MARK = re.compile(
    r"-{1,}8<-{1,}[ \t]+\[[ \t]*(start|end)[ \t]*:[ \t]*([A-Za-z][-_0-9A-Za-z]*)"
)


def pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@dataclass(frozen=True)
class Include:
    page: str
    line: int
    target: str

    @property
    def path(self) -> str:
        return split_target(self.target)[0]

    @property
    def section(self) -> str | None:
        return split_target(self.target)[1]

    @property
    def line_range(self) -> bool:
        return split_target(self.target)[2]


def split_target(target: str) -> tuple[str, str | None, bool]:
    """'a/b.py:name' -> ('a/b.py', 'name', False); 'a/b.py:3:9' -> ('a/b.py', None, True)."""
    match = re.fullmatch(r"(.*?)((?::-?\d*){1,2}(?:,-?\d*(?::-?\d*)?)*)?", target)
    if match and match[2]:
        return match[1], None, True
    path, _, section = target.rpartition(":")
    if path and re.fullmatch(r"[A-Za-z][-_0-9A-Za-z]*", section):
        return path, section, False
    return target, None, False


def includes_in(text: str, page: str) -> list[Include]:
    found = []
    in_block = False
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith(";"):
            continue  # an escaped include is shown as text
        if BLOCK_INCLUDE.match(line):
            in_block = not in_block
            continue
        if in_block:
            if line.strip() and not line.strip().startswith(";"):
                found.append(Include(page, number, line.strip()))
            continue
        match = INCLUDE.match(line)
        if match:
            found.append(Include(page, number, match["target"]))
    return found


def all_includes() -> list[Include]:
    out = []
    for page in pages():
        out.extend(includes_in(page.read_text("utf-8"), rel(page)))
    return out


def marked_sections() -> dict[str, set[str]]:
    """{'chapters/03-plain-sqlalchemy/blog/db.py': {'session', ...}} for every chapter file."""
    found: dict[str, set[str]] = {}
    for chapter in sorted((ROOT / "chapters").iterdir()):
        if not chapter.is_dir():
            continue
        for name in docs_hooks.chapter_files(chapter):
            path = chapter / name
            try:
                text = path.read_text("utf-8")
            except UnicodeDecodeError:
                continue
            names = {m[2] for m in SECTION_MARK.finditer(text) if m[1] == "start"}
            if names:
                found[rel(path)] = names
    return found


@pytest.fixture(scope="module", autouse=True)
def generated_diffs():
    """Includes of generated/ need the hook's output, as in a real build."""
    docs_hooks.generate(ROOT)


# --------------------------------------------------------------------------- no typed Python


def python_blocks(text: str) -> list[tuple[int, list[str]]]:
    """(line number, body lines) of every fenced block whose language is Python."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, info = match["fence"], match["info"].strip()
        lang = re.split(r"[\s{}]", info.lstrip("{").lstrip("."), maxsplit=1)[0].lower()
        start, body = i + 1, []
        i += 1
        while i < len(lines):
            closing = FENCE.match(lines[i])
            if closing and closing["fence"][0] == fence[0] and len(closing["fence"]) >= len(fence):
                if not closing["info"].strip():
                    break
            body.append(lines[i])
            i += 1
        i += 1
        if lang in PYTHON_LANGS:
            blocks.append((start, body))
    return blocks


def test_the_fence_parser_finds_typed_python():
    """The check below must be able to fail: it sees typed code, even indented in a tab."""
    sample = (
        '=== "Tab"\n\n    ```python\n    import os\n    ```\n\n'
        '```py title="x"\n--8<-- "chapters/01-minimal/hello.py:hello"\n```\n'
    )
    blocks = python_blocks(sample)
    assert [body for _, body in blocks] == [
        ["    import os"],
        ['--8<-- "chapters/01-minimal/hello.py:hello"'],
    ]


@pytest.mark.parametrize("page", pages(), ids=rel)
def test_no_python_typed_into_a_page(page):
    typed = []
    for start, body in python_blocks(page.read_text("utf-8")):
        for offset, line in enumerate(body):
            if line.strip() and not INCLUDE.match(line):
                typed.append(f"{rel(page)}:{start + offset + 1}: {line.strip()}")
    assert not typed, "Python typed into a page; include it from a chapter file:\n" + "\n".join(
        typed
    )


# --------------------------------------------------------------------------- includes resolve


def test_pages_include_code():
    """Guards the tests below against passing on an empty list."""
    targets = {inc.target for inc in all_includes()}
    assert "chapters/03-plain-sqlalchemy/blog/db.py:session" in targets
    assert any(t.startswith("generated/diffs/02-to-03/") for t in targets)


@pytest.mark.parametrize("include", all_includes(), ids=lambda i: f"{i.page}:{i.line}")
def test_include_exists(include):
    path = ROOT / include.path
    assert path.is_file(), f"{include.page}:{include.line}: no file {include.path}"
    if include.section:
        text = path.read_text("utf-8")
        starts = {m[2] for m in SECTION_MARK.finditer(text) if m[1] == "start"}
        ends = {m[2] for m in SECTION_MARK.finditer(text) if m[1] == "end"}
        assert include.section in starts, (
            f"{include.page}:{include.line}: no section [start:{include.section}] in {include.path}"
        )
        assert include.section in ends, (
            f"{include.page}:{include.line}: section {include.section} is never ended"
        )


@pytest.mark.parametrize("include", all_includes(), ids=lambda i: f"{i.page}:{i.line}")
def test_chapter_code_is_included_by_section_not_line_numbers(include):
    """Line ranges drift when a file changes; named sections do not."""
    if include.path.startswith("chapters/"):
        assert not include.line_range, (
            f"{include.page}:{include.line}: use a named section instead of {include.target}"
        )


def same_section_elsewhere(path: str, section: str, shown: set) -> str | None:
    """A shown section of the same name, in the same file of another chapter, with
    exactly the same code (markers aside). Chapters keep identical markers in files
    they share, so the chapter diffs carry no marker noise; the docs show one copy."""
    parts = path.split("/", 2)  # chapters/<chapter>/<file>
    text = docs_hooks.read_part(ROOT / parts[0] / parts[1], f"{parts[2]}:{section}")
    for other_path, other_section in shown:
        other = other_path.split("/", 2)
        if other_section != section or other_path == path or len(other) < 3:
            continue
        if other[0] == "chapters" and other[2] == parts[2]:
            try:
                if (
                    docs_hooks.read_part(ROOT / other[0] / other[1], f"{other[2]}:{section}")
                    == text
                ):
                    return other_path
            except (OSError, KeyError):
                continue
    return None


def test_every_marked_section_is_shown_somewhere():
    shown = {(inc.path, inc.section) for inc in all_includes()}
    whole_files = {path for path, section in shown if section is None}
    missing = []
    for path, sections in marked_sections().items():
        if path in whole_files:
            continue  # the page shows the whole file, every section with it
        for section in sorted(sections):
            key = f"{path}:{section}"
            if (path, section) in shown or key in NOT_FOR_DOCS:
                continue
            if same_section_elsewhere(path, section, shown):
                continue
            missing.append(key)
    assert not missing, (
        "Sections marked for the docs that no page includes, and that are not an exact "
        "copy of a section some page includes (include them, or add them to NOT_FOR_DOCS "
        "with a reason):\n" + "\n".join(missing)
    )


def test_allow_list_is_not_stale():
    marked = {f"{p}:{s}" for p, names in marked_sections().items() for s in names}
    stale = sorted(set(NOT_FOR_DOCS) - marked)
    assert not stale, f"NOT_FOR_DOCS names sections that do not exist: {stale}"
    assert all(reason.strip() for reason in NOT_FOR_DOCS.values())


# --------------------------------------------------------------------------- generated content


def test_diff_is_computed_from_the_chapter_files():
    """A line that only chapter 03's db.py has shows up as an added line of the diff."""
    old = (ROOT / "chapters/02-factory/blog/db.py").read_text("utf-8").splitlines()
    new = (ROOT / "chapters/03-plain-sqlalchemy/blog/db.py").read_text("utf-8").splitlines()
    only_new = [x for x in new if x.strip() and x not in old and not SECTION_MARK.search(x)]
    only_old = [x for x in old if x.strip() and x not in new and not SECTION_MARK.search(x)]
    assert only_new and only_old, "02 and 03 db.py should differ"
    diff = (ROOT / "generated/diffs/02-to-03/files/blog/db.py.diff").read_text("utf-8")
    diff_lines = diff.splitlines()
    for line in only_new:
        assert "+" + line in diff_lines
    for line in only_old:
        assert "-" + line in diff_lines
    assert "8<" not in diff, "snippet markers must be stripped before diffing"


def test_generate_writes_only_changed_files(tmp_path):
    """`mkdocs serve` would rebuild forever if every build rewrote the diffs."""
    for name in ("chapters", "constraints.txt"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, tmp_path / name, ignore=IGNORE)
        else:
            shutil.copy2(src, tmp_path / name)
    first = docs_hooks.generate(tmp_path)
    assert first, "the first run writes every file"
    assert docs_hooks.generate(tmp_path) == []
    db = tmp_path / "chapters/03-plain-sqlalchemy/blog/db.py"
    db.write_text(db.read_text("utf-8") + "\nEXTRA = 1\n", "utf-8")
    rewritten = docs_hooks.generate(tmp_path)
    assert tmp_path / "generated/diffs/02-to-03/files/blog/db.py.diff" in rewritten
    assert all("02-to-03" in p.as_posix() for p in rewritten)


def test_version_stamp_reads_the_pins():
    pins = docs_hooks.read_pins(ROOT)
    stamp = docs_hooks.versions_chapter("03-plain-sqlalchemy", ROOT)
    assert f"`{pins['sqlalchemy'][1]}`" in stamp
    assert "Flask-SQLAlchemy" not in stamp  # chapter 03 does not depend on it
    assert "Flask-SQLAlchemy" in docs_hooks.versions_chapter("02-factory", ROOT)
    every = docs_hooks.versions_all(ROOT)
    for name, version in pins.values():
        assert f"| {name} | `{version}` |" in every


# --------------------------------------------------------------------------- the real build

IGNORE = shutil.ignore_patterns(
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    "*.egg-info",
    "instance",
    "*.sqlite*",
    ".venv",
    "node_modules",
)


@pytest.fixture
def site_copy(tmp_path) -> Path:
    """The docs, their config and their sources, copied: a test can break them freely."""
    # Whatever the pages include from (captures/, ...), plus what the build needs.
    tops = {inc.path.split("/", 1)[0] for inc in all_includes()} - {"generated"}
    for name in sorted(tops | {"docs", "chapters", "tools", "mkdocs.yml", "constraints.txt"}):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, tmp_path / name, ignore=IGNORE)
        elif src.is_file():
            shutil.copy2(src, tmp_path / name)
    return tmp_path


def build(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(root / "site")],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )


def break_first(root: Path, old: str, new: str) -> str:
    """Replace the first occurrence of ``old`` in an include line of a chapter page."""
    for page in sorted((root / "docs/chapters").glob("*.md")):
        text = page.read_text("utf-8")
        for line in text.splitlines():
            if INCLUDE.match(line) and old in line:
                page.write_text(text.replace(line, line.replace(old, new), 1), "utf-8")
                return line.strip()
    raise AssertionError(f"no include line contains {old!r}")


EXTERNAL = re.compile(
    r"""<(?:script|link|img|iframe)\b[^>]*?\b(?:src|href)=["']?(?:https?:)?//[^>]*>"""
)


def test_the_copy_builds_cleanly(site_copy):
    """Baseline for the two tests below: unbroken, the same files build cleanly.

    It also checks the result: version stamps filled in, chapter code pulled
    in, and no script, style, font or image loaded from another host.
    """
    result = build(site_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    site = site_copy / "site"
    html = (site / "chapters/03-plain-sqlalchemy/index.html").read_text("utf-8")
    assert "&lt;!-- versions" not in html and "<!-- versions" not in html
    pins = docs_hooks.read_pins(site_copy)
    assert pins["sqlalchemy"][1] in html
    assert "scoped_session" in html
    # Every page's footer names the pinned Flask version.
    for page in ("index.html", "errata/index.html", "pitfalls/index.html"):
        footer = (site / page).read_text("utf-8").split('class="md-footer"', 1)[-1]
        assert f"Flask {pins['flask'][1]}" in footer, page
    offenders = []
    for page in sorted(site.rglob("*.html")):
        for tag in EXTERNAL.findall(page.read_text("utf-8")):
            if 'rel="canonical"' not in tag:
                offenders.append(f"{page.relative_to(site)}: {tag}")
    assert not offenders, "loaded from another host:\n" + "\n".join(offenders)


def test_a_broken_include_path_fails_the_build(site_copy):
    line = break_first(site_copy, "blog/db.py", "blog/no_such_file.py")
    result = build(site_copy)
    assert result.returncode != 0, f"the build ignored a missing file: {line}"
    assert "no_such_file.py" in result.stdout + result.stderr


def test_a_broken_section_name_fails_the_build(site_copy):
    line = break_first(site_copy, "db.py:session", "db.py:no_such_section")
    result = build(site_copy)
    assert result.returncode != 0, f"the build ignored a missing section: {line}"
    assert "no_such_section" in result.stdout + result.stderr
