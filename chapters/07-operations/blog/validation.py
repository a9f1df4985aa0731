"""What a request sends before the contract sees it: ids in URLs and JSON bodies.

blog/schemas.py says what a body must hold; this module makes sure there is a
JSON object to check, read within the size limit. Every failure is a 4xx.
"""

from __future__ import annotations

from typing import Any

from flask import Request, abort, current_app
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter


class IdConverter(IntegerConverter):
    """``<id:...>`` in a route: like ``<int:...>``, but one spelling per id.

    ``int`` also takes other scripts' digits ("١", "１") and leading zeros
    ("01"), so one user would have many URLs, and a proxy rule or cache key
    written for /users/1 would miss some. Ids start at 1.
    """

    regex = r"[1-9][0-9]*"


class JSONRequest(Request):
    """A request whose ``get_json`` answers every bad body with a clear 4xx.

    APIFlask reads a body with ``get_json(force=True)``, whatever its
    Content-Type, and lets a parse error through as Werkzeug's bare 400.
    """

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        if not self.is_json:
            abort(415, "Send a JSON body with 'Content-Type: application/json'.")
        try:
            body = self.get_data()
            # Without a Content-Length (a chunked body), Werkzeug stops reading at
            # the limit instead of refusing: a body that fills it was cut short.
            limit = current_app.config["MAX_CONTENT_LENGTH"]
            if self.content_length is None and len(body) >= limit:
                raise RequestEntityTooLarge()
            data = super().get_json(force, silent, cache)
        except RequestEntityTooLarge:
            limit = current_app.config["MAX_CONTENT_LENGTH"]
            abort(413, f"The request body is larger than the limit of {limit:,} bytes.")
        except (BadRequest, RecursionError):
            abort(400, "The request body is not valid JSON.")
        except Exception:
            # The server decodes a chunked body while we read it, and raises an error
            # of its own for a malformed one (gunicorn's is neither OSError nor HTTP).
            abort(400, "The request body could not be read.")
        if not isinstance(data, dict):
            abort(400, "The request body must be a JSON object.")
        return data
