"""A mail backend for tests whose answer per address is scripted, like a real SMTP server's."""

from __future__ import annotations

import smtplib

from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend


class ScriptedBackend(LocmemBackend):
    """Delivers like locmem, except for addresses given a script: a list of what each send
    raises next ("down": the server hung up, "refused": the address was refused, "ok")."""

    scripts: dict[str, list[str]] = {}
    connections_opened = 0

    def open(self):
        type(self).connections_opened += 1
        return super().open()

    def send_messages(self, messages):
        for message in messages:
            for address in message.to:
                script = self.scripts.get(address) or []
                step = script.pop(0) if script else "ok"
                if step == "down":
                    raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
                if step == "refused":
                    raise smtplib.SMTPRecipientsRefused({address: (550, b"No such user")})
        return super().send_messages(messages)


def reset() -> None:
    ScriptedBackend.scripts = {}
    ScriptedBackend.connections_opened = 0
    mail.outbox = []
