"""Errors as data: every failure a user can cause carries a one-line message and an exit code.

Exit codes (documented in the README and used by the command line):

* 0 -- success, the check passed;
* 1 -- the check ran and failed (:class:`CheckFailed`): anomalies in the data, a rejected model,
  drift that calls for retraining, a refused deploy;
* 2 -- bad usage or unreadable input (:class:`InputError`): a missing file, a directory, a file
  that is not a CSV, an empty file, malformed schema JSON, an unknown model name or option;
* 3 -- anything else: a bug in mlcicd, reported by the command line as one line that says so
  (the traceback with ``--debug``), never dressed up as the user's mistake.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3


class MlcicdError(Exception):
    """Base class: ``str(error)`` is the one-line message shown to the user."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str):
        # one line, always: a message is shown as-is on the terminal
        message = " ".join(str(message).split())
        super().__init__(message)
        self.message = message


class InputError(MlcicdError, ValueError):
    """Bad usage or unreadable input (exit code 2). Also a ``ValueError`` for library callers."""

    exit_code = EXIT_BAD_INPUT


class CheckFailed(MlcicdError):
    """A check ran and did not pass (exit code 1)."""

    exit_code = EXIT_CHECK_FAILED
