"""E-mail over SMTP, with the standard library."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from flask import current_app


def send(to: str, subject: str, body: str) -> None:
    """Hand one plain-text message to MAIL_SERVER; raises if it refuses it."""
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP(
        config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]
    ) as server:
        server.send_message(message)
