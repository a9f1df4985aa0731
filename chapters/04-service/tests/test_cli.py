"""The database chores: init-db keeps data, seed is idempotent."""

from sqlalchemy import inspect

from blog import migrate


def test_init_db_creates_the_tables(flask_command, engine):
    migrate.downgrade(engine, "base")  # start from an empty database
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    result = flask_command("init-db")
    assert result.exit_code == 0, result.output
    assert "Initialized the database" in result.output
    assert set(inspect(engine).get_table_names()) >= {"users", "posts", "tokens"}


def test_init_db_keeps_existing_rows(flask_command, ada, count_rows):
    assert flask_command("init-db").exit_code == 0
    assert count_rows()["users"] == 1


def test_init_db_drop_asks_first_and_can_be_refused(flask_command, ada, count_rows):
    result = flask_command("init-db", "--drop", input="n\n")
    assert result.exit_code == 1
    assert "Aborted" in result.output
    assert count_rows()["users"] == 1


def test_init_db_drop_when_confirmed(flask_command, ada, count_rows):
    result = flask_command("init-db", "--drop", input="y\n")
    assert result.exit_code == 0, result.output
    assert count_rows() == {"users": 0, "posts": 0, "tokens": 0}


def test_seed_twice_gives_the_same_rows(flask_command, client, count_rows):
    first = flask_command("seed")
    assert first.exit_code == 0, first.output
    assert "Seeded 3 new user(s)" in first.output
    after_first = count_rows()
    assert after_first == {"users": 3, "posts": 3, "tokens": 0}

    second = flask_command("seed")
    assert "Seeded 0 new user(s); 3 already there" in second.output
    assert count_rows() == after_first
    usernames = [u["username"] for u in client.get("/api/users").json["items"]]
    assert usernames == ["ada", "grace", "linus"]
