"""The one error type for bad input."""

from __future__ import annotations

import os


class PlacerInputError(ValueError):
    """Bad input: a missing, truncated or malformed file, or an invalid setting.

    Attributes:
        path: the file at fault, as an absolute path (one form for every
            message, whatever form it was given in), or None for a bad
            argument.
        line: 1-based line number in that file, or None when not line-specific.
        reason: what is wrong, without the location.
    """

    def __init__(self, reason: str, path: str | os.PathLike | None = None,
                 line: int | None = None):
        self.reason = reason
        self.path = None if path is None else os.path.abspath(os.fspath(path))
        self.line = line
        where = ""
        if self.path is not None:
            where = self.path if line is None else f"{self.path}:{line}"
            where += ": "
        super().__init__(where + reason)
