"""Only public settings are committed: .flaskenv has no secrets, .env is ignored."""

from pathlib import Path

CHAPTER = Path(__file__).parent.parent


def settings(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {key.strip(): value.strip() for key, value in pairs}


def test_flaskenv_holds_only_public_settings():
    names = settings(CHAPTER / ".flaskenv")
    assert names, ".flaskenv should set at least FLASK_APP"
    for name in names:
        assert not any(word in name for word in ("SECRET", "PASSWORD", "TOKEN", "DATABASE_URL"))


def test_dotenv_is_ignored_by_git():
    ignored = (CHAPTER / ".gitignore").read_text().splitlines()
    assert ".env" in ignored
    assert "instance/" in ignored
