"""A tiny in-memory store the variants share: the contract layer is what they compare.

Not part of any variant's line count. Passwords get a fast hash here on purpose:
the benchmark measures the contract layer, not scrypt.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# The largest id the chapter's databases can store: a larger one is a 404.
MAX_ID = 2**63 - 1
# secrets.token_urlsafe(32) has this shape; the seeded token of the tests has it too.
TOKEN_PATTERN = r"[A-Za-z0-9_-]{43}"


@dataclass
class Store:
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    posts: dict[int, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_user(self, username: str, email: str, password: str) -> dict[str, Any] | None:
        """The new account, or None when the name is taken (case-blind, as in chapter 05)."""
        with self.lock:
            if any(u["username"].lower() == username.lower() for u in self.users.values()):
                return None
            user_id = len(self.users) + 1
            self.users[user_id] = {
                "id": user_id,
                "username": username,
                "email": email,
                "password_hash": hashlib.sha256(password.encode()).hexdigest(),
            }
            return self.users[user_id]

    def add_token(self, user_id: int, token: str) -> None:
        self.tokens[hashlib.sha256(token.encode()).hexdigest()] = user_id

    def user_for_token(self, token: str) -> dict[str, Any] | None:
        user_id = self.tokens.get(hashlib.sha256(token.encode()).hexdigest())
        return self.users.get(user_id) if user_id is not None else None

    def get_user(self, user_id: int) -> dict[str, Any] | None:
        return self.users.get(user_id)

    def add_post(self, user_id: int, title: str, body: str) -> dict[str, Any]:
        with self.lock:
            post_id = len(self.posts) + 1
            self.posts[post_id] = {
                "id": post_id,
                "user_id": user_id,
                "title": title,
                "body": body,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            return self.posts[post_id]

    def get_post(self, post_id: int) -> dict[str, Any] | None:
        return self.posts.get(post_id)


def seeded(token: str) -> Store:
    """A store with user 1 ("ada"), who owns post 1 and logs in with ``token``,
    and user 2 ("grace"), who owns post 2: an ownership check has someone to refuse."""
    store = Store()
    ada = store.add_user("ada", "ada@example.com", "correct horse battery staple")
    grace = store.add_user("grace", "grace@example.com", "another long passphrase")
    assert ada is not None and grace is not None
    store.add_token(ada["id"], token)
    store.add_post(ada["id"], "Hello", "My first post.")
    store.add_post(grace["id"], "Hi", "Not yours to edit.")
    return store
