"""The contract: what each endpoint takes and answers, described once.

APIFlask reads these pydantic models three ways: to check a request, to shape
an answer, and to write the OpenAPI document. Every rule is a length, a
pattern or a format, so the document says exactly what the check enforces.
The patterns run on Python's ``re`` (``regex_engine``), the engine schemathesis
generates examples with, so both read them alike.
"""

from __future__ import annotations

import sys
import unicodedata
from datetime import datetime
from typing import Annotated, Any, Literal

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from blog.models import MAX_ID, utc_timestamp
from blog.validation import nfkc, normalize_email

# Every control (Cc) and format (Cf) character, found once: it takes a look at
# each of Unicode's 1.1 million code points.
CONTROL_AND_FORMAT = [
    (code, category)
    for code, category in enumerate(map(unicodedata.category, map(chr, range(sys.maxunicode + 1))))
    if category in ("Cc", "Cf")
]


def characters(*categories: str, keep: str = "") -> str:
    """A regex character-class body: every code point of ``categories`` but ``keep``."""
    ranges: list[tuple[int, int]] = []
    for code, category in CONTROL_AND_FORMAT:
        if category in categories and chr(code) not in keep:
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in ranges)


def text(bad: str) -> str:
    """No ``bad`` character, and one at least that is not a space (trimmed, not empty)."""
    return rf"^[^{bad}]*[^{bad}\s][^{bad}]*$"


def any_case(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word)


# Control characters (Cc: NUL, ESC...) and invisible formatting (Cf: the
# right-to-left override, the zero-width space) let one name pass for another.
# A multi-line text keeps line breaks, tabs and format characters (emoji need
# the zero-width joiner). Lone surrogates ("\ud800" in JSON) have no UTF-8
# form, so no pattern can name them: pydantic refuses them itself.
ONE_LINE = text(characters("Cc", "Cf"))
MULTILINE = text(characters("Cc", keep="\n\r\t"))
# Surrounding spaces are trimmed before the name is stored.
USERNAME = r"^\s*[A-Za-z0-9_.-]+\s*$"
# Taken as typed (only hashed): any character but NUL.
PASSWORD = "^[^\x00]*$"
# secrets.token_urlsafe(32), as a reset mail carries it.
RESET_TOKEN = r"^[A-Za-z0-9_-]{43}$"
# email-validator refuses addresses in special-use domains (.test, .localhost,
# .arpa, ...), which the "email" format allows: the document says so too.
NOT_SPECIAL_USE = rf"^(?!.*[@.](?:{'|'.join(map(any_case, SPECIAL_USE_DOMAIN_NAMES))})$)"
# What each pattern asks for, in words: in the document, and in the error message.
HINTS = {
    ONE_LINE: "not empty, no control or invisible formatting characters",
    MULTILINE: "not empty, no control characters",
    USERNAME: "letters, digits, _ . -",
    PASSWORD: "no NUL character",
    RESET_TOKEN: "the 43 characters of the token in the mail",
    NOT_SPECIAL_USE: "an e-mail address, outside special-use domains such as .test",
}


# Lengths are measured as sent, before trimming, so the longest valid body has
# a known size (see config.py).
def text_field(pattern: str, max_length: int, min_length: int | None = None) -> Any:
    return Field(
        pattern=pattern, max_length=max_length, min_length=min_length, description=HINTS[pattern]
    )


Strip = AfterValidator(str.strip)
Username = Annotated[str, text_field(USERNAME, 80), Strip]
Email = Annotated[
    str,
    text_field(NOT_SPECIAL_USE, 254),
    Field(json_schema_extra={"format": "email"}),
    Strip,
    AfterValidator(normalize_email),
]
# Long passphrases over complex rules: 15 characters at least, any characters.
NewPassword = Annotated[str, text_field(PASSWORD, 128, min_length=15), AfterValidator(nfkc)]
# Only the shape is checked: the rules may have changed since the account was made.
Password = Annotated[str, text_field(PASSWORD, 128, min_length=1), AfterValidator(nfkc)]
Name = Annotated[str, text_field(ONE_LINE, 80), Strip]
Title = Annotated[str, text_field(ONE_LINE, 200), Strip]
Body = Annotated[str, text_field(MULTILINE, 10_000), Strip]


class Input(BaseModel):
    # Unknown keys are refused, and the document says so (additionalProperties: false).
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")


class NewUser(Input):
    username: Username
    email: Email
    password: NewPassword


class Login(Input):
    username: Name
    password: Password


class PasswordCheck(Input):
    """Proof that the token's holder is the account's owner: a token alone must not
    change the password or delete the account."""

    password: Password


class PasswordChange(Input):
    current_password: Password
    new_password: NewPassword


class ForgotPassword(Input):
    email: Email


class ResetPassword(Input):
    token: Annotated[str, text_field(RESET_TOKEN, 43)]
    password: NewPassword


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


DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def ascii_digits(value: Any) -> Any:
    # int() also reads "١" and "１", signs, spaces and underscores; a query
    # string gets one spelling per number. The length check comes first: int()
    # of thousands of digits is slow, then refused.
    if isinstance(value, str) and not (len(value) <= 20 and value.isascii() and value.isdigit()):
        raise ValueError("must be a whole number in ASCII digits")
    return value


WholeNumber = BeforeValidator(ascii_digits)


# None, the first page, is no value a client sends: the document shows no default.
NoDefault = Field(json_schema_extra=lambda schema: schema.pop("default"))


class Page(BaseModel):
    """Which page of a list: the query string of every list."""

    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT), WholeNumber] = DEFAULT_LIMIT
    after: Annotated[int, Field(ge=1, le=MAX_ID), NoDefault, WholeNumber] = None  # type: ignore


class Output(BaseModel):
    # Read from the ORM objects' attributes, not from dicts.
    model_config = ConfigDict(from_attributes=True)


class User(Output):
    """What anyone may see of a user. The e-mail address is private."""

    id: int
    username: str


class Account(User):
    """What the account's owner sees."""

    email: str


Timestamp = Annotated[
    datetime,
    PlainSerializer(utc_timestamp, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class Post(Output):
    id: int
    user_id: int
    title: str
    body: str
    created_at: Timestamp


class Token(Output):
    token: str
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="Seconds from now.")


class Message(Output):
    message: str


class UserPage(Output):
    items: list[User] = Field(max_length=MAX_LIMIT)
    next: str | None


class PostPage(Output):
    items: list[Post] = Field(max_length=MAX_LIMIT)
    next: str | None


class Error(BaseModel):
    error: str = Field(description="The HTTP status, in words.")
    message: str = Field(description="What to fix.")


def describe(error: ValidationError, field: str = "") -> str:
    """One sentence for the client, naming only fields the API knows: an unknown
    key is never echoed (it could be anything, e.g. markup for an error page).

    ``field`` names a value checked alone, outside a model.
    """
    problems = error.errors(include_url=False, include_input=False)
    missing = [str(p["loc"][-1]) for p in problems if p["type"] == "missing"]
    if missing:
        return f"Missing field(s): {', '.join(missing)}."
    first = problems[0]
    if first["type"] == "extra_forbidden":
        return "Unknown fields are not accepted."
    if not (first["loc"] or field):  # the model's own check, e.g. an empty edit
        return first["msg"].removeprefix("Value error, ")
    name = str(first["loc"][0]) if first["loc"] else field
    kind, context = first["type"], first.get("ctx", {})
    if kind == "string_type":
        return f"'{name}' must be a string."
    if kind == "string_too_long":
        return f"'{name}' must be at most {context['max_length']} characters."
    if kind == "string_too_short":
        return f"'{name}' must be at least {context['min_length']} characters."
    if kind == "string_pattern_mismatch":
        return f"'{name}' is not valid: {HINTS[context['pattern']]}."
    return f"'{name}' is not valid: {first['msg'].removeprefix('Value error, ')}."
