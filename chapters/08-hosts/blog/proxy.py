"""Behind a reverse proxy: trust its X-Forwarded-* headers, and only its.

Each proxy appends the address it saw to X-Forwarded-For. With
TRUSTED_PROXIES = n, ProxyFix takes the n-th value from the right as the
client's address, and X-Forwarded-Proto for the scheme. With 0 (the default)
nothing is trusted: without a proxy those headers come from the client, who
could then pick the address in the logs and the scheme of generated URLs.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def init_app(app: Flask) -> None:
    if hops := app.config["TRUSTED_PROXIES"]:
        # X-Forwarded-Host and -Prefix stay off: many proxies don't set them,
        # and then the client's own values would pass through as trusted.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
