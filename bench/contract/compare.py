"""Compare contract libraries on one slice of chapter 05's API: captures/contract-compare.*.

    python -m bench.contract.compare [--quick] [--variants bare,apiflask]

For each variant (a folder beside this file with an ``app.py``): its contract
layer's lines of code, whether every error body is ``{"error", "message"}`` with
the right status and headers, the order in which it checks auth, the body, the
lookup and the ownership, what schemathesis (every check, 50 examples per
operation) finds against its generated document served by gunicorn on
127.0.0.1, and its cost per request through the Flask test client, rounds
rotated between variants, against the hand-written baseline ("bare").
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import io
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tokenize
import urllib.request
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.contract.store import seeded

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CAPTURE = ROOT / "captures" / "contract-compare"
VARIANTS = ["bare", "apiflask", "flask_openapi3", "spectree"]
LIBRARY = {"apiflask": "APIFlask", "flask_openapi3": "flask-openapi3", "spectree": "spectree"}
# The pydantic models every library variant shares: counted in each of their totals.
SHARED = {"bare": [], "apiflask": ["schemas.py"], "flask_openapi3": ["schemas.py"]}
SHARED["spectree"] = ["schemas.py"]
BIN = Path(sys.executable).parent


def code_lines(path: Path) -> int:
    """Lines that hold code: not blank, not only a comment, not a docstring."""
    source = path.read_text()
    lines: set[int] = set()
    previous = tokenize.NEWLINE
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        kind = token.type
        skip = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT)
        if kind in (*skip, tokenize.DEDENT, tokenize.ENDMARKER):
            if kind in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
                previous = kind
            continue
        # A string that starts a statement is a docstring (or a bare string): not code.
        if kind == tokenize.STRING and previous in (
            tokenize.NEWLINE,
            tokenize.INDENT,
            tokenize.DEDENT,
        ):
            previous = -1
            continue
        previous = kind
        lines.update(range(token.start[0], token.end[0] + 1))
    return len(lines)


def variant_hash() -> str:
    """One digest of every file the comparison runs: a capture names the code it measured."""
    digest = hashlib.sha256()
    for path in sorted(HERE.rglob("*")):
        if path.suffix in (".py", ".txt") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(HERE)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def load(variant: str) -> Any:
    return importlib.import_module(f"bench.contract.{variant}.app")


def new_client(variant: str, token: str) -> Any:
    return load(variant).create_app(seeded(token)).test_client()


# (label, method, path, body or raw bytes, send the token?, expected statuses)
BAD_INPUT: list[tuple[str, str, str, Any, bool, set[int]]] = [
    ("unknown key", "POST", "/api/users", {"username": "bob", "<b>x</b>": 1}, False, {400}),
    ("missing field", "POST", "/api/users", {"username": "bob", "email": "b@x.org"}, False, {400}),
    (
        "short password",
        "POST",
        "/api/users",
        {"username": "bob", "email": "b@x.org", "password": "short"},
        False,
        {400},
    ),
    (
        "bad username",
        "POST",
        "/api/users",
        {"username": "b o b", "email": "b@x.org", "password": "p" * 15},
        False,
        {400},
    ),
    (
        "bad e-mail",
        "POST",
        "/api/users",
        {"username": "bob", "email": "nope", "password": "p" * 15},
        False,
        {400},
    ),
    (
        "name taken",
        "POST",
        "/api/users",
        {"username": "ADA", "email": "a@x.org", "password": "p" * 15},
        False,
        {409},
    ),
    ("not JSON", "POST", "/api/users", b'{"username":', False, {400}),
    ("a form, not JSON", "POST", "/api/users", "username=bob", False, {400, 415}),
    ("not an object", "POST", "/api/users", [1], False, {400}),
    ("no such user", "GET", "/api/users/999", None, False, {404}),
    ("no token", "POST", "/api/posts", {"title": "t", "body": "b"}, False, {401}),
    ("wrong token", "POST", "/api/posts", {"title": "t", "body": "b"}, "wrong", {401}),
    ("hidden character", "POST", "/api/posts", {"title": "a\u202eb", "body": "b"}, True, {400}),
    ("blank body", "POST", "/api/posts", {"title": "t", "body": "   "}, True, {400}),
    ("empty edit", "PATCH", "/api/posts/1", {}, True, {400}),
    # A JSON string that holds an object is a string, not an object.
    ("JSON text, not an object", "PATCH", "/api/posts/1", b'"{\\"title\\": \\"x\\"}"', True, {400}),
    ("null title", "PATCH", "/api/posts/1", {"title": None}, True, {400}),
    ("not yours", "PATCH", "/api/posts/2", {"title": "mine"}, True, {403}),
    ("no such post", "PATCH", "/api/posts/999", {"title": "t"}, True, {404}),
]
# Two checks failing at once: the status says which one runs first.
ORDER_PROBES = [
    ("auth or body", "POST", "/api/posts", {"x": 1}, False, {401: "auth", 400: "body"}),
    (
        "auth or lookup",
        "PATCH",
        "/api/posts/999",
        {"title": "t"},
        False,
        {401: "auth", 404: "lookup"},
    ),
    ("body or lookup", "PATCH", "/api/posts/999", {"x": 1}, True, {400: "body", 404: "lookup"}),
    ("body or ownership", "PATCH", "/api/posts/2", {"x": 1}, True, {400: "body", 403: "owner"}),
]


def send(client: Any, method: str, path: str, body: Any, auth: Any, token: str) -> Any:
    headers = {}
    if auth:
        headers["Authorization"] = f"Bearer {token if auth is True else 'x' * 43}"
    if isinstance(body, str):
        return client.open(
            path,
            method=method,
            data=body,
            headers=headers,
            content_type="application/x-www-form-urlencoded",
        )
    if isinstance(body, bytes):
        return client.open(
            path, method=method, data=body, headers=headers, content_type="application/json"
        )
    if body is None:
        return client.open(path, method=method, headers=headers)
    return client.open(path, method=method, json=body, headers=headers)


def error_problems(response: Any, expected: set[int], sent: Any) -> list[str]:
    """What is wrong with an error answer; [] when it is exactly right."""
    from werkzeug.http import HTTP_STATUS_CODES  # here: the repo tests import this module bare

    problems = []
    if response.status_code not in expected:
        problems.append(f"status {response.status_code}, not {sorted(expected)}")
    body = response.get_json(silent=True)
    if not isinstance(body, dict) or set(body) != {"error", "message"}:
        return [*problems, f"body {response.get_data(as_text=True)[:80]!r}"]
    if body["error"] != HTTP_STATUS_CODES.get(response.status_code):
        problems.append(f"error {body['error']!r}")
    if not isinstance(body["message"], str) or not body["message"]:
        problems.append("empty message")
    if isinstance(sent, dict) and any(
        key.startswith("<") and key in body["message"] for key in sent
    ):
        problems.append("echoes the unknown key")
    if response.status_code == 401 and not response.headers.get(
        "WWW-Authenticate", ""
    ).lower().startswith("bearer"):
        problems.append("no WWW-Authenticate: Bearer")
    return problems


def check_errors(variant: str) -> dict[str, Any]:
    token = secrets.token_urlsafe(32)
    failed: dict[str, list[str]] = {}
    for label, method, path, body, auth, expected in BAD_INPUT:
        client = new_client(variant, token)
        problems = error_problems(send(client, method, path, body, auth, token), expected, body)
        if problems:
            failed[label] = problems
    order = {}
    for label, method, path, body, auth, meaning in ORDER_PROBES:
        status = send(new_client(variant, token), method, path, body, auth, token).status_code
        order[label] = meaning.get(status, str(status))
    return {
        "cases": len(BAD_INPUT),
        "passed": len(BAD_INPUT) - len(failed),
        "failed": failed,
        "order": order,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fuzz(variant: str, max_examples: int) -> dict[str, Any]:
    """schemathesis, every check, against the variant under gunicorn on 127.0.0.1."""
    token = secrets.token_urlsafe(32)
    port = free_port()
    document = f"http://127.0.0.1:{port}{getattr(load(variant), 'OPENAPI', '/api/openapi.json')}"
    env = {**os.environ, "CONTRACT_VARIANT": variant, "CONTRACT_TOKEN": token}
    with tempfile.TemporaryDirectory() as tmp:
        log = open(Path(tmp) / "server.log", "w")  # noqa: SIM115 (closed below)
        server = subprocess.Popen(
            [BIN / "gunicorn", "--bind", f"127.0.0.1:{port}", "bench.contract.serve:app"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(document, timeout=2).close()
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit(f"{variant}: the server did not start") from None
                    time.sleep(0.2)
            report = Path(tmp) / "report.json"
            # The document's paths start with /api, except the baseline's, whose servers say /api.
            base = f"http://127.0.0.1:{port}" + ("/api" if variant == "bare" else "")
            command = [
                BIN / "schemathesis",
                "run",
                document,
                f"--url={base}",
                "--checks=all",
                f"--max-examples={max_examples}",
                "--seed=4",
                "--workers=1",
                f"--header=Authorization: Bearer {token}",
                "--report=json",
                f"--report-json-path={report}",
            ]
            subprocess.run(
                command, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900
            )
            result = json.loads(report.read_text())
        finally:
            server.terminate()
            server.wait(timeout=10)
            log.close()
    failures = {
        f"{f['code']} {f['title']} ({', '.join(f['operations'])})": f["count"]
        for f in result["failures"]
    }
    return {
        "generated": result["test_cases"]["generated"],
        "failures": sum(failures.values()),
        "by_check": failures,
        "errors": len(result["errors"]),
        "seconds": round(result["running_time"], 1),
    }


# The measured mix: a read, a write with a token, an edit of one's own post.
def one_of_each(client: Any, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/users/1").status_code == 200
    assert (
        client.post("/api/posts", json={"title": "t", "body": "b"}, headers=headers).status_code
        == 201
    )
    assert client.patch("/api/posts/1", json={"title": "t2"}, headers=headers).status_code == 200


def cost(variants: list[str], rounds: int, per_round: int) -> dict[str, dict[str, float]]:
    """Microseconds per request, Flask test client, in rounds rotated between variants."""
    token = secrets.token_urlsafe(32)
    clients = {v: new_client(v, token) for v in variants}
    for client in clients.values():  # warm up: imports, first-request work, caches
        for _ in range(20):
            one_of_each(client, token)
    samples: dict[str, list[float]] = {v: [] for v in variants}
    for number in range(rounds):
        shift = number % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            client = clients[variant]
            start = time.perf_counter()
            for _ in range(per_round):
                one_of_each(client, token)
            samples[variant].append((time.perf_counter() - start) / (3 * per_round) * 1e6)
    result = {}
    for variant, times in samples.items():
        ratios = [t / b for t, b in zip(times, samples["bare"], strict=True)]
        result[variant] = {
            "median_us": round(statistics.median(times), 1),
            "min_us": round(min(times), 1),
            "max_us": round(max(times), 1),
            "ratio": round(statistics.median(ratios), 2),
        }
    return result


def version(variant: str) -> str:
    if variant == "bare":
        return f"by hand, Flask {metadata.version('Flask')}"
    return f"{LIBRARY[variant]} {metadata.version(LIBRARY[variant])}"


def sequence_of(order: dict[str, str]) -> list[str]:
    """The order of the four checks, from the probes that pit two of them against each other."""
    checks = (
        ["auth", "lookup", "owner"]
        if order["auth or lookup"] == "auth"
        else ["lookup", "auth", "owner"]
    )
    if order["auth or body"] == "body":
        position = checks.index("auth")
    elif order["body or lookup"] == "body":
        position = checks.index("lookup")
    elif order["body or ownership"] == "body":
        position = checks.index("owner")
    else:
        position = len(checks)
    return [*checks[:position], "body", *checks[position:]]


def fuzzed_how(data: dict[str, Any]) -> str:
    if not data["max_examples"]:
        return "schemathesis was not run."
    return (
        f"schemathesis {data['schemathesis']}, every check, at most "
        f"{data['max_examples']} examples per operation, seed 4."
    )


def markdown(data: dict[str, Any]) -> str:
    rows = data["variants"]
    lines = [
        "| variant | contract lines (own + shared models) | error bodies right | "
        "order of checks | schemathesis failures (test cases) | µs per request, median [min–max] | "
        "× bare |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows.values():
        sequence = " → ".join(sequence_of(row["errors"]["order"]))
        fuzzed = row.get("schemathesis")
        fuzz_cell = f"{fuzzed['failures']} ({fuzzed['generated']})" if fuzzed else "not run"
        speed = row.get("cost")
        cost_cell = (
            f"{speed['median_us']} [{speed['min_us']}–{speed['max_us']}]" if speed else "not run"
        )
        ratio = f"{speed['ratio']:.2f}" if speed else "–"
        errors = row["errors"]
        lines.append(
            f"| {row['version']} | {row['lines']['own']} + {row['lines']['shared']} = "
            f"{row['lines']['total']} | {errors['passed']}/{errors['cases']} | {sequence} | "
            f"{fuzz_cell} | {cost_cell} | {ratio} |"
        )
    lines.append("")
    for name, row in rows.items():
        details = []
        if row["errors"]["failed"]:
            details.append(
                "error bodies: "
                + "; ".join(
                    f"{label}: {', '.join(p)}" for label, p in row["errors"]["failed"].items()
                )
            )
        if row.get("schemathesis") and row["schemathesis"]["by_check"]:
            details.append(
                "schemathesis: "
                + ", ".join(
                    f"{check} ×{count}" for check, count in row["schemathesis"]["by_check"].items()
                )
            )
        if details:
            lines.append(f"- **{name}**: " + "; ".join(details) + ".")
    lines += [
        "",
        f"Run {data['when']} on Python {data['python']}, {data['cpus']} CPUs shared with other "
        f"work: {data['rounds']} rounds of {data['per_round']} × (GET a user, POST a post, PATCH "
        "it), variants rotated each round; the ratio is the median of the round-by-round ratios "
        f"to bare. {fuzzed_how(data)} Code digest {data['digest'][:12]}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument(
        "--quick", action="store_true", help="fewer rounds, no schemathesis, no capture"
    )
    args = parser.parse_args()
    variants = args.variants.split(",")
    if variants[0] != "bare":
        raise SystemExit("bare comes first: the ratios are to it")
    rounds, per_round, max_examples = (3, 50, 0) if args.quick else (9, 300, 50)
    data: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "python": ".".join(map(str, sys.version_info[:3])),
        "cpus": os.cpu_count(),
        "rounds": rounds,
        "per_round": per_round,
        "max_examples": max_examples,
        "schemathesis": metadata.version("schemathesis"),
        "digest": variant_hash(),
        "variants": {},
    }
    for variant in variants:
        print(f"{variant}: lines, error bodies", flush=True)
        own = code_lines(HERE / variant / "app.py")
        shared = sum(code_lines(HERE / name) for name in SHARED[variant])
        data["variants"][variant] = {
            "version": version(variant),
            "lines": {"own": own, "shared": shared, "total": own + shared},
            "errors": check_errors(variant),
        }
    print("cost per request", flush=True)
    for variant, numbers in cost(variants, rounds, per_round).items():
        data["variants"][variant]["cost"] = numbers
    if max_examples:
        for variant in variants:
            print(f"{variant}: schemathesis", flush=True)
            data["variants"][variant]["schemathesis"] = fuzz(variant, max_examples)
    text = markdown(data)
    print(text)
    if not args.quick:
        CAPTURE.with_suffix(".json").write_text(
            json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        )
        CAPTURE.with_suffix(".md").write_text(text)


if __name__ == "__main__":
    main()
