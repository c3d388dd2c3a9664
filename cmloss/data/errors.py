"""Exceptions raised by :mod:`cmloss.data`.

Each one subclasses the built-in exception a caller would naturally catch
(``FileNotFoundError`` or ``ValueError``), so ``except FileNotFoundError`` keeps
working, while the specific class lets tests and scripts tell the cases apart.
"""

from __future__ import annotations

__all__ = ["ArffFormatError", "DataFileNotFoundError", "DataIntegrityError"]


class DataFileNotFoundError(FileNotFoundError):
    """A data file is neither in the data home nor obtainable by download.

    Raised when the file is missing and downloads are disabled (``CMLOSS_OFFLINE=1`` or
    ``download=False``), when the download fails, or for a dataset that cannot be
    downloaded at all (Kaggle's credit-card data). The message names the file, the data
    home that was searched, the environment variables and what to do.
    """


class DataIntegrityError(ValueError):
    """A data file exists but its size or SHA-256 differs from the embedded registry."""


class ArffFormatError(ValueError):
    """An ARFF file is malformed or uses a feature the reader does not support."""
