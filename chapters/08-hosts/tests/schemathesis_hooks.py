"""schemathesis, logged in: every request carries a real account's token.

    SCHEMATHESIS_HOOKS=tests/schemathesis_hooks.py schemathesis run ...

schemathesis tests logging out, changing the password and deleting the account
too, and each of them ends the token. On a 401 it calls ``get`` again for a new
one, then sends the request again (``retry_on``, 401 by default).
"""

from __future__ import annotations

import json
import secrets
import urllib.request

import schemathesis


def post(url: str, body: dict[str, str]) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


@schemathesis.auth()
class NewAccount:
    def get(self, case, context) -> str:
        # A new account each time: the last one's password may have changed, or
        # the account may be gone.
        base = context.operation.schema.get_base_url().rstrip("/")
        login = {"username": f"fuzz_{secrets.token_hex(6)}", "password": secrets.token_urlsafe(24)}
        post(f"{base}/api/users", {**login, "email": f"{login['username']}@example.com"})
        return post(f"{base}/api/auth/login", login)["token"]

    def set(self, case, data: str, context) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
