"""X-Forwarded-* headers count only when TRUSTED_PROXIES says how many proxies set them."""

import pytest
from flask import request, url_for

from blog import create_app
from blog.db import Session

# A client at 198.51.100.7 forged X-Forwarded-For: 10.0.0.1. Our one proxy
# (TLS ends there) appended the address it saw and set the scheme.
ONE_PROXY = {"X-Forwarded-For": "10.0.0.1, 198.51.100.7", "X-Forwarded-Proto": "https"}
# The same through two proxies: the outer one ends TLS, the inner one at
# 203.0.113.9 appends the outer one's address and the scheme it got.
TWO_PROXIES = {"X-Forwarded-For": "198.51.100.7, 203.0.113.9", "X-Forwarded-Proto": "https, http"}


def make_app(database_url, trusted_proxies):
    app = create_app(
        {"TESTING": True, "DATABASE_URL": database_url, "TRUSTED_PROXIES": trusted_proxies}
    )

    @app.get("/whoami")
    def whoami():
        return {"client": request.remote_addr, "url": url_for("whoami", _external=True)}

    return app


@pytest.mark.parametrize(
    ("headers", "trusted_proxies", "client", "url"),
    [
        (ONE_PROXY, 0, "127.0.0.1", "http://localhost/whoami"),  # the default: ignored
        (ONE_PROXY, 1, "198.51.100.7", "https://localhost/whoami"),  # not the forged one
        (TWO_PROXIES, 1, "203.0.113.9", "http://localhost/whoami"),  # one hop short
        (TWO_PROXIES, 2, "198.51.100.7", "https://localhost/whoami"),
    ],
)
def test_forwarded_headers_are_honoured_only_when_configured(
    database_url, headers, trusted_proxies, client, url
):
    app = make_app(database_url, trusted_proxies)
    answer = app.test_client().get("/whoami", headers=headers).json
    assert answer == {"client": client, "url": url}
    Session.get_bind().dispose()


@pytest.mark.parametrize("bad", [-1, "one", 1.5, True])
def test_a_bad_setting_is_refused(database_url, bad):
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        create_app({"TESTING": True, "DATABASE_URL": database_url, "TRUSTED_PROXIES": bad})
