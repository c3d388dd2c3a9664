"""Shared test settings: the Keras backend, quiet TensorFlow logs, the data home."""

from __future__ import annotations

import os
from pathlib import Path

# Before Keras/TensorFlow are imported by any test module.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def CMLOSS_DATA() -> Path:
    """The data home: ``$CMLOSS_DATA``, default ``/work/shared/data``."""
    return Path(os.environ.get("CMLOSS_DATA", "/work/shared/data")).expanduser().absolute()
