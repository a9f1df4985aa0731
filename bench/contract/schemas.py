"""Chapter 05's input rules and output shapes as pydantic models: one description,
used by every pydantic-based variant to validate, to shape and to document.

Each rule is a pattern or a length, so the OpenAPI document says what the
validator enforces. The patterns run on Python's ``re`` (``regex_engine``), the
engine schemathesis generates examples with, so both read them the same way.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationError,
    model_validator,
)

from bench.contract.patterns import MULTILINE, ONE_LINE, PASSWORD, USERNAME

# pydantic refuses lone surrogates itself ("unable to parse raw data as a unicode string").
Strip = AfterValidator(str.strip)
Username = Annotated[str, Field(max_length=80, pattern=USERNAME), Strip]
Password = Annotated[
    str,
    Field(min_length=15, max_length=128, pattern=PASSWORD),
    # One password to its owner however "é" was typed: compare the NFKC form.
    AfterValidator(lambda value: unicodedata.normalize("NFKC", value)),
]
Title = Annotated[str, Field(max_length=200, pattern=ONE_LINE), Strip]
Body = Annotated[str, Field(max_length=10_000, pattern=MULTILINE), Strip]


class Input(BaseModel):
    # Unknown keys are refused, and the document says so (additionalProperties: false).
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")


class NewUser(Input):
    username: Username
    email: Annotated[EmailStr, Field(max_length=254)]
    password: Password


class NewPost(Input):
    title: Title
    body: Body


def no_defaults(schema: dict[str, Any]) -> None:
    """An edit sends any non-empty subset; ``null`` is no value, so no default is shown."""
    for field in schema["properties"].values():
        field.pop("default", None)
    schema["minProperties"] = 1


class PostEdit(Input):
    model_config = ConfigDict(json_schema_extra=no_defaults)

    # None is never validated (a default), so an explicit null is refused as "not a string".
    title: Title = None  # type: ignore[assignment]
    body: Body = None  # type: ignore[assignment]

    @model_validator(mode="after")
    def not_empty(self) -> PostEdit:
        if not self.model_fields_set:
            raise ValueError("Send at least one of: title, body.")
        return self

    def changes(self) -> dict[str, str]:
        return self.model_dump(exclude_unset=True)


class User(BaseModel):
    id: int
    username: str


class Account(User):
    email: str


class Post(BaseModel):
    id: int
    user_id: int
    title: str
    body: str
    created_at: str = Field(json_schema_extra={"format": "date-time"})


class Error(BaseModel):
    error: str = Field(description="The HTTP status, in words.")
    message: str = Field(description="What to fix.")


def describe(error: ValidationError) -> str:
    """One sentence for the client, naming only fields the API knows: an unknown
    key is never echoed (it could be anything, e.g. markup for an error page)."""
    first = error.errors(include_url=False, include_input=False)[0]
    if first["type"] == "extra_forbidden":
        return "Unknown fields are not accepted."
    names = [str(part) for part in first["loc"]]
    if not names:
        return first["msg"].removeprefix("Value error, ")
    if first["type"] == "string_pattern_mismatch":
        return f"'{names[-1]}' is empty or holds characters that are not allowed."
    return f"'{names[-1]}': {first['msg']}."
