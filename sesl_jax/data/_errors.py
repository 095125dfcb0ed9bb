"""The one exception type of the data layer."""

from __future__ import annotations


class DataError(ValueError):
    """Invalid, missing or undownloadable data.

    The message always names the file (or URL) and the offending row, entry or ID, and says
    what is wrong, so the user can fix the file without reading the loader's code.
    """
