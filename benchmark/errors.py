"""Errors that are the user's to fix: printed as one clear line, never as a traceback.

Set ``MPBENCH_DEBUG=1`` to get the traceback anyway.
"""

from __future__ import annotations

import errno


class MpbenchError(Exception):
    """Base class of mpbench's user-facing errors; the message names the file/key and problem."""


#: Exceptions the CLI reports as ``error: <message>`` with exit code 2.
UserError = (MpbenchError, FileNotFoundError)


def format_user_error(exc: BaseException) -> str:
    return f"error: {exc}"


#: ``errno`` values of a full disk or an exhausted quota: the user's to fix, not a bug.
DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS


def format_disk_full(exc: OSError) -> str:
    """A full disk as one line that says what to do: completed outputs and checkpoints are
    kept, a truncated file is never trusted (written atomically, or skipped on resume), so
    re-running the same command after freeing space continues where it stopped."""
    what = "disk quota exceeded" if exc.errno == errno.EDQUOT else "no space left on device"
    where = f" writing {exc.filename}" if exc.filename else ""
    return (f"error: {what}{where}; free space or grow the disk, then re-run the same "
            "command: finished work is kept and training resumes from its newest complete "
            "checkpoint")
