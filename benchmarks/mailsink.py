"""A mail backend for the load runs: one JSON line per message appended to the file in
``settings.LOAD_MAILSINK``, so a run counts what was delivered, to whom, and how often."""

import fcntl
import json
import os
import time

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend


class EmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        delay = getattr(settings, "LOAD_MAILSINK_DELAY", 0.0)
        sent = 0
        with open(settings.LOAD_MAILSINK, "a", encoding="utf-8") as sink:
            for message in email_messages:
                if delay:
                    time.sleep(delay)
                line = json.dumps(
                    {
                        "to": list(message.to),
                        "subject": str(message.subject),
                        "at": time.time(),
                        "pid": os.getpid(),
                    },
                    ensure_ascii=False,
                )
                fcntl.flock(sink, fcntl.LOCK_EX)
                sink.write(line + "\n")
                sink.flush()
                fcntl.flock(sink, fcntl.LOCK_UN)
                sent += 1
        return sent


def read(path):
    """The messages delivered so far: a list of dicts."""
    try:
        with open(path, encoding="utf-8") as sink:
            return [json.loads(line) for line in sink if line.endswith("\n")]
    except FileNotFoundError:
        return []
