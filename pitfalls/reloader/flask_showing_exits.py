"""The ``flask`` command, plus one line whenever a process it started ends.

Werkzeug's reloader starts the serving process with ``subprocess.call`` and
starts it again each time it exits with status 3. This wrapper prints each
exit status; everything else is the real ``flask`` command.
"""

from __future__ import annotations

import os
import subprocess
import sys

from flask.cli import main


def call(args: list[str], **options: object) -> int:
    with subprocess.Popen(args, **options) as child:
        status = child.wait()
    print(f"pid {os.getpid()}: its child pid {child.pid} exited with status {status}")
    return status


subprocess.call = call

if __name__ == "__main__":
    sys.exit(main())
