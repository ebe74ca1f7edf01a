"""Exceptions raised by the insole package.

Every error the package raises on purpose derives from :class:`InsoleError`. Subclasses also
inherit the builtin exception that fits, so ``except ValueError`` keeps working for callers that
do not know this package, and they carry the data a caller needs (a path, an offset).
"""

from __future__ import annotations

import os

__all__ = ["FileError", "InsoleError", "RecordingError"]


class InsoleError(Exception):
    """Base class of all errors raised by the insole package."""


class FileError(InsoleError, ValueError):
    """A file cannot be used: a recording, a file to import, the history database.

    The message is one line: what is wrong with which file, and what to do about it.

    Parameters
    ----------
    message : str
        One-line description naming the file and the fix.
    path : str or os.PathLike or None
        The file concerned.

    Attributes
    ----------
    path : str or os.PathLike or None
        The file concerned.
    """

    def __init__(self, message: str, *, path: str | os.PathLike[str] | None = None) -> None:
        super().__init__(message)
        self.path = path


class RecordingError(FileError):
    """A recording file cannot be written or read (a `FileError`: ``path`` is the recording).

    Parameters
    ----------
    message, path
        As `FileError`.
    offset : int or None
        Byte offset of the damage in the file, or None when the problem is not at one place
        (missing file, invalid header passed to the writer, ...). Also an attribute.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | os.PathLike[str] | None = None,
        offset: int | None = None,
    ) -> None:
        super().__init__(message, path=path)
        self.offset = offset
