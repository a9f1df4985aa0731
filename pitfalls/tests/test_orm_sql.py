"""The ORM's hidden statements: a reload after commit, a lazy load, an autoflush."""

import re

import pytest

from pitfalls import run_demo


@pytest.fixture(scope="module")
def blocks() -> dict[str, list[str]]:
    """{'POST /users': [statement, ...], ..., '$ flask seed': [...]} from the demonstration."""
    found: dict[str, list[str]] = {}
    current = None
    for line in run_demo("orm-sql").splitlines():
        if line.startswith("  "):
            found[current].append(line.strip())
        elif re.match(r"^(GET|POST) \S+ -> \d{3}$|^\$ ", line):
            current = line.rsplit(" -> ", 1)[0]
            found[current] = []
    return found


def test_creating_a_user_reloads_it_after_the_commit(blocks):
    check, insert, reload = blocks["POST /users"]
    assert check.startswith("SELECT users.id FROM users WHERE users.username = ?")
    assert insert.startswith("INSERT INTO users")
    # commit() expired the new object; to_dict() fetched it again.
    assert reload.startswith("SELECT users.id, users.username, users.email FROM users WHERE")


def test_reading_user_posts_is_a_lazy_load(blocks):
    user, posts = blocks["GET /users/1/posts"]
    assert "FROM users WHERE users.id = ?" in user
    assert "FROM posts WHERE ? = posts.user_id" in posts  # sent when .posts was touched


def test_the_user_list_is_one_statement(blocks):
    assert len(blocks["GET /users"]) == 1


def kind(statement: str) -> str:
    """'INSERT INTO posts (...' -> 'INSERT posts'; 'SELECT ... FROM users ...' -> 'SELECT users'."""
    table = re.search(r"(?:FROM|INTO) (\w+)", statement)[1]
    return f"{statement.split()[0]} {table}"


def test_seed_flushes_before_each_query(blocks):
    # ada exists already. grace's rows go out when the query for linus runs (autoflush),
    # and linus's rows at the commit.
    assert [kind(statement) for statement in blocks["$ flask seed"]] == [
        "SELECT users",  # ada? found
        "SELECT users",  # grace? not found: added to the session
        "INSERT users",
        "INSERT posts",
        "SELECT users",  # linus? ... sent only after grace's rows
        "INSERT users",
        "INSERT posts",
    ]
