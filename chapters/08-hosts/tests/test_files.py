"""Files a copy of this app inherits: the SQLite files are yours alone, and
gunicorn writes nothing in the home folder.

Each test sets the usual umask, 022, under which a new file is readable by all:
the files are private because the app makes them so, not because of the shell.
"""

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from test_migrations import ALEMBIC
from test_servers import free_port

from blog import create_app, migrate
from blog.db import Session

BIN = Path(sys.executable).parent
CHAPTER = Path(__file__).resolve().parent.parent
SECRET = "a-real-secret-of-some-length"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def environment(**settings: str) -> dict[str, str]:
    """This process's environment without FLASK_*, plus ``settings`` as FLASK_* variables."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("FLASK_")}
    return env | {f"FLASK_{name}": value for name, value in settings.items()}


def test_the_app_creates_the_database_file_private(tmp_path, umask_022):
    # What the test fixtures, `flask db`-style scripts and a first request do:
    # connect through the app's engine to a file that does not exist yet.
    path = tmp_path / "blog.sqlite"
    create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{path}"})
    migrate.upgrade(Session.get_bind())
    assert mode(path) == 0o600
    Session.get_bind().dispose()


def test_wal_and_shm_files_take_the_database_file_mode(tmp_path, umask_022):
    path = tmp_path / "blog.sqlite"
    create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{path}"})
    with Session.get_bind().begin() as connection:
        connection.exec_driver_sql("PRAGMA journal_mode=WAL")
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE scratch (x)")  # a write, while open: -wal and -shm exist
    modes = {suffix: mode(Path(f"{path}{suffix}")) for suffix in ("", "-wal", "-shm")}
    connection.close()
    Session.get_bind().dispose()
    assert modes == {"": 0o600, "-wal": 0o600, "-shm": 0o600}


def test_flask_init_db_creates_it_private(tmp_path):
    path = tmp_path / "blog.sqlite"
    env = environment(DATABASE_URL=f"sqlite:///{path}")
    command = [BIN / "flask", "--app", "blog", "init-db"]
    subprocess.run(command, env=env, umask=0o022, check=True, capture_output=True, timeout=60)
    assert mode(path) == 0o600


def test_alembic_upgrade_head_creates_it_private(tmp_path):
    path = tmp_path / "blog.sqlite"
    ini = str(CHAPTER / "alembic.ini")
    upgrade = subprocess.run(
        [sys.executable, "-c", ALEMBIC, str(tmp_path / "instance"), "-c", ini, "upgrade", "head"],
        cwd=tmp_path,
        env=environment(DATABASE_URL=f"sqlite:///{path}"),
        umask=0o022,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert upgrade.returncode == 0, upgrade.stderr
    assert mode(path) == 0o600


def test_gunicorn_before_init_db_leaves_a_private_file(tmp_path):
    # The start check connects, which creates the file, then refuses the empty schema.
    path = tmp_path / "blog.sqlite"
    result = subprocess.run(
        [BIN / "gunicorn", "--bind", f"127.0.0.1:{free_port()}"],
        cwd=CHAPTER,
        env=environment(SECRET_KEY=SECRET, DATABASE_URL=f"sqlite:///{path}"),
        umask=0o022,
        capture_output=True,
        text=True,
        timeout=60,  # a hang guard
    )
    assert result.returncode == 1
    assert "- The schema is at no revision" in result.stderr
    assert mode(path) == 0o600


def start_check(path: Path) -> tuple[int, list[str]]:
    """`python -m blog.wsgi` on the SQLite file at ``path``: its status and problems."""
    env = environment(SECRET_KEY=SECRET, DATABASE_URL=f"sqlite:///{path}")
    check = [sys.executable, "-m", "blog.wsgi"]
    result = subprocess.run(check, env=env, capture_output=True, text=True, timeout=60)
    return result.returncode, [line for line in result.stderr.splitlines() if line.startswith("-")]


def init_db(path: Path) -> None:
    env = environment(DATABASE_URL=f"sqlite:///{path}")
    subprocess.run([BIN / "flask", "--app", "blog", "init-db"], env=env, check=True, timeout=60)


def test_the_production_start_refuses_a_database_file_others_can_open(tmp_path):
    path = tmp_path / "blog.sqlite"
    init_db(path)
    path.chmod(0o644)
    status, problems = start_check(path)
    assert status == 1
    # Its -wal and -shm files, made by the check's own connection, inherit the mode.
    assert problems[0] == f"- {path} is open to other users (mode 644). Run chmod 600 {path}."
    path.chmod(0o600)
    assert start_check(path) == (0, [])


def test_the_production_start_refuses_a_wal_file_others_can_open(tmp_path):
    # A -wal file outlives a crash, keeps its mode and is read at the next start.
    path = tmp_path / "blog.sqlite"
    init_db(path)
    writer = sqlite3.connect(path)
    writer.execute("CREATE TABLE scratch (x)")
    wal = Path(f"{path}-wal")
    wal.chmod(0o644)
    try:
        assert start_check(path) == (
            1,
            [f"- {wal} is open to other users (mode 644). Run chmod 600 {wal}."],
        )
    finally:
        writer.close()


@pytest.mark.parametrize("xdg_runtime_dir", [True, False], ids=["XDG_RUNTIME_DIR", "no XDG"])
def test_gunicorn_writes_nothing_in_the_home_folder(tmp_path, xdg_runtime_dir):
    # gunicorn's control socket would go to $XDG_RUNTIME_DIR, else ~/.gunicorn.
    home, runtime = tmp_path / "home", tmp_path / "runtime"
    home.mkdir()
    runtime.mkdir(mode=0o700)
    env = environment(SECRET_KEY=SECRET, DATABASE_URL=f"sqlite:///{tmp_path / 'blog.sqlite'}")
    subprocess.run([BIN / "flask", "--app", "blog", "init-db"], env=env, check=True, timeout=60)
    env.pop("XDG_RUNTIME_DIR", None)
    env |= {"HOME": str(home)} | ({"XDG_RUNTIME_DIR": str(runtime)} if xdg_runtime_dir else {})
    port = free_port()
    log = tmp_path / "gunicorn.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [BIN / "gunicorn", "--bind", f"127.0.0.1:{port}"],
            cwd=CHAPTER,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", server, log)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert list(home.iterdir()) == list(runtime.iterdir()) == [], log.read_text()


def wait_for(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60  # a hang guard, not a speed test
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"gunicorn did not serve {url}:\n{log.read_text()}")


def test_flask_reads_dotenv_and_gunicorn_does_not(tmp_path):
    # .env is for development, where the flask command loads it. Left next to
    # a production gunicorn.conf.py it changes nothing: the settings are missing.
    shutil.copy(CHAPTER / "gunicorn.conf.py", tmp_path)
    path = tmp_path / "blog.sqlite"
    (tmp_path / ".env").write_text(
        f"FLASK_SECRET_KEY={SECRET}\nFLASK_DATABASE_URL=sqlite:///{path}\n"
    )
    flask = subprocess.run(
        [BIN / "flask", "--app", "blog", "init-db"], cwd=tmp_path, env=environment(), timeout=60
    )
    assert flask.returncode == 0
    assert path.exists()  # the database .env names
    result = subprocess.run(
        [BIN / "gunicorn", "--bind", f"127.0.0.1:{free_port()}"],
        cwd=tmp_path,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    problems = [line[:22] for line in result.stderr.splitlines() if line.startswith("- ")]
    assert problems == ["- SECRET_KEY is not se", "- DATABASE_URL is not "], result.stderr
