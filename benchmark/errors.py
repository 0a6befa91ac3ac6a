"""Errors that are the user's to fix: printed as one clear line, never as a traceback.

Set ``MPBENCH_DEBUG=1`` to get the traceback anyway.
"""

from __future__ import annotations


class MpbenchError(Exception):
    """Base class of mpbench's user-facing errors; the message names the file/key and problem."""


#: Exceptions the CLI reports as ``error: <message>`` with exit code 2.
UserError = (MpbenchError, FileNotFoundError)


def format_user_error(exc: BaseException) -> str:
    return f"error: {exc}"
