"""MkDocs hooks: code included by Python name, chapter diffs and version stamps.

Registered in ``mkdocs.yml`` under ``hooks:``. Three jobs:

* **Include by name.** A page line ``--8<-- "chapters/03-plain-sqlalchemy/blog/api.py:list_users"``
  (the pymdownx.snippets line syntax) shows one top-level function, class or
  module-level assignment of a ``.py`` file, found with :mod:`ast` at build
  time. Its decorators and the comment block directly above it (no blank line
  between) come with it. Other forms after the ``:``:

  - ``api.py:list_users,create_user,get_user``: several names that follow
    each other in the file, shown as one listing in file order, with the
    blank and comment lines between them. Every top-level statement in that
    stretch must be listed, so a listing never hides code it contains.
  - ``models.py:User.to_dict``: a method (or any name) inside a class, dedented.
  - ``hello.py:__main__``: the ``if __name__ == "__main__":`` block.
  - ``tools/proofs.toml:the_fix_in_snake_case``: one ``[[mutation]]`` entry.
  - An assignment also takes the statements right below it (no blank line)
    that start with its name: ``app = Flask(__name__)`` brings the
    ``app.config.from_mapping(...)`` that finishes building it.

  An unknown file or name is logged as an error, so ``mkdocs build --strict``
  fails (``mkdocs serve`` shows the page with a note in place of the code).
  Lines without ``:`` (whole files, captures) are left to pymdownx.snippets,
  whose ``check_paths`` fails the build for a missing file. Source files
  carry no snippet markers: nothing in a chapter exists for the docs' sake.
* ``on_pre_build`` writes chapter-to-chapter diffs into ``generated/`` at the
  repository root (gitignored), for every consecutive pair of chapters in
  :func:`tools.chapters.chapters`, from the files git tracks. Pages include
  them with pymdownx.snippets, so a diff shown in the docs is always the diff
  of the files in ``chapters/``. A file is only written when its content
  changed, so ``mkdocs serve`` does not rebuild in a loop.
* ``on_page_markdown`` also replaces a line ``<!-- versions -->`` (every pin)
  or ``<!-- versions:03-plain-sqlalchemy -->`` (one chapter's dependencies),
  outside code fences, with a collapsed admonition that lists the versions read
  from ``constraints.txt`` and the chapter's ``pyproject.toml``, and the Python
  the README promises. A marker right under the page title is rendered at the
  end of the page's introduction, so that text comes first. Nobody types a
  version number into a page.

Run ``python -m tools.docs_hooks`` to regenerate ``generated/`` without a build.
"""

from __future__ import annotations

import ast
import difflib
import itertools
import logging
import os
import platform
import re
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

if __package__ == "tools":  # imported as tools.docs_hooks (tests, python -m tools.docs_hooks)
    from .chapters import chapters
else:  # mkdocs loads a hook from its path, with the hook's folder on sys.path meanwhile
    from chapters import chapters  # type: ignore[no-redef]

log = logging.getLogger("mkdocs.hooks.docs_hooks")

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS_DIR = "chapters"
GENERATED_DIR = "generated"


# --------------------------------------------------------------------------- includes

# The pymdownx.snippets single-line include, e.g. `--8<-- "chapters/01-minimal/app.py:get_db"`.
# A leading `;` escapes it (shown as text). This is the only include parser in the repository.
INCLUDE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<escape>;*)-{1,}8<-{1,}[ \t]+"
    r"""(?P<q>["'])(?P<target>.+?)(?P=q)[ \t]*$"""
)
LINE_RANGE = re.compile(r"(?P<path>.*?)(?P<range>(?::-?\d*){1,2}(?:,-?\d*(?::-?\d*)?)*)")
NAME_LIST = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*(?:,[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)*")


@dataclass(frozen=True)
class Include:
    """One include line of a page: ``path``, and the ``names`` after ``:`` (if any)."""

    line: int  # 1-based line number in the page
    indent: str
    target: str
    path: str
    names: tuple[str, ...] = ()
    line_range: bool = False


def parse_target(target: str) -> tuple[str, tuple[str, ...], bool]:
    """'a/b.py:f,g' -> ('a/b.py', ('f', 'g'), False); 'a/b.py:3:9' -> ('a/b.py', (), True)."""
    match = LINE_RANGE.fullmatch(target)
    if match and match["range"]:
        return match["path"], (), True
    path, _, spec = target.rpartition(":")
    if path and NAME_LIST.fullmatch(spec):
        return path, tuple(spec.split(",")), False
    return target, (), False


def includes_in(markdown: str) -> list[Include]:
    """Every (unescaped) include line of a page."""
    found = []
    for number, line in enumerate(markdown.splitlines(), 1):
        match = INCLUDE.match(line)
        if match and not match["escape"]:
            path, names, line_range = parse_target(match["target"])
            found.append(Include(number, match["indent"], match["target"], path, names, line_range))
    return found


class MissingName(LookupError):
    """A name asked for by a page is not (or not uniquely) in the file."""


@dataclass
class Unit:
    """A statement of a body, with the lines that belong to it (1-based, inclusive)."""

    names: tuple[str, ...]
    start: int
    end: int
    node: ast.stmt


def defined_names(node: ast.stmt) -> tuple[str, ...]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return (node.name,)
    if isinstance(node, ast.Assign):
        return tuple(t.id for t in node.targets if isinstance(t, ast.Name))
    if isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name):
        return (node.target.id,)
    if (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Compare)
        and isinstance(node.test.left, ast.Name)
        and node.test.left.id == "__name__"
        and len(node.test.comparators) == 1
        and isinstance(node.test.comparators[0], ast.Constant)
        and node.test.comparators[0].value == "__main__"
    ):
        return ("__main__",)
    return ()


def root_name(node: ast.stmt) -> str | None:
    """'app' for ``app.config.from_mapping(...)`` or ``app.config["X"] = 1``."""
    if isinstance(node, ast.Expr):
        expr = node.value
    elif isinstance(node, ast.Assign) and len(node.targets) == 1:
        expr = node.targets[0]
    else:
        return None
    while isinstance(expr, (ast.Call, ast.Attribute, ast.Subscript)):
        expr = expr.func if isinstance(expr, ast.Call) else expr.value
    return expr.id if isinstance(expr, ast.Name) else None


def units_of(body: list[ast.stmt], lines: list[str], floor: int) -> list[Unit]:
    """The statements of ``body``, each with its decorators and the comments above it.

    ``floor`` is the last line before the body (a comment block never reaches above it).
    """
    units: list[Unit] = []
    previous_end = floor
    for node in body:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        last = node.end_lineno or node.lineno
        if units and units[-1].names and first == units[-1].end + 1:
            owner = units[-1]
            if isinstance(owner.node, (ast.Assign, ast.AnnAssign)) and root_name(node) in (
                owner.names
            ):
                owner.end = last  # `app.config...` right below `app = Flask(...)`
                previous_end = last
                continue
        start = first
        while start - 1 > previous_end and lines[start - 2].strip().startswith("#"):
            start -= 1
        units.append(Unit(defined_names(node), start, last, node))
        previous_end = last
    return units


def find_unit(units: list[Unit], name: str, where: str) -> int:
    found = [i for i, unit in enumerate(units) if name in unit.names]
    if not found:
        raise MissingName(f"no function, class or assignment named {name!r} in {where}")
    if len(found) > 1:
        raise MissingName(f"{name!r} is defined {len(found)} times in {where}")
    return found[0]


def body_units(module: ast.Module, lines: list[str], owner: str, where: str) -> list[Unit]:
    """The units of the module (``owner`` empty) or of the class ``owner`` ('A' or 'A.B')."""
    units = units_of(module.body, lines, 0)
    label = where
    for part in owner.split(".") if owner else []:
        node = units[find_unit(units, part, label)].node
        if not isinstance(node, ast.ClassDef):
            raise MissingName(f"{part!r} in {label} is not a class")
        units = units_of(node.body, lines, node.lineno)
        label = f"{label}:{part}"
    return units


def source_of(text: str, names: tuple[str, ...], where: str) -> str:
    """The source of ``names`` (top-level, or ``Class.member``) in the Python ``text``."""
    lines = text.splitlines(True)
    module = ast.parse(text, filename=where)
    owners = {name.rpartition(".")[0] for name in names}
    if len(owners) > 1:
        raise MissingName(f"{where}:{','.join(names)}: list names of one body only")
    owner = owners.pop()
    units = body_units(module, lines, owner, where)
    label = f"{where}:{owner}" if owner else where
    chosen = sorted(find_unit(units, name.rpartition(".")[2], label) for name in names)
    if len(set(chosen)) < len(chosen):
        raise MissingName(f"{where}:{','.join(names)} names one statement twice")
    skipped = [units[i] for i in range(chosen[0], chosen[-1] + 1) if i not in chosen]
    if skipped:
        shown = ", ".join(", ".join(u.names) or f"the statement on line {u.start}" for u in skipped)
        raise MissingName(
            f"{where}:{','.join(names)} would also show {shown}: "
            "list every statement in between, or use two includes"
        )
    first, last = units[chosen[0]], units[chosen[-1]]
    cut = first.node.col_offset  # a member of a class is shown dedented
    return "".join(
        "\n" if not line.strip() else line[cut:] if line[:cut].isspace() else line
        for line in lines[first.start - 1 : last.end]
    )


def read_source(root: Path, path: str, names: tuple[str, ...], label: str = "") -> str:
    """``names`` of the file ``path`` (relative to ``root``), or the whole file."""
    file, label = root / path, label or path
    if not file.is_file():
        raise FileNotFoundError(f"no file {label}")
    text = file.read_text("utf-8")
    if not names:
        return text
    if path == "tools/proofs.toml":
        return proof_entry(text, names, label)
    if not path.endswith(".py"):
        raise MissingName(f"{label}: only .py files can be included by name (include the file)")
    return source_of(text, names, label)


def proof_entry(text: str, names: tuple[str, ...], where: str) -> str:
    """The ``[[mutation]]`` of ``tools/proofs.toml`` whose fix, in snake_case, is the one name."""
    wanted = names[0] if len(names) == 1 else ""
    for chunk in re.split(r"(?m)^(?=\[\[mutation\]\]$)", text)[1:]:
        # What follows the entry's last key (a comment heading the next group) is not its.
        entry = re.sub(r"(?s)\n(?:#[^\n]*\n|\n)*\Z", "\n", chunk)
        fix = tomllib.loads(entry)["mutation"][0]["fix"]
        if re.sub(r"\W+", "_", fix).strip("_").lower() == wanted:
            return entry
    raise MissingName(f"{where}: no mutation whose fix reads {wanted!r}")


def expand_includes(markdown: str, root: Path, where: str) -> str:
    """Replace every include-by-name line with the source it names, indented like the line."""
    lines = markdown.splitlines(True)
    expanded = {}
    for include in includes_in(markdown):
        if not include.names:
            continue  # a whole file: pymdownx.snippets includes it (and checks the path)
        try:
            code = read_source(root, include.path, include.names)
        except (OSError, SyntaxError, MissingName) as error:
            # An error, not a warning: `mkdocs build --strict -q` does not count warnings.
            log.error("%s:%d: %s", where, include.line, error)
            code = f"(include failed: {include.target})\n"
        body = [include.indent + line for line in code.splitlines(True)]
        if body and not body[-1].endswith("\n"):
            body[-1] += "\n"
        expanded[include.line] = "".join(body)
    return "".join(expanded.get(number, line) for number, line in enumerate(lines, 1))


# --------------------------------------------------------------------------- fences


@dataclass(frozen=True)
class Fence:
    """A fenced code block of a page: info string and body lines (line numbers 1-based)."""

    start: int  # line of the opening fence
    end: int  # line of the closing fence (or the last line, if never closed)
    info: str
    body: tuple[str, ...]

    @property
    def lang(self) -> str:
        return re.split(r"[\s{}]", self.info.lstrip("{").lstrip("."), maxsplit=1)[0].lower()


FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`]*)$")


def fences_in(markdown: str) -> list[Fence]:
    """Every fenced block, indented ones (in tabs, admonitions) included."""
    blocks, lines, i = [], markdown.splitlines(), 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, start, body = match["fence"], i, []
        i += 1
        while i < len(lines):
            closing = FENCE.match(lines[i])
            if (
                closing
                and closing["fence"][0] == fence[0]
                and len(closing["fence"]) >= len(fence)
                and not closing["info"].strip()
            ):
                break
            body.append(lines[i])
            i += 1
        blocks.append(
            Fence(start + 1, min(i, len(lines) - 1) + 1, match["info"].strip(), tuple(body))
        )
        i += 1
    return blocks


def lines_in_fences(markdown: str) -> set[int]:
    """1-based numbers of the lines that are fences or inside one."""
    return {n for f in fences_in(markdown) for n in range(f.start, f.end + 1)}


# --------------------------------------------------------------------------- files


def chapter_files(chapter: Path) -> list[str]:
    """Relative paths (posix) of the files git tracks in ``chapter``, sorted.

    Only tracked files: a scratch file, a database or a coverage file left in
    the folder is not part of the chapter a reader copies.
    """
    result = subprocess.run(
        ["git", "ls-files", "-z", "--", "."],
        cwd=chapter,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"git ls-files failed in {chapter}: the docs are built from a git checkout\n"
            + result.stderr
        )
    names = [name for name in result.stdout.split("\0") if name]
    return sorted(name for name in names if (chapter / name).is_file())


def read_text_or_none(path: Path) -> str | None:
    """The file's text, or None for a binary file (shown in the table, not diffed)."""
    try:
        return path.read_text("utf-8")
    except UnicodeDecodeError:
        return None


def read_part(chapter: Path, spec: str) -> str:
    """``path`` or ``path:name,name`` of a chapter (see the module docstring)."""
    path, names, _ = parse_target(spec)
    return read_source(chapter, path, names, label=f"{chapter.name}/{path}")


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


@dataclass(frozen=True)
class PartDiff:
    """A piece of one chapter that maps onto a piece of the next one.

    ``old`` and ``new`` are ``path`` or ``path:name,name`` (relative to the
    chapter folder, names as in an include). The diff is written to
    ``<pair>/parts/<slug>.diff``.
    """

    slug: str
    old: str
    new: str


# 01 -> 02: one file becomes a package, so a whole-file diff of app.py says
# little. Instead the build compares the file trees and diffs the parts of
# app.py that map onto a module of the package.
PARTS = {
    ("01", "02"): (
        PartDiff(
            "validation",
            "app.py:USERNAME,EMAIL,USER_FIELDS,POST_FIELDS,json_body",
            "blog/validation.py",
        ),
        PartDiff(
            "errors",
            "app.py:handle_http_error,handle_database_busy,handle_unexpected_error",
            "blog/errors.py:handle_http_error,handle_database_busy,handle_unexpected_error,init_app",
        ),
        PartDiff("init-db", "app.py:init_db_command", "blog/cli.py:init_db_command"),
        PartDiff(
            "users",
            "app.py:list_users,create_user,get_user",
            "blog/api.py:list_users,create_user,get_user",
        ),
        PartDiff(
            "posts",
            "app.py:list_posts,create_post,get_user_or_404",
            "blog/api.py:list_posts,create_post",
        ),
        PartDiff("config", "app.py:app", "blog/config.py"),
    ),
}


def pairs(root: Path = ROOT) -> list[tuple[str, str, tuple[PartDiff, ...]]]:
    """(old chapter, new chapter, parts) for every two consecutive chapters."""
    found = chapters(root)
    return [
        (found[a].name, found[b].name, PARTS.get((a, b), ())) for a, b in itertools.pairwise(found)
    ]


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
        old = read_text_or_none(old_dir / rel) if rel in old_files else ""
        new = read_text_or_none(new_dir / rel) if rel in new_files else ""
        if old is None or new is None:
            rows.append(f"| `{rel}` | binary file, not compared | | |")
            continue
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
        try:
            old = read_part(old_dir, part.old)
            new = read_part(new_dir, part.new)
        except (OSError, SyntaxError, MissingName) as error:
            # Logged as an error so a strict build fails; the page says what broke.
            log.error("%s diff, part %r (PARTS in tools/docs_hooks.py): %s", pair, part.slug, error)
            outputs[f"{pair}/parts/{part.slug}.diff"] = f"(part missing: {error})\n"
            continue
        old_file, new_file = parse_target(part.old)[0], parse_target(part.new)[0]
        diff = unified(old, new, f"{old_name}/{old_file}", f"{new_name}/{new_file}")
        outputs[f"{pair}/parts/{part.slug}.diff"] = diff or "(no difference)\n"
    return outputs


def generate(root: Path = ROOT) -> list[Path]:
    """Write every generated file under ``root/generated``; return those rewritten."""
    out_dir = root / GENERATED_DIR
    wanted: dict[Path, str] = {}
    for old_name, new_name, parts in pairs(root):
        for rel, content in pair_outputs(root, old_name, new_name, parts).items():
            wanted[out_dir / rel] = content

    written = []
    for path, content in wanted.items():
        if path.is_file() and path.read_text("utf-8") == content:
            continue  # unchanged: do not touch it, or `mkdocs serve` may loop
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside, then renamed into place: builds that run at the same time
        # (the docs and browser sessions) read a file whole, never half-written.
        # Aside means outside diffs/, whose strays the loop below deletes.
        aside = out_dir / f".writing-{os.getpid()}"
        aside.write_text(content, "utf-8")
        aside.replace(path)
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


def normalize_package_name(name: str) -> str:
    """A package name as pip compares it: 'Flask_SQLAlchemy' -> 'flask-sqlalchemy'."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(root: Path = ROOT, name: str = "constraints.txt") -> dict[str, tuple[str, str]]:
    """A file of exact pins as {normalized name: (display name, version)}."""
    pins = {}
    for line in (root / name).read_text("utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*==\s*([^\s;]+)", line)
        if not match:
            raise ValueError(f"{name}: not an exact pin: {line!r}")
        pins[normalize_package_name(match[1])] = (match[1], match[2])
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


# "You need Python 3.11.2 or newer": the oldest Python the README promises, the
# one CI runs the sessions on. tests/test_python_floor.py holds every pin to it.
PYTHON_PROMISE = re.compile(r"Python (\d+\.\d+\.\d+) or newer")


def tested_python(root: Path = ROOT) -> str:
    """The Python version the README promises, read from its own words."""
    promises = set(PYTHON_PROMISE.findall((root / "README.md").read_text("utf-8")))
    if len(promises) != 1:
        raise ValueError(f"README.md should name one oldest Python, names {sorted(promises)}")
    return promises.pop()


def python_note(accepts: str, root: Path) -> str:
    """The box's last paragraph: which Python the chapters accept, and which ran the tests."""
    return (
        f"    Python: {accepts} (`requires-python`). CI runs the\n"
        f"    sessions on Python {tested_python(root)}, the oldest the repository's README\n"
        "    promises; on your machine they run on the interpreter nox is started with.\n"
        f"    This page was built with {interpreter()}. The docs build fills this box in;\n"
        "    nobody types it.\n"
    )


def versions_all(root: Path = ROOT) -> str:
    """Every pin in constraints.txt, plus the Python versions, as a collapsed admonition."""
    pins = read_pins(root)
    requires = {chapter.name: requires_python(chapter) for chapter in chapters(root).values()}
    if len(set(requires.values())) == 1:
        python = f"every chapter accepts `{next(iter(requires.values()))}`"
    else:
        python = ", ".join(f"{k} accepts `{v}`" for k, v in requires.items())
    headline = " · ".join(
        f"{pins[key][0]} {pins[key][1]}" for key in ("flask", "sqlalchemy") if key in pins
    )
    rows = "\n".join(f"    | {name} | `{version}` |" for name, version in pins.values())
    docs = ", ".join(f"{n} {v}" for n, v in read_pins(root, "requirements/docs.txt").values())
    return (
        f'??? info "Tested with {headline} · Python {tested_python(root)}"\n\n'
        "    The chapter sessions (`nox -s chapter-03` on SQLite, `chapter-03-postgres`),\n"
        "    the pitfalls, the proofs and the benchmark install these pins from\n"
        "    `constraints.txt`. The `chapter-NN-lowest` sessions run each\n"
        "    chapter's tests again without them, at the lowest version of each range its\n"
        "    `pyproject.toml` accepts, on PostgreSQL from chapter 02 on. The default run\n"
        "    has both; `chapter-NN-postgres` runs by name only.\n"
        "    The site is built with the pins of\n"
        f"    `requirements/docs.txt`: {docs}.\n\n"
        "    | package | pinned version |\n"
        "    | --- | --- |\n"
        f"{rows}\n\n"
        f"{python_note(python, root)}"
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
            key = normalize_package_name(name)
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
                if f"{key}-{normalize_package_name(extra)}" in pins:
                    extra_name, extra_version = pins[f"{key}-{normalize_package_name(extra)}"]
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
    number = chapter[:2]
    extras = project.get("optional-dependencies", {})
    lowest_where = " (on PostgreSQL)" if "postgres" in extras else ""
    return (
        f'??? info "Tested with {" · ".join(headline)} · Python {tested_python(root)}"\n\n'
        f"    What `chapters/{chapter}/pyproject.toml` accepts, and the version pinned in\n"
        f"    the repository's `constraints.txt`, which `nox -s chapter-{number}` installs.\n"
        f"    `nox -s chapter-{number}-lowest` runs the same tests without the pins, at the\n"
        f"    lowest version of each accepted range{lowest_where}.\n\n"
        "    | package | pinned | accepted | needed |\n"
        "    | --- | --- | --- | --- |\n"
        f"{rows}\n\n"
        f"{python_note(f'the chapter accepts `{python}`', root)}"
    )


VERSIONS_LINE = re.compile(r"^<!-- versions(?::([A-Za-z0-9_.-]+))? -->[ \t]*$")


# --------------------------------------------------------------------------- mkdocs events


def _root(config) -> Path:
    return Path(config["config_file_path"]).resolve().parent


def footer_stamp(root: Path = ROOT) -> str:
    """One line for the footer of every page: the main pins and the tested Python."""
    pins = read_pins(root)
    names = [f"{pins[k][0]} {pins[k][1]}" for k in (*HEADLINE, "werkzeug") if k in pins]
    return (
        f"Chapters tested with {', '.join(names)} (pinned in constraints.txt) and at the "
        f"lowest versions each chapter accepts, on Python {tested_python(root)} "
        "(stamped by the docs build)."
    )


def on_config(config):
    # Material shows `copyright` in the footer of every page.
    config["copyright"] = footer_stamp(_root(config))
    return config


def on_pre_build(config) -> None:
    written = generate(_root(config))
    if written:
        log.info("docs_hooks: regenerated %d diff file(s) in %s/", len(written), GENERATED_DIR)


def box_position(lines: list[str], number: int, fenced: set[int]) -> int:
    """Where the box of the marker on line ``number`` goes (a 0-based index into lines).

    A marker right under the page title would open the page with the box, before
    any text: it moves to the end of the introduction, before the first ``## ``
    heading (or to the end of the page). A marker anywhere else stays where it is.
    """
    above = [line for line in lines[: number - 1] if line.strip()]
    if len(above) != 1 or not above[0].startswith("# "):
        return number - 1
    for index in range(number, len(lines)):
        if index + 1 not in fenced and lines[index].startswith("## "):
            return index
    return len(lines)


def expand_versions(markdown: str, root: Path, where: str) -> str:
    """Replace each ``<!-- versions... -->`` line outside code fences with its admonition."""
    fenced = lines_in_fences(markdown)
    lines = markdown.splitlines(True)
    boxes: dict[int, str] = {}  # 0-based line index -> box, placed before that line
    for number, line in enumerate(lines, 1):
        match = VERSIONS_LINE.match(line.rstrip("\n"))
        if not match or number in fenced:
            continue
        try:
            box = versions_chapter(match[1], root) if match[1] else versions_all(root)
        except (OSError, ValueError, KeyError) as error:
            log.warning("%s:%d: %s", where, number, error)
            continue
        lines[number - 1] = ""
        position = box_position(lines, number, fenced)
        # A blank line first, or the box would continue the paragraph above it.
        blank = "\n" if position and lines[position - 1].strip() else ""
        boxes[position] = boxes.get(position, "") + blank + box + "\n"
    if len(lines) in boxes and lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return "".join(boxes.get(index, "") + line for index, line in enumerate(lines)) + boxes.get(
        len(lines), ""
    )


def on_page_markdown(markdown: str, page, config, files) -> str:
    root, where = _root(config), f"docs/{page.file.src_uri}"
    # Includes first, so that their errors point at the line of the page as written.
    return expand_versions(expand_includes(markdown, root, where), root, where)


if __name__ == "__main__":
    for written_path in generate():
        print(written_path.relative_to(ROOT))
