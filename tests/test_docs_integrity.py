"""The docs and the code they show cannot drift apart.

* No page types Python code: Python shown on a page is an include of a real
  file, whatever the fence says (``python``, ``text`` or nothing). The built
  site is checked too: with every include removed, no code block in its HTML
  holds Python, so an indented block or raw HTML cannot slip past the fences.
* Every include names a file that exists and, if given, Python names that
  exist in it (functions, classes, assignments: see ``tools/docs_hooks.py``).
* Every name a page writes in backticks, like `get_user_or_404`, exists in the
  code the page talks about, or is a library name on a short list.
* Code folders carry no snippet markers: pages include by Python name.
* A broken include path, an unknown name or a renamed function makes
  ``mkdocs build --strict`` fail, and the built site holds pages and their
  assets only.
* The generated diffs and version stamps really come from the files git tracks.

Runs under ``nox -s repo`` (needs the docs requirements and pytest).
"""

from __future__ import annotations

import ast
import builtins
import io
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tokenize
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tools import docs_hooks
from tools.chapters import chapters

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

PYTHON_LANGS = {"python", "py", "python3", "py3", "pycon", "pyi", "ipython"}


def pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def all_includes() -> list[tuple[str, docs_hooks.Include]]:
    return [
        (rel(page), include)
        for page in pages()
        for include in docs_hooks.includes_in(page.read_text("utf-8"))
    ]


def include_id(item: tuple[str, docs_hooks.Include]) -> str:
    return f"{item[0]}:{item[1].line}"


def tracked(*paths: str) -> list[Path]:
    """Files git tracks under ``paths`` (relative to the repository)."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--", *paths], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return [ROOT / name for name in out.stdout.split("\0") if name and (ROOT / name).is_file()]


@pytest.fixture(scope="module", autouse=True)
def generated_diffs():
    """Includes of generated/ need the hook's output, as in a real build."""
    docs_hooks.generate(ROOT)


# --------------------------------------------------------------------------- no typed Python

# A line that can only be Python: a def, class, import, decorator or prompt.
PYTHON_LINE = re.compile(
    r"^\s*(?:(?:async\s+)?def\s+\w+\s*\(|class\s+\w+\s*[(:]|from\s+[\w.]+\s+import\s|"
    r"import\s+[\w.]+\s*(?:$|,|as\s|#)|@[\w.]+(?:\(.*\))?\s*$|>>>\s)"
)


def looks_like_python(lines: list[str]) -> bool:
    """Would a reader take these lines for Python code?

    True when a line can only be Python (``def``, ``import``, a decorator, a
    ``>>>`` prompt), or when the block parses as Python with at least one
    statement that is more than a bare value (``pytest``, ``{"a": 1}`` and
    other shell words or JSON data parse too, and are not code).
    """
    if any(PYTHON_LINE.match(line) for line in lines):
        return True
    source = textwrap.dedent("\n".join(lines))
    if not source.strip():
        return False
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    data = (ast.Constant, ast.Name, ast.Dict, ast.List, ast.Tuple, ast.Set, ast.UnaryOp)
    return any(
        not (isinstance(node, ast.Expr) and isinstance(node.value, data)) for node in tree.body
    )


def typed_python(markdown: str) -> list[tuple[int, str]]:
    """(line, text) of code typed into a page: any line of a Python fence that is not an
    include, and every line of another fence whose lines look like Python."""
    found = []
    for fence in docs_hooks.fences_in(markdown):
        typed = [
            (fence.start + offset + 1, line)
            for offset, line in enumerate(fence.body)
            if line.strip() and not docs_hooks.INCLUDE.match(line)
        ]
        if fence.lang in PYTHON_LANGS or looks_like_python([line for _, line in typed]):
            found.extend(typed)
    return found


def test_the_check_sees_python_in_any_fence():
    """The check below must be able to fail, whatever the fence is labelled."""
    sample = (
        '=== "Tab"\n\n    ```python\n    x = 1\n    ```\n\n'
        "```\ndef f():\n    return 1\n```\n\n"
        "```text\nimport os\n```\n\n"
        "~~~\nconfig = load(path)\nconfig.check()\n~~~\n\n"
        '```py title="x"\n--8<-- "chapters/01-minimal/hello.py:index"\n```\n\n'
        "```bash\npip install -e .\npytest\n```\n\n"
        '```text\n{"error": "Not Found"}\n```\n'
    )
    assert [text.strip() for _, text in typed_python(sample)] == [
        "x = 1",
        "def f():",
        "return 1",
        "import os",
        "config = load(path)",
        "config.check()",
    ]


@pytest.mark.parametrize("page", pages(), ids=rel)
def test_no_python_typed_into_a_page(page):
    typed = [f"{rel(page)}:{n}: {line.strip()}" for n, line in typed_python(page.read_text())]
    assert not typed, "Python typed into a page; include it from a real file:\n" + "\n".join(typed)


# --------------------------------------------------------------------------- includes resolve


def test_pages_include_code():
    """Guards the tests below against passing on an empty list."""
    targets = {include.target for _, include in all_includes()}
    assert "chapters/03-plain-sqlalchemy/blog/db.py:Base,Session,configure" in targets
    assert any(t.startswith("generated/diffs/02-to-03/") for t in targets)
    assert any(include.names for _, include in all_includes())


@pytest.mark.parametrize("page", pages(), ids=rel)
def test_every_include_line_is_the_one_form_the_hook_reads(page):
    """A block include or a typo'd line would bypass the checks: only single lines."""
    odd = [
        f"{rel(page)}:{number}: {line.strip()}"
        for number, line in enumerate(page.read_text("utf-8").splitlines(), 1)
        if "8<-" in line and not docs_hooks.INCLUDE.match(line)
    ]
    assert not odd, "\n".join(odd)


@pytest.mark.parametrize("item", all_includes(), ids=include_id)
def test_every_included_file_and_name_exists(item):
    page, include = item
    assert not include.line_range, (
        f"{page}:{include.line}: line numbers drift; include by Python name: {include.target}"
    )
    try:
        docs_hooks.read_source(ROOT, include.path, include.names)
    except (OSError, docs_hooks.MissingName) as error:
        pytest.fail(f"{page}:{include.line}: {error}")


def test_code_carries_no_snippet_markers():
    """What a reader copies (chapters, demonstrations, helpers) has no doc machinery in it."""
    marker = re.compile(r"^\s*#\s*-+8<-+\s*\[(?:start|end):", re.MULTILINE)
    marked = [
        rel(path)
        for path in tracked("chapters", "pitfalls", "bench", "tools")
        if marker.search(path.read_text("utf-8", errors="replace"))
    ]
    assert not marked, f"snippet markers left in: {marked}"


# --------------------------------------------------------------------------- include by name

SAMPLE = '''"""Doc."""

import os

# Settings.
app = make()
app.config.update(A=1)

B = 2


# Why f exists.
@decorator
def f():
    return 1


def g():
    pass


class K:
    """K."""

    # About m.
    def m(self):
        return 2


if __name__ == "__main__":
    f()
'''


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (("f",), "# Why f exists.\n@decorator\ndef f():\n    return 1\n"),
        (("app",), "# Settings.\napp = make()\napp.config.update(A=1)\n"),
        (
            ("f", "g"),
            "# Why f exists.\n@decorator\ndef f():\n    return 1\n\n\ndef g():\n    pass\n",
        ),
        (
            ("g", "f"),
            "# Why f exists.\n@decorator\ndef f():\n    return 1\n\n\ndef g():\n    pass\n",
        ),
        (("K.m",), "# About m.\ndef m(self):\n    return 2\n"),
        (("__main__",), 'if __name__ == "__main__":\n    f()\n'),
    ],
)
def test_a_name_brings_its_decorators_and_comments(names, expected):
    assert docs_hooks.source_of(SAMPLE, names, "sample.py") == expected


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (("nope",), "no function, class or assignment named 'nope'"),
        (("app", "f"), "would also show B"),
        (("f", "f"), "names one statement twice"),
        (("K.nope",), "no function, class or assignment named 'nope' in sample.py:K"),
        (("f.x",), "'f' in sample.py is not a class"),
    ],
)
def test_a_wrong_name_is_an_error(names, message):
    with pytest.raises(docs_hooks.MissingName, match=re.escape(message)):
        docs_hooks.source_of(SAMPLE, names, "sample.py")


def test_include_lines_are_expanded_with_their_indentation(tmp_path):
    (tmp_path / "m.py").write_text(SAMPLE, "utf-8")
    page = '=== "Tab"\n\n    ```python\n    --8<-- "m.py:g"\n    ```\n;--8<-- "m.py:f"\n'
    out = docs_hooks.expand_includes(page, tmp_path, "page.md")
    assert (
        out == '=== "Tab"\n\n    ```python\n    def g():\n        pass\n    ```\n;--8<-- "m.py:f"\n'
    )


# --------------------------------------------------------------------------- names in prose

# Names pages mention that are not in the code they talk about: the libraries' names,
# mostly. Key: the name as written between backticks, value: where it comes from.
NAMED_ELSEWHERE = {
    "max_prepared_statements": "PgBouncer's setting, named where chapter 08 adds no pooler",
    "pg_use_reserved_connections": "PostgreSQL 16's role for reserved_connections",
    "unacked_restore_interval": "kombu's Redis transport option",
    "unacked_restore_throttle": "kombu's Redis transport option",
    "prepare_threshold": "psycopg 3's connection setting, named where chapter 08 adds no pooler",
    "ProgrammingError": "the DB-API exception a closed sqlite3 connection raises",
    "_alembic_tmp_posts": "the copy Alembic's batch mode makes of posts on SQLite",
    "FLASK_DEBUG": "read by the flask command",
    "init_db()": "the old code the errata page corrects",
    "Model.query": "Flask-SQLAlchemy's legacy query property",
    "Base.query": "the same legacy property on a declarative base",
    "get_or_404": "Flask-SQLAlchemy",
    "db.get_or_404": "Flask-SQLAlchemy",
    "db.get_or_404()": "Flask-SQLAlchemy",
    "db.paginate": "Flask-SQLAlchemy",
    "SQLALCHEMY_BINDS": "a Flask-SQLAlchemy setting",
    "SQLALCHEMY_ECHO": "a Flask-SQLAlchemy setting",
    "FLASK_ENV": "removed in Flask 2.3",
    "positive_data_acceptance": "a schemathesis check",
    "FLASK_RUN_FROM_CLI": "set by the flask command",
    "make_app": "a factory name the flask command looks for",
    "flash()": "Flask",
    "Query.get()": "SQLAlchemy's legacy Query API",
    "query.get()": "SQLAlchemy's legacy Query API",
    "Session.close_all()": "removed in SQLAlchemy 2.0",
    "close_all_sessions()": "SQLAlchemy",
    "sqlalchemy.orm.close_all_sessions()": "SQLAlchemy",
    "declarative_base()": "SQLAlchemy 1.x",
    "sqlalchemy.ext.declarative": "SQLAlchemy 1.x",
    "mapper()": "SQLAlchemy 1.x classical mapping",
    "map_imperatively": "SQLAlchemy 2.0",
    "row._mapping": "SQLAlchemy Row",
    "LegacyAPIWarning": "SQLAlchemy",
    "ArgumentError": "SQLAlchemy",
    "NullPool": "SQLAlchemy",
    "QueuePool": "SQLAlchemy",
    "MetaData.create_all": "SQLAlchemy",
    "before_create": "a SQLAlchemy DDL event",
    "FlaskGroup.get_command": "Flask",
    "run_with_reloader": "Werkzeug",
    "restart_with_reloader": "Werkzeug",
    "PATH_INFO": "a WSGI environ key",
    "enqueue_at": "RQ's Queue method for a job at a given time",
    "enqueue_in": "RQ's Queue method for a job after a delay",
}
# Extra code a page talks about besides chapters and what it includes.
PAGE_CODE = {"docs/performance.md": ("bench",), "docs/capacity.md": ("bench",)}

SPAN = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*(?:\(\))?")
FILE_SUFFIXES = (".py", ".txt", ".toml", ".md", ".lua", ".cfg", ".ini", ".json", ".yml")
WORD = re.compile(r"[A-Za-z_]\w*")


def is_code_name(span: str) -> bool:
    """`get_user_or_404`, `Session.remove()`, `SECRET_KEY`, `scoped_session`, `DeclarativeBase`:
    yes. Plain words (`flask`, `gunicorn`), file names and commands: no."""
    if not DOTTED.fullmatch(span) or span.endswith(FILE_SUFFIXES):
        return False
    if span.endswith("_"):
        return False  # a prefix, like `FLASK_`
    return bool(re.search(r"[_.]|\(\)$|[a-z][A-Z]", span))


@cache
def words_in(path: Path) -> frozenset[str]:
    return words_of(path.read_text("utf-8", errors="replace"), path.suffix)


def words_of(text: str, suffix: str) -> frozenset[str]:
    """Names in a file: identifiers and words in strings, not comments, for Python."""
    if suffix != ".py":
        return frozenset(WORD.findall(text))
    found = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type in (tokenize.NAME, tokenize.STRING):
                found.update(WORD.findall(token.string))
    except (tokenize.TokenError, SyntaxError):
        return frozenset(WORD.findall(text))
    return frozenset(found)


def chapter_of_include(path: str) -> set[str]:
    """The chapters an include shows: its chapter folder, or both sides of a diff."""
    by_folder = {p.name: n for n, p in chapters().items()}
    parts = path.split("/")
    if parts[0] == "chapters" and len(parts) > 1 and parts[1] in by_folder:
        return {by_folder[parts[1]]}
    diff = re.match(r"generated/diffs/(\d+)-to-(\d+)/", path)
    return set(diff.groups()) if diff else set()


def known_names(page: Path) -> set[str]:
    """What a page may name: the code of the chapters it talks about (its own chapter
    for docs/chapters/NN-*.md, plus those it includes from; all of them for a page that
    includes from none), the other files it includes, and Python's builtins."""
    text = page.read_text("utf-8")
    includes = docs_hooks.includes_in(text)
    talked_about = set().union(*(chapter_of_include(i.path) for i in includes), set())
    own = re.fullmatch(r"docs/chapters/(\d+)-.*\.md", rel(page))
    if own:
        talked_about.add(own[1])
    found = set(dir(builtins))
    every = chapters()
    for number in talked_about or every:
        for path in tracked(rel(every[number])):
            found |= words_in(path)
    for folder in PAGE_CODE.get(rel(page), ()):
        for path in tracked(folder):
            found |= words_in(path)
    for include in includes:
        path = ROOT / include.path
        if include.path.split("/")[0] not in ("chapters", "generated") and path.is_file():
            found |= words_in(path)  # chapters/ and generated/ are chapter code, above
    return found


def unknown_names(page: Path) -> list[str]:
    text = page.read_text("utf-8")
    fenced = docs_hooks.lines_in_fences(text)
    known = known_names(page)
    missing = []
    for number, line in enumerate(text.splitlines(), 1):
        if number in fenced:
            continue
        for span in SPAN.findall(line):
            span = span.strip()
            if not is_code_name(span) or span in NAMED_ELSEWHERE:
                continue
            parts = span.removesuffix("()").split(".")
            # Flask reads FLASK_<KEY> into the <KEY> setting (from_prefixed_env).
            if not all(p in known or p.removeprefix("FLASK_") in known for p in parts):
                missing.append(f"{rel(page)}:{number}: `{span}`")
    return missing


@pytest.mark.parametrize("page", pages(), ids=rel)
def test_names_in_prose_exist_in_the_code_the_page_talks_about(page):
    missing = unknown_names(page)
    assert not missing, (
        "The page names something the code it talks about does not have (renamed? "
        "removed?). Fix the page, or add a library name to NAMED_ELSEWHERE:\n" + "\n".join(missing)
    )


def test_library_names_are_still_named_by_a_page():
    text = "\n".join(page.read_text("utf-8") for page in pages())
    stale = [name for name in NAMED_ELSEWHERE if f"`{name}`" not in text]
    assert not stale, f"NAMED_ELSEWHERE lists names no page uses: {stale}"


def test_a_renamed_function_is_caught_in_prose(monkeypatch):
    """Rename get_user_or_404 in every chapter: each page that names it now fails."""
    naming = [p for p in pages() if "`get_user_or_404`" in p.read_text("utf-8")]
    assert naming and not any(unknown_names(page) for page in naming)
    chapter_dirs = tuple(chapters().values())

    def renamed(path: Path) -> frozenset[str]:
        text = path.read_text("utf-8", errors="replace")
        if path.is_relative_to(ROOT / "chapters"):
            text = text.replace("get_user_or_404", "find_user")
        return words_of(text, path.suffix)

    sources = [p for d in chapter_dirs for p in d.rglob("*.py")]
    assert any("get_user_or_404" in p.read_text("utf-8") for p in sources)
    monkeypatch.setattr(sys.modules[__name__], "words_in", renamed)
    for page in naming:
        assert any("`get_user_or_404`" in line for line in unknown_names(page)), page


# --------------------------------------------------------------------------- generated content


def test_diff_is_computed_from_the_chapter_files():
    """A line that only chapter 03's db.py has shows up as an added line of the diff."""
    old = (ROOT / "chapters/02-factory/blog/db.py").read_text("utf-8").splitlines()
    new = (ROOT / "chapters/03-plain-sqlalchemy/blog/db.py").read_text("utf-8").splitlines()
    only_new = [x for x in new if x.strip() and x not in old]
    only_old = [x for x in old if x.strip() and x not in new]
    assert only_new and only_old, "02 and 03 db.py should differ"
    diff = (ROOT / "generated/diffs/02-to-03/files/blog/db.py.diff").read_text("utf-8")
    diff_lines = diff.splitlines()
    for line in only_new:
        assert "+" + line in diff_lines
    for line in only_old:
        assert "-" + line in diff_lines


def test_every_pair_of_chapters_gets_a_diff():
    numbers = list(chapters())
    expected = {f"{a}-to-{b}" for a, b in zip(numbers, numbers[1:], strict=False)}
    made = {p.name for p in (ROOT / "generated/diffs").iterdir()}
    assert expected == made
    assert (ROOT / "generated/diffs/01-to-02/parts/users.diff").is_file()


def repo_copy(tmp_path: Path, names: tuple[str, ...]) -> Path:
    """A copy of the tracked files under ``names``, committed to a new git repository."""
    root = tmp_path / "repo"
    for path in tracked(*names):
        target = root / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "copy"], cwd=root, check=True)
    return root


def test_generate_writes_only_changed_files(tmp_path):
    """`mkdocs serve` would rebuild forever if every build rewrote the diffs."""
    root = repo_copy(tmp_path, ("chapters", "constraints.txt"))
    first = docs_hooks.generate(root)
    assert first, "the first run writes every file"
    assert docs_hooks.generate(root) == []
    db = root / "chapters/03-plain-sqlalchemy/blog/db.py"
    db.write_text(db.read_text("utf-8") + "\nEXTRA = 1\n", "utf-8")
    rewritten = docs_hooks.generate(root)
    assert root / "generated/diffs/02-to-03/files/blog/db.py.diff" in rewritten
    # Only the diffs that have chapter 03 on one side are written again.
    assert all(any(pair in p.as_posix() for pair in ("02-to-03", "03-to-04")) for p in rewritten)


def test_diffs_show_only_what_git_tracks(tmp_path):
    """A scratch file is not published, a stray binary file does not crash the build,
    and a new chapter folder gets its diff without any list being edited."""
    root = repo_copy(tmp_path, ("chapters", "constraints.txt"))
    last = list(chapters(root).values())[-1]
    (last / "scratch.py").write_text("print('not for the docs')\n", "utf-8")
    (last / ".coverage").write_bytes(b"SQLite format 3\x00\xff\xfe\x00")
    docs_hooks.generate(root)
    pair = sorted((root / "generated/diffs").iterdir())[-1]
    summary = (pair / "summary.md").read_text("utf-8")
    assert "scratch.py" not in summary and ".coverage" not in summary

    (last / "scratch.py").unlink()
    (last / ".coverage").unlink()
    new = root / "chapters" / f"{int(last.name[:2]) + 1:02d}-next"
    shutil.copytree(last, new)
    (new / "README.md").write_text("A new chapter.\n", "utf-8")
    (new / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\xff\x00")
    subprocess.run(["git", "add", "-A", "chapters"], cwd=root, check=True)
    docs_hooks.generate(root)
    summary = (root / f"generated/diffs/{last.name[:2]}-to-{new.name[:2]}/summary.md").read_text()
    assert "| `README.md` | changed |" in summary
    assert "| `logo.png` | binary file, not compared |" in summary


def test_versions_line_is_not_replaced_inside_a_fence():
    page = "<!-- versions -->\n\n```markdown\n<!-- versions -->\n```\n"
    out = docs_hooks.expand_versions(page, ROOT, "page.md")
    assert out.count("<!-- versions -->") == 1
    assert out.endswith("```markdown\n<!-- versions -->\n```\n")
    assert out.startswith("??? info")  # collapsed: the page's text comes first


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


@pytest.fixture
def site_copy(tmp_path) -> Path:
    """The docs, their config and their sources, copied: a test can break them freely."""
    tops = {include.path.split("/", 1)[0] for _, include in all_includes()} - {"generated"}
    return repo_copy(
        tmp_path,
        # README.md names the tested Python and requirements/ the docs pins: the boxes show both.
        tuple(
            sorted(
                tops
                | {"docs", "chapters", "tools", "mkdocs.yml", "constraints.txt"}
                | {"README.md", "requirements"}
            )
        ),
    )


def build(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        # The console script, as `nox -s docs` runs it (not `python -m`, which would
        # put the current directory on sys.path and hide an import problem of the hook).
        [Path(sys.executable).parent / "mkdocs", "build", "--strict", "-q", "-d", root / "site"],
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
            if docs_hooks.INCLUDE.match(line) and old in line:
                page.write_text(text.replace(line, line.replace(old, new), 1), "utf-8")
                return line.strip()
    raise AssertionError(f"no include line contains {old!r}")


EXTERNAL = re.compile(
    r"""<(?:script|link|img|iframe)\b[^>]*?\b(?:src|href)=["']?(?:https?:)?//[^>]*>"""
)
# What the site may publish besides pages: the theme's files, the search index, the
# sitemap, and the assets mkdocs.yml names (with the vendored library's licence).
SITE_FILES = {"sitemap.xml", "sitemap.xml.gz", "search/search_index.json"}


def test_the_copy_builds_cleanly(site_copy):
    """Baseline for the tests below: unbroken, the same files build cleanly.

    It also checks the result: version stamps filled in, chapter code pulled
    in by name, no file published that is not a page or an asset, and no
    script, style, font or image loaded from another host.
    """
    result = build(site_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    site = site_copy / "site"
    html = (site / "chapters/03-plain-sqlalchemy/index.html").read_text("utf-8")
    assert "&lt;!-- versions" not in html and "<!-- versions" not in html
    pins = docs_hooks.read_pins(site_copy)
    assert pins["sqlalchemy"][1] in html
    assert "scoped_session" in html
    assert "include failed" not in html and "8&lt;" not in html
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


def test_the_site_publishes_pages_and_their_assets_only(site_copy):
    result = build(site_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    site = site_copy / "site"
    published = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    theme = {p for p in published if p.startswith("assets/") and not (DOCS / p).exists()}
    import yaml  # installed with mkdocs

    config = yaml.load((ROOT / "mkdocs.yml").read_text("utf-8"), Loader=yaml.BaseLoader)
    named = set(config.get("extra_css", [])) | set(config.get("extra_javascript", []))
    licences = {str(Path(p).parent / "LICENSE.txt") for p in named}
    meant = {p for p in published if p.endswith(".html")} | SITE_FILES | theme | named
    unexpected = sorted(published - meant - (licences & published))
    assert not unexpected, f"published, but not a page or a named asset: {unexpected}"
    assert "requirements.txt" not in published


def test_a_broken_include_path_fails_the_build(site_copy):
    line = break_first(site_copy, "blog/db.py", "blog/no_such_file.py")
    result = build(site_copy)
    assert result.returncode != 0, f"the build ignored a missing file: {line}"
    assert "no_such_file.py" in result.stdout + result.stderr


def test_an_unknown_name_fails_the_build(site_copy):
    line = break_first(site_copy, "db.py:Base,Session", "db.py:Base,NoSuchName")
    result = build(site_copy)
    assert result.returncode != 0, f"the build ignored a missing name: {line}"
    assert "NoSuchName" in result.stdout + result.stderr


def test_renaming_an_included_function_fails_the_build(site_copy):
    """The pages stay as they are; the chapter renames a function they include."""
    api = site_copy / "chapters/03-plain-sqlalchemy/blog/api.py"
    api.write_text(api.read_text("utf-8").replace("get_user_or_404", "find_user"), "utf-8")
    result = build(site_copy)
    assert result.returncode != 0, "the build ignored a renamed function"
    assert "'get_user_or_404'" in result.stdout + result.stderr


# --------------------------------------------------------------------------- typed Python, built


class CodeBlocks(HTMLParser):
    """Each ``<pre>`` of a page: its text as shown, and the language of its block."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, str]] = []
        self.languages: list[str] = []  # one entry per open <div>
        self.depth = 0  # inside how many <pre>
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "div":
            classes = (dict(attrs).get("class") or "").split()
            found = [c.removeprefix("language-") for c in classes if c.startswith("language-")]
            self.languages.append(found[0] if found else "")
        elif tag == "pre":
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self.languages:
            self.languages.pop()
        elif tag == "pre" and self.depth:
            self.depth -= 1
            if not self.depth:
                language = next((x for x in reversed(self.languages) if x), "")
                self.blocks.append((language, "".join(self.text)))
                self.text = []

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.text.append(data)


def python_blocks_in_site(site: Path) -> list[str]:
    """Every code block of the built site that holds Python: labelled Python and not
    empty, or whatever its label, lines a reader would take for Python."""
    found = []
    for page in sorted(site.rglob("*.html")):
        parser = CodeBlocks()
        parser.feed(page.read_text("utf-8"))
        for language, text in parser.blocks:
            lines = [line for line in text.splitlines() if line.strip()]
            if lines and (language in PYTHON_LANGS or looks_like_python(lines)):
                found.append(f"{page.relative_to(site).as_posix()}: {lines[0].strip()}")
    return found


def remove_includes(docs: Path) -> None:
    """Drop every include line from the pages: what still shows as code was typed."""
    for page in docs.rglob("*.md"):
        lines = page.read_text("utf-8").splitlines(keepends=True)
        kept = [
            line
            for line in lines
            if not ((match := docs_hooks.INCLUDE.match(line)) and not match["escape"])
        ]
        page.write_text("".join(kept), "utf-8")


# Python in a 4-space indented block: Markdown shows it as code, no fence around it.
INDENTED_PYTHON = "\nA sentence before the block.\n\n    def typed_in():\n        return 1\n\n"


def test_the_built_site_shows_only_included_python(site_copy):
    """Build the site with every include removed: no code block may still hold Python,
    fenced, indented or in raw HTML. A page with an indented Python block, added for
    the purpose, must be the one found."""
    page = site_copy / "docs/errata.md"
    page.write_text(page.read_text("utf-8") + INDENTED_PYTHON, "utf-8")
    # The fence check alone cannot see it: this is what the built HTML check adds.
    assert not typed_python(INDENTED_PYTHON)
    remove_includes(site_copy / "docs")
    result = build(site_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    found = python_blocks_in_site(site_copy / "site")
    assert "errata/index.html: def typed_in():" in found, found
    typed = [x for x in found if x != "errata/index.html: def typed_in():"]
    assert not typed, "Python typed into a page; include it from a real file:\n" + "\n".join(typed)
