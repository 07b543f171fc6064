"""Errors a user can act on, and the one way every message is kept short.

The CLI prints a UserError as one line and exits with status 2; anything else it catches at the
top (aftersales/cli.py) and prints as one line too, never a traceback. Every message goes
through ``clip``: a value echoed into a message (a header, a cell, a path) may be megabytes long
or full of control characters (an all-NUL "CSV"), and a message must stay one short line.
"""

from __future__ import annotations

import errno
import os
import re

# A whole message, and a value quoted inside one, in characters.
MESSAGE_LIMIT = 400
VALUE_LIMIT = 80
PATH_LIMIT = 160

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_DISK_FULL_TEXT = ("no space left on device", "disk is full", "not enough space on the disk")


def clip(text: object, limit: int | None = None) -> str:
    """``text`` as one line of at most ``limit`` characters (default: VALUE_LIMIT, PATH_LIMIT for
    a path): runs of control characters (line breaks, NUL) become one space, and a long text
    loses its middle, so that both ends stay readable (a path keeps its file name; a message
    names the file at its start and says what to do at its end)."""
    if limit is None:
        limit = PATH_LIMIT if isinstance(text, os.PathLike) else VALUE_LIMIT
    one = _CONTROL.sub(" ", str(text)).strip()
    if len(one) <= limit:
        return one
    marker = f" …({len(one):,} characters, cut)… "
    keep = max(limit - len(marker), 2)
    head = keep * 2 // 3
    return one[:head] + marker + one[len(one) - (keep - head):]


def first_line(exc: BaseException, limit: int = VALUE_LIMIT) -> str:
    """An exception's own message, clipped (its first line: DuckDB adds context lines)."""
    text = str(exc).strip()
    return clip(text.splitlines()[0] if text else type(exc).__name__, limit)


def is_disk_full(exc: BaseException) -> bool:
    """Whether the exception (or one it was raised from) reports a full disk or quota: an OSError
    with ENOSPC/EDQUOT, or a DuckDB error whose text says so (DuckDB reports it as text only)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if any(t in str(exc).lower() for t in _DISK_FULL_TEXT):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


class UserError(Exception):
    """Something the user can fix: the message says what is wrong and what to do. It is clipped
    to MESSAGE_LIMIT characters however it was built."""

    def __init__(self, message: object = "") -> None:
        super().__init__(clip(message, MESSAGE_LIMIT))
