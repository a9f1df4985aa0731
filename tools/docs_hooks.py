"""MkDocs hooks: chapter diffs and version stamps, computed at build time.

Registered in ``mkdocs.yml`` under ``hooks:``. Two jobs:

* ``on_pre_build`` writes chapter-to-chapter diffs into ``generated/`` at the
  repository root (gitignored). Pages include them with pymdownx.snippets, so a
  diff shown in the docs is always the diff of the files in ``chapters/``.
  Snippet marker lines are removed before diffing, and a file is only written
  when its content changed, so ``mkdocs serve`` does not rebuild in a loop.
* ``on_page_markdown`` replaces a line ``<!-- versions -->`` (every pin) or
  ``<!-- versions:03-plain-sqlalchemy -->`` (one chapter's dependencies) with
  an admonition that lists the versions read from ``constraints.txt`` and the
  chapter's ``pyproject.toml``. Nobody types a version number into a page.

Run ``python tools/docs_hooks.py`` to regenerate ``generated/`` without a build.
"""

from __future__ import annotations

import difflib
import logging
import platform
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.docs_hooks")

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS_DIR = "chapters"
GENERATED_DIR = "generated"

# A snippet section marker on a line of its own, e.g. "# --8<-- [start:session]".
MARKER = re.compile(r"^\s*(#|//|<!--)?\s*-{1,}8<-{1,}\s*\[(start|end):[^\]]+\].*$")

# Directories and files in a chapter that are not part of what a reader copies.
SKIP_DIRS = {"__pycache__", ".hypothesis", ".pytest_cache", ".ruff_cache", ".nox", ".venv"}
SKIP_DIR_SUFFIXES = (".egg-info",)
SKIP_DIRS_EXACT = {"instance", "build", "dist", "node_modules"}
SKIP_FILES = {".env", ".DS_Store"}
SKIP_FILE_SUFFIXES = (".pyc", ".pyo", ".sqlite", ".sqlite3", ".db")


@dataclass(frozen=True)
class PartDiff:
    """A piece of one chapter that maps onto a piece of the next one.

    ``old`` and ``new`` are ``path`` or ``path:section`` (relative to the
    chapter folder). The diff is written to ``<pair>/parts/<slug>.diff``.
    """

    slug: str
    old: str
    new: str


# 01 -> 02: one file becomes a package, so a whole-file diff of app.py says
# little. Instead the build compares the file trees and diffs the parts of
# app.py that map onto a module of the package.
PARTS_01_TO_02 = (
    PartDiff("validation", "app.py:validation", "blog/validation.py"),
    PartDiff("errors", "app.py:errors", "blog/errors.py:handlers"),
    PartDiff("init-db", "app.py:init_db", "blog/cli.py:init_db"),
    PartDiff("users", "app.py:users", "blog/api.py:users"),
    PartDiff("posts", "app.py:posts", "blog/api.py:posts"),
    PartDiff("config", "app.py:config", "blog/config.py"),
)

# (old chapter, new chapter, parts that map across a restructuring)
PAIRS = (
    ("01-minimal", "02-factory", PARTS_01_TO_02),
    ("02-factory", "03-plain-sqlalchemy", ()),
)


# --------------------------------------------------------------------------- files


def chapter_files(chapter: Path) -> list[str]:
    """Relative paths (posix) of the files a reader would copy, sorted."""
    found = []
    for path in sorted(chapter.rglob("*")):
        rel = path.relative_to(chapter)
        dirs = rel.parts[:-1] if path.is_file() else rel.parts
        if any(
            d in SKIP_DIRS or d in SKIP_DIRS_EXACT or d.endswith(SKIP_DIR_SUFFIXES) for d in dirs
        ):
            continue
        if not path.is_file():
            continue
        if path.name in SKIP_FILES or path.name.endswith(SKIP_FILE_SUFFIXES):
            continue
        found.append(rel.as_posix())
    return found


def strip_markers(text: str) -> str:
    """The file as a reader sees it in the docs: snippet marker lines removed.

    A marker between two blank-line gaps would leave four blank lines in a
    row; runs of more than two blank lines are cut to two (ruff never leaves
    more than two in a real file, so nothing else is touched).
    """
    kept = "".join(line for line in text.splitlines(True) if not MARKER.match(line))
    return re.sub(r"\n{4,}", "\n\n\n", kept)


def read_part(chapter: Path, spec: str) -> str:
    """``path`` or ``path:section`` of a chapter, without marker lines."""
    path, _, section = spec.partition(":")
    text = (chapter / path).read_text(encoding="utf-8")
    if not section:
        return strip_markers(text)
    start = re.compile(rf"^\s*#\s*-+8<-+\s*\[start:{re.escape(section)}\]\s*$")
    end = re.compile(rf"^\s*#\s*-+8<-+\s*\[end:{re.escape(section)}\]\s*$")
    lines, inside, seen = [], False, False
    for line in text.splitlines(True):
        if start.match(line):
            inside = seen = True
        elif end.match(line):
            inside = False
        elif inside:
            lines.append(line)
    if not seen:
        raise KeyError(f"section {section!r} not found in {chapter.name}/{path}")
    return strip_markers("".join(lines))


def unified(old: str, new: str, old_name: str, new_name: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(True), new.splitlines(True), fromfile=old_name, tofile=new_name, n=3
    )
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def fence_for(text: str) -> str:
    """A backtick fence longer than any backtick run inside ``text``."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def indent(text: str, prefix: str = "    ") -> str:
    return "".join(prefix + line if line.strip() else line for line in text.splitlines(True))


# --------------------------------------------------------------------------- diffs


def tree_lines(files: list[str]) -> list[str]:
    """An indented tree of ``files`` (directories first, then files)."""
    tree: dict = {}
    for name in files:
        node = tree
        for part in name.split("/"):
            node = node.setdefault(part, {})

    def walk(node: dict, depth: int) -> list[str]:
        out = []
        dirs = sorted(k for k, v in node.items() if v)
        leaves = sorted(k for k, v in node.items() if not v)
        for key in dirs:
            out.append("    " * depth + key + "/")
            out.extend(walk(node[key], depth + 1))
        out.extend("    " * depth + key for key in leaves)
        return out

    return walk(tree, 0)


def display_order(rel: str) -> tuple[int, str]:
    """The database layer first (it is what the chapters are about), then code, then the rest."""
    if rel == "blog/db.py":
        return (0, rel)
    if rel.startswith("blog/"):
        return (1, rel)
    if rel == "pyproject.toml":
        return (2, rel)
    if rel.startswith("tests/"):
        return (3, rel)
    return (4, rel)


def pair_outputs(root: Path, old_name: str, new_name: str, parts: tuple) -> dict[str, str]:
    """Every generated file of one chapter pair: relative path -> content."""
    old_dir, new_dir = root / CHAPTERS_DIR / old_name, root / CHAPTERS_DIR / new_name
    old_files, new_files = chapter_files(old_dir), chapter_files(new_dir)
    pair = f"diffs/{old_name[:2]}-to-{new_name[:2]}"
    outputs: dict[str, str] = {}

    rows, tabs = [], []
    for rel in sorted(set(old_files) | set(new_files), key=display_order):
        old = strip_markers((old_dir / rel).read_text("utf-8")) if rel in old_files else ""
        new = strip_markers((new_dir / rel).read_text("utf-8")) if rel in new_files else ""
        if rel not in old_files:
            status = "added"
        elif rel not in new_files:
            status = "removed"
        elif old == new:
            status = "unchanged"
        else:
            status = "changed"
        if status == "unchanged":
            rows.append(f"| `{rel}` | unchanged | | |")
            continue
        if status != "changed":
            # Whole-file additions and removals are shown by the tree and the
            # page's own listings; a diff of every line would only add noise.
            count = len((new or old).splitlines())
            counts = f"+{count} | " if status == "added" else f" | −{count}"
            rows.append(f"| `{rel}` | {status} (whole file) | {counts} |")
            continue
        diff = unified(old, new, f"{old_name}/{rel}", f"{new_name}/{rel}")
        outputs[f"{pair}/files/{rel}.diff"] = diff
        added = sum(1 for x in diff.splitlines() if x.startswith("+") and not x.startswith("+++"))
        removed = sum(1 for x in diff.splitlines() if x.startswith("-") and not x.startswith("---"))
        rows.append(f"| `{rel}` | changed | +{added} | −{removed} |")
        fence = fence_for(diff)
        block = indent(f"{fence}diff\n{diff}{fence}\n")
        tabs.append(f'=== "{rel}"\n\n{block}\n')

    outputs[f"{pair}/summary.md"] = (
        f"| file | {old_name} → {new_name} | added | removed |\n"
        "| --- | --- | ---: | ---: |\n" + "\n".join(rows) + "\n"
    )
    outputs[f"{pair}/tabs.md"] = "".join(tabs) if tabs else "No file changed in both chapters.\n"

    old_tree, new_tree = tree_lines(old_files), tree_lines(new_files)
    width = max(len(x) for x in old_tree + [old_name + "/"]) + 4
    side = [f"{old_name + '/':<{width}}{new_name}/"]
    for i in range(max(len(old_tree), len(new_tree))):
        left = "    " + old_tree[i] if i < len(old_tree) else ""
        right = "    " + new_tree[i] if i < len(new_tree) else ""
        side.append(f"{left:<{width}}{right}".rstrip())
    outputs[f"{pair}/tree.txt"] = "\n".join(side) + "\n"

    for part in parts:
        old = read_part(old_dir, part.old)
        new = read_part(new_dir, part.new)
        diff = unified(old, new, f"{old_name}/{part.old}", f"{new_name}/{part.new}")
        outputs[f"{pair}/parts/{part.slug}.diff"] = diff or "(no difference)\n"
    return outputs


def generate(root: Path = ROOT) -> list[Path]:
    """Write every generated file under ``root/generated``; return those rewritten."""
    out_dir = root / GENERATED_DIR
    wanted: dict[Path, str] = {}
    for old_name, new_name, parts in PAIRS:
        for rel, content in pair_outputs(root, old_name, new_name, parts).items():
            wanted[out_dir / rel] = content

    written = []
    for path, content in wanted.items():
        if path.is_file() and path.read_text("utf-8") == content:
            continue  # unchanged: do not touch it, or `mkdocs serve` may loop
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, "utf-8")
        written.append(path)
    # A file that is no longer generated (a chapter file was deleted) must not
    # linger: a page that still includes it should fail the build.
    diffs_dir = out_dir / "diffs"
    if diffs_dir.is_dir():
        for path in sorted(diffs_dir.rglob("*"), reverse=True):
            if path.is_file() and path not in wanted:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    return written


# --------------------------------------------------------------------------- versions


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(root: Path = ROOT) -> dict[str, tuple[str, str]]:
    """constraints.txt as {normalized name: (display name, version)}."""
    pins = {}
    for line in (root / "constraints.txt").read_text("utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*==\s*([^\s;]+)", line)
        if not match:
            raise ValueError(f"constraints.txt: not an exact pin: {line!r}")
        pins[normalize(match[1])] = (match[1], match[2])
    return pins


def split_requirement(req: str) -> tuple[str, list[str], str]:
    """'psycopg[binary]>=3.2,<4' -> ('psycopg', ['binary'], '>=3.2,<4')."""
    match = re.match(r"\s*([A-Za-z0-9_.-]+)(?:\[([^\]]*)\])?\s*(.*)", req)
    if not match:
        raise ValueError(f"cannot read requirement {req!r}")
    extras = [e.strip() for e in (match[2] or "").split(",") if e.strip()]
    return match[1], extras, match[3].split(";", 1)[0].strip()


def in_range(version: str, spec: str) -> bool | None:
    """Does ``version`` satisfy ``spec``? None when ``packaging`` is missing."""
    try:
        from packaging.specifiers import SpecifierSet
    except ImportError:  # pragma: no cover - mkdocs depends on packaging
        return None
    return SpecifierSet(spec).contains(version, prereleases=True)


def interpreter() -> str:
    return f"{platform.python_implementation()} {platform.python_version()}"


def requires_python(chapter_dir: Path) -> str:
    project = tomllib.loads((chapter_dir / "pyproject.toml").read_text("utf-8"))["project"]
    return project.get("requires-python", "any")


def versions_all(root: Path = ROOT) -> str:
    """Every pin in constraints.txt, plus the Python versions, as a collapsed admonition."""
    pins = read_pins(root)
    requires = {
        chapter.name: requires_python(chapter)
        for chapter in sorted((root / CHAPTERS_DIR).iterdir())
        if (chapter / "pyproject.toml").is_file()
    }
    if len(set(requires.values())) == 1:
        python = f"every chapter accepts `{next(iter(requires.values()))}`"
    else:
        python = ", ".join(f"{k} accepts `{v}`" for k, v in requires.items())
    headline = " · ".join(
        f"{pins[key][0]} {pins[key][1]}" for key in ("flask", "sqlalchemy") if key in pins
    )
    rows = "\n".join(f"    | {name} | `{version}` |" for name, version in pins.values())
    return (
        f'???+ info "Tested with {headline} · Python {next(iter(requires.values()), "")}"\n\n'
        "    Every nox test session installs exactly these pins from `constraints.txt`:\n\n"
        "    | package | pinned version |\n"
        "    | --- | --- |\n"
        f"{rows}\n\n"
        f"    Python: {python} (`requires-python`); the tests run on\n"
        "    the interpreter nox is started with. This page was built with\n"
        f"    {interpreter()}. The docs build fills this box in; nobody types it.\n"
    )


HEADLINE = ("flask", "flask-sqlalchemy", "sqlalchemy")


def versions_chapter(chapter: str, root: Path = ROOT) -> str:
    """One chapter's dependencies (pyproject.toml) with their pins (constraints.txt)."""
    pyproject = root / CHAPTERS_DIR / chapter / "pyproject.toml"
    if not pyproject.is_file():
        raise FileNotFoundError(f"<!-- versions:{chapter} -->: no {pyproject}")
    project = tomllib.loads(pyproject.read_text("utf-8"))["project"]
    pins = read_pins(root)
    groups = [("runtime", project.get("dependencies", []))]
    groups += sorted(project.get("optional-dependencies", {}).items())
    # name -> [shown name, version, accepted range, where it is needed]
    table: dict[str, list] = {}
    for group, reqs in groups:
        for req in reqs:
            name, extras, spec = split_requirement(req)
            key = normalize(name)
            if key not in pins:
                log.warning("versions: %s (from %s) has no pin in constraints.txt", name, chapter)
                continue
            shown, version = pins[key]
            if in_range(version, spec) is False:
                log.warning(
                    "versions: %s==%s is outside %s declared by %s", shown, version, spec, chapter
                )
            # psycopg[binary] installs psycopg-binary: show its pin too.
            for extra in extras:
                if f"{key}-{normalize(extra)}" in pins:
                    extra_name, extra_version = pins[f"{key}-{normalize(extra)}"]
                    shown += f" + {extra_name}"
                    version += f"` + `{extra_version}"
            where = "required" if group == "runtime" else f"`[{group}]`"
            if key in table:
                table[key][3] += f", {where}"
            else:
                table[key] = [shown, version, spec or "any", where]
    rows = "\n".join(
        f"    | {shown} | `{version}` | `{spec}` | {where} |"
        for shown, version, spec, where in table.values()
    )
    # The headline names the libraries the chapters are about, when present.
    headline = [f"{table[k][0]} {pins[k][1]}" for k in HEADLINE if k in table and k in pins]
    python = project.get("requires-python", "any")
    return (
        f'??? info "Tested with {" · ".join(headline)} · Python {python}"\n\n'
        f"    What `chapters/{chapter}/pyproject.toml` accepts, and the exact version\n"
        "    every nox test session installs (pinned in the repository's `constraints.txt`):\n\n"
        "    | package | tested | accepted | needed |\n"
        "    | --- | --- | --- | --- |\n"
        f"{rows}\n\n"
        f"    Python: the chapter accepts `{python}`; its tests run on the interpreter\n"
        f"    nox is started with. This page was built with {interpreter()}.\n"
        "    The docs build fills this box in; nobody types it.\n"
    )


VERSIONS_LINE = re.compile(r"^<!-- versions(?::([A-Za-z0-9_.-]+))? -->[ \t]*$", re.MULTILINE)


# --------------------------------------------------------------------------- mkdocs events


def _root(config) -> Path:
    return Path(config["config_file_path"]).resolve().parent


def footer_stamp(root: Path = ROOT) -> str:
    """One line for the footer of every page: the main pins and the Python range."""
    pins = read_pins(root)
    names = [f"{pins[k][0]} {pins[k][1]}" for k in (*HEADLINE, "werkzeug") if k in pins]
    pythons = sorted(
        {
            requires_python(c)
            for c in (root / CHAPTERS_DIR).iterdir()
            if (c / "pyproject.toml").is_file()
        }
    )
    return (
        f"Chapters tested with {', '.join(names)} on Python {' / '.join(pythons)} "
        "(pins from constraints.txt, stamped by the docs build)."
    )


def on_config(config):
    # Material shows `copyright` in the footer of every page.
    config["copyright"] = footer_stamp(_root(config))
    return config


def on_pre_build(config) -> None:
    written = generate(_root(config))
    if written:
        log.info("docs_hooks: regenerated %d diff file(s) in %s/", len(written), GENERATED_DIR)


def on_page_markdown(markdown: str, page, config, files) -> str:
    root = _root(config)

    def replace(match: re.Match) -> str:
        try:
            return versions_chapter(match[1], root) if match[1] else versions_all(root)
        except (OSError, ValueError, KeyError) as error:
            log.warning("%s: %s", page.file.src_uri, error)
            return match[0]

    return VERSIONS_LINE.sub(replace, markdown)


if __name__ == "__main__":
    for written_path in generate():
        print(written_path.relative_to(ROOT))
