"""The API's contract as an OpenAPI 3.1 document, served at /api/openapi.json.

APIFlask writes it from the views' decorators and the models in schemas.py.
What the views share is added here, once: the answers every body, token or
database can bring, and the bounds of the ids in URLs.
"""

from __future__ import annotations

from typing import Any

from apiflask import APIFlask

from blog.models import MAX_ID
from blog.schemas import Error

ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
# The answers a request can meet by what it sends, and the header each carries.
ANY_REQUEST = {"503": ("The database is busy or unavailable; try again.", "Retry-After")}
WITH_A_BODY = {
    "400": ("The request is not valid; the message says why.", None),
    "413": ("The body is larger than the server accepts.", None),
    "415": ("The body is not JSON.", None),
}
WITH_A_TOKEN = {"401": ("No token, or a malformed, unknown or expired one.", "WWW-Authenticate")}
# Declared by the rate-limited views (blog/ratelimit.py) with @bp.doc.
RATE_LIMITED = {"429": ("Too many attempts from this client or for this account.", "Retry-After")}


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """Add to every operation what its route shares with others."""
    document["components"]["schemas"]["Error"] = Error.model_json_schema()
    for item in document["paths"].values():
        for operation in item.values():
            answers = dict(ANY_REQUEST)
            if "requestBody" in operation:
                # APIFlask leaves a body optional; every body here is required.
                operation["requestBody"]["required"] = True
                answers |= WITH_A_BODY
            if operation.get("security"):
                answers |= WITH_A_TOKEN
            if "429" in operation["responses"]:
                answers |= RATE_LIMITED
            for code, (description, header) in answers.items():
                answer = operation["responses"][code] = {
                    "description": description,
                    "content": ERROR,
                }
                if header:
                    answer["headers"] = {header: {"required": True, "schema": {"type": "string"}}}
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":  # ids: 1 to the largest a database stores
                    parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    return document


def init_app(app: APIFlask) -> None:
    app.config.update(
        # A body or query that breaks the contract is a 400, as every other bad
        # request here, not APIFlask's 422; its answer is an Error, as all are.
        VALIDATION_ERROR_STATUS_CODE=400,
        VALIDATION_ERROR_SCHEMA=Error.model_json_schema(),
        HTTP_ERROR_SCHEMA=Error.model_json_schema(),
        # Named after the endpoint, e.g. get_posts_get_post: links between
        # operations (a new post, then reading it) refer to these names.
        AUTO_OPERATION_ID=True,
        AUTO_SERVERS=False,  # the paths start with /api, on whatever host serves them
    )
    app.spec_processor(complete)
