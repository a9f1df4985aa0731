"""The balancer's config (haproxy/haproxy.cfg) agrees with the app and with gunicorn.conf.py.

tests/containers/test_hosts.py runs it for real; these checks need no Docker.
"""

from __future__ import annotations

import json
import re
import runpy
from pathlib import Path

CHAPTER = Path(__file__).resolve().parents[1]
CONFIG = (CHAPTER / "haproxy/haproxy.cfg").read_text()


def directive(pattern: str) -> re.Match[str]:
    """The one line of the config that matches ``pattern`` (leading spaces aside)."""
    found = list(re.finditer(rf"^\s*{pattern}\s*$", CONFIG, re.MULTILINE))
    assert len(found) == 1, f"{len(found)} lines match {pattern!r}"
    return found[0]


def test_the_balancer_probes_the_readiness_route(app, client):
    path = directive(r"option httpchk GET (\S+)").group(1)
    directive(r"http-check expect status 200")
    assert client.get(path).status_code == 200
    # A draining host: what gunicorn.conf.py sets on a SIGTERM.
    app.extensions["blog.shutting_down"] = True
    assert client.get(path).status_code == 503


def test_a_draining_host_leaves_the_rotation_before_the_drain_ends():
    probes = directive(r"default-server check inter (\d+)s fall (\d+) rise \d+ .*")
    every, failures = (int(value) for value in probes.groups())
    drain = runpy.run_path(str(CHAPTER / "gunicorn.conf.py"))["DRAIN_SECONDS"]
    # At worst the SIGTERM comes just after a probe that passed: the host is
    # out after `failures` more probes, `every` seconds apart, each a quick 503.
    assert failures * every < drain


def test_the_balancer_passes_on_whole_requests_only(app, client):
    limit = app.config["MAX_CONTENT_LENGTH"]
    refuse = directive(
        r"http-request return status 413 content-type application/json string '(.*)'"
        r" if \{ req.hdr_val\(content-length\) gt (\d+) \}"
    )
    wait = directive(r"http-request wait-for-body time \d+s")
    # Rules run in order: a body over the limit is refused before HAProxy waits for it.
    assert refuse.start() < wait.start()
    assert int(refuse.group(2)) == limit
    # The 413 is the app's own answer.
    too_large = client.post("/api/users", data=b"x" * (limit + 1), content_type="application/json")
    assert too_large.status_code == 413
    assert json.loads(refuse.group(1)) == too_large.json
    # One buffer holds the headers and a body at the limit: HAProxy keeps
    # tune.maxrewrite (1 KiB by default) of it free, and headers take a few KiB.
    buffer = int(directive(r"tune.bufsize (\d+)").group(1))
    assert buffer - 1024 >= limit + 8 * 1024
