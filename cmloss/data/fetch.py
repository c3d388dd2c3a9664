"""Data home, integrity checks and download-and-cache of the registered files.

Where files are looked for (like scikit-learn's ``get_data_home`` and pooch):

1. the ``data_home=`` argument,
2. else the environment variable ``CMLOSS_DATA``,
3. else a per-user cache folder: ``pooch.os_cache("cmloss")`` when pooch is installed
   (e.g. ``~/.cache/cmloss`` on Linux), otherwise ``$XDG_CACHE_HOME/cmloss`` or
   ``~/.cache/cmloss``.

Inside the data home a file keeps its registry path (``hd-ensemble/yeast5.arff``,
``anyloss/diabetes_prediction_dataset.csv``, ``uci/Skin_NonSkin.txt``), the layout of the
project's ``shared/data`` folder, so ``CMLOSS_DATA=../shared/data`` just works.

A file found there is used if its size and SHA-256 match the registry
(:data:`cmloss.data.registry.DATA_FILES`); a mismatch raises
:class:`~cmloss.data.errors.DataIntegrityError`. A missing file is downloaded from its
original public address into the data home with pooch (imported lazily, only then),
verified and kept. With ``CMLOSS_OFFLINE=1`` (or ``download=False``) nothing is
downloaded and a missing file raises :class:`~cmloss.data.errors.DataFileNotFoundError`.

Each file is hashed at most once per process: a successful check is remembered for the
file's (path, size, modification time), so repeated loads cost no hashing.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cmloss.data.errors import DataFileNotFoundError, DataIntegrityError
from cmloss.data.registry import DATA_FILES, FileRecord

__all__ = [
    "ENV_DATA_HOME",
    "ENV_OFFLINE",
    "downloads_enabled",
    "fetch_file",
    "file_sha256",
    "get_data_home",
    "verify_file",
]

ENV_DATA_HOME = "CMLOSS_DATA"
"""Environment variable naming the data home."""

ENV_OFFLINE = "CMLOSS_OFFLINE"
"""Environment variable; ``1``/``true``/``yes``/``on`` disables all downloads."""

_TRUTHY = frozenset({"1", "true", "yes", "on"})

# (resolved path, size, mtime_ns) -> sha256 of files that passed verification.
_VERIFIED: dict[tuple[str, int, int], str] = {}


def get_data_home(data_home: str | os.PathLike | None = None) -> Path:
    """Return the folder where data files are looked for and downloaded to.

    The folder is not created here (downloads create it).

    Args:
        data_home: Explicit folder; takes precedence over everything else.

    Returns:
        ``data_home`` if given, else ``$CMLOSS_DATA`` if set and non-empty, else the
        user cache folder (see the module docstring), as an absolute path.
    """
    if data_home is not None:
        return Path(data_home).expanduser().absolute()
    env = os.environ.get(ENV_DATA_HOME, "").strip()
    if env:
        return Path(env).expanduser().absolute()
    return _default_cache_dir().absolute()


def _default_cache_dir() -> Path:
    try:
        import pooch
    except ImportError:
        base = os.environ.get("XDG_CACHE_HOME", "").strip() or "~/.cache"
        return Path(base).expanduser() / "cmloss"
    return Path(pooch.os_cache("cmloss"))


def downloads_enabled(download: bool | None = None) -> bool:
    """Whether a missing file may be downloaded.

    Args:
        download: Explicit choice; ``None`` defers to the environment.

    Returns:
        ``download`` if it is not ``None``, else ``False`` when ``$CMLOSS_OFFLINE`` is
        ``1``/``true``/``yes``/``on`` (any case), else ``True``.
    """
    if download is not None:
        return bool(download)
    return os.environ.get(ENV_OFFLINE, "").strip().lower() not in _TRUTHY


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes.

    Args:
        path: The file.

    Returns:
        The lower-case hexadecimal digest.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _record(relpath: str) -> FileRecord:
    try:
        return DATA_FILES[relpath]
    except KeyError:
        raise ValueError(
            f"{relpath!r} is not a registered data file; known files: {sorted(DATA_FILES)}"
        ) from None


def verify_file(path: str | os.PathLike, relpath: str) -> Path:
    """Check a local file against the registry's size and SHA-256 (once per process).

    Args:
        path: The local file.
        relpath: Its registry key, e.g. ``"hd-ensemble/yeast5.arff"``.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        DataIntegrityError: Size or SHA-256 differ from the registry.
        ValueError: ``relpath`` is not registered.
        FileNotFoundError: ``path`` does not exist.
    """
    record = _record(relpath)
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if _VERIFIED.get(key) == record.sha256:
        return path
    fix = (
        f"Delete it so that it is downloaded again from {record.url}, or point "
        f"data_home= / ${ENV_DATA_HOME} at a folder with the original file."
    )
    if stat.st_size != record.size:
        raise DataIntegrityError(
            f"Data file {path} ({relpath}) has {stat.st_size} bytes, expected "
            f"{record.size}: it is truncated, modified or not the original. {fix}"
        )
    actual = file_sha256(path)
    if actual != record.sha256:
        raise DataIntegrityError(
            f"Data file {path} ({relpath}) has SHA-256 {actual}, expected "
            f"{record.sha256}: it is corrupt or modified. {fix}"
        )
    _VERIFIED[key] = actual
    return path


def _download(record: FileRecord, target: Path) -> None:
    """Download ``record`` to ``target`` with pooch, verifying the SHA-256."""
    try:
        import pooch
    except ImportError as exc:
        raise ImportError(
            f"Downloading {record.path} needs pooch: pip install 'cmloss[data]' (or "
            f"pip install pooch), or place the file at {target} yourself."
        ) from exc
    pooch.retrieve(
        url=record.url,
        known_hash=f"sha256:{record.sha256}",
        fname=target.name,
        path=target.parent,
        progressbar=False,
    )


def fetch_file(
    relpath: str,
    *,
    data_home: str | os.PathLike | None = None,
    download: bool | None = None,
) -> Path:
    """Return the local path of a registered file, downloading it if needed.

    Args:
        relpath: Registry key, e.g. ``"hd-ensemble/skin_nonskin.arff"``.
        data_home: Data home folder (see :func:`get_data_home`).
        download: Allow (``True``) or forbid (``False``) a download of a missing file;
            ``None`` follows ``$CMLOSS_OFFLINE``.

    Returns:
        Path of the verified file inside the data home.

    Raises:
        DataFileNotFoundError: The file is missing and downloads are disabled, or the
            download failed (no network, data home not writable, ...).
        DataIntegrityError: The local or downloaded file does not match the registry.
        ValueError: ``relpath`` is not registered.
    """
    record = _record(relpath)
    home = get_data_home(data_home)
    target = home.joinpath(*relpath.split("/"))
    if target.is_file():
        return verify_file(target, relpath)

    where = (
        f"Data file '{relpath}' was not found in the data home {home} (looked for "
        f"{target}; the data home is data_home=, else ${ENV_DATA_HOME}, else the user "
        "cache folder)."
    )
    if not downloads_enabled(download):
        reason = "download=False" if download is False else f"${ENV_OFFLINE} is set"
        raise DataFileNotFoundError(
            f"{where} Downloads are disabled ({reason}). Either point data_home= or "
            f"${ENV_DATA_HOME} at a folder that holds '{relpath}', or allow downloads "
            f"(unset {ENV_OFFLINE} / pass download=True) to fetch it from {record.url} "
            "and verify its SHA-256."
        )
    try:
        _download(record, target)
    except ImportError:
        raise
    except ValueError as exc:  # pooch: hash mismatch of the downloaded bytes
        raise DataIntegrityError(
            f"Downloaded {record.url} but its SHA-256 does not match the registry "
            f"({record.sha256}); the remote file changed. {exc}"
        ) from exc
    except Exception as exc:  # network errors, permissions, ...
        raise DataFileNotFoundError(
            f"{where} Downloading it from {record.url} failed: {exc!r}. Check the network "
            f"connection and that {home} is writable, or place the file there yourself "
            f"(or set ${ENV_DATA_HOME}); set {ENV_OFFLINE}=1 to never try downloads."
        ) from exc
    if not target.is_file():  # pragma: no cover - pooch contract
        raise DataFileNotFoundError(f"{where} The download did not produce {target}.")
    return verify_file(target, relpath)
