"""Exceptions raised by the insole package.

Every error the package raises on purpose derives from :class:`InsoleError`. Subclasses also
inherit the builtin exception that fits, so ``except ValueError`` keeps working for callers that
do not know this package, and they carry the data a caller needs (a path, an offset).
"""

from __future__ import annotations

import os

__all__ = ["InsoleError", "RecordingError"]


class InsoleError(Exception):
    """Base class of all errors raised by the insole package."""


class RecordingError(InsoleError, ValueError):
    """A recording file cannot be written or read.

    The message is one line: what is wrong, and what to do about it.

    Parameters
    ----------
    message : str
        One-line description naming the file and the fix.
    path : str or os.PathLike or None
        The recording concerned.
    offset : int or None
        Byte offset of the damage in the file, or None when the problem is not at one place
        (missing file, invalid header passed to the writer, ...).

    Attributes
    ----------
    path : str or os.PathLike or None
        The recording concerned.
    offset : int or None
        Byte offset of the damage, or None.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | os.PathLike[str] | None = None,
        offset: int | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.offset = offset
