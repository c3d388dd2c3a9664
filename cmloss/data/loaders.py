"""Dataset loaders: one entry point, :func:`load_dataset`, for every registered name.

Every loader returns a :class:`Dataset` with **unscaled** float64 features, an int64 0/1
target in which 1 is the minority (positive) class, the dataset's metadata and, in
``source_index``, the row of the source table each example came from.

Scaling is *not* done here: the project's protocols z-score with statistics of the
training rows only (:mod:`cmloss.protocols`). The AnyLoss authors z-scored each whole
file before subsampling and splitting, which lets test rows leak into the scaling; we
deliberately deviate from that.

Random draws
------------
``random_state`` matters only for datasets whose ``info.default_random_state`` is not
``None``; ``None`` means "use that default", so every call is reproducible:

* ``skin-4000`` / ``cod-3500`` (default seed 0): ``numpy.random.default_rng(random_state)``
  draws 5 positives (and, for cod-3500, 17,500 negatives) without replacement; the kept
  rows stay in file order. ``random_state`` may be an int, a ``SeedSequence`` or a
  ``Generator``; :func:`cmloss.protocols.astra_repeats` passes a fresh one per repeat.
* ``breast_cancer`` / ``credit_card`` (default seed 100, the authors'): with an int seed
  the positives are drawn as pandas' ``DataFrame.sample(n=k, random_state=seed)`` does,
  i.e. ``numpy.random.RandomState(seed).choice(n_pos, k, replace=False)`` on the
  positives in file order, and the rows are ordered as the authors' ``pd.concat``:
  all negatives in file order, then the drawn positives in draw order. This reproduces
  the authors' rows *and* row order, hence their ``StratifiedKFold`` folds.
* ``random`` (default seed 0): the seed of ``make_classification``.

Dataset-specific choices
------------------------
* ``diabetes``: ``gender`` and ``smoking_history`` are label-encoded in order of first
  appearance in the file (``pd.factorize``, as in the authors' notebooks:
  Female 0, Male 1, Other 2; never 0, No Info 1, current 2, former 3, ever 4,
  not current 5), not alphabetically.
* ``breast_cancer`` uses scikit-learn's bundled copy (identical, row for row, to the
  authors' ``breast_cancer.csv``; malignant -> 1).
* ``credit_card`` cannot be downloaded (Kaggle terms): pass ``path=`` or place
  ``creditcard_2023.csv`` at ``<data home>/anyloss/creditcard_2023.csv``. It is not
  hash-checked (no reference hash); its columns are checked instead.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cmloss.data.arff_reader import load_arff, minority_first
from cmloss.data.errors import DataFileNotFoundError
from cmloss.data.fetch import ENV_DATA_HOME, fetch_file, get_data_home, verify_file
from cmloss.data.registry import DATA_FILES, DatasetInfo, get_dataset_info

__all__ = ["Dataset", "RandomStateLike", "load_dataset"]

RandomStateLike = int | np.integer | np.random.SeedSequence | np.random.Generator | None
"""Seeds accepted by :func:`load_dataset` (``np.random.RandomState`` too, for pandas-style
draws)."""

CREDIT_CARD_URL = (
    "https://www.kaggle.com/datasets/nelgiriyewithana/credit-card-fraud-detection-dataset-2023"
)


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """A loaded dataset.

    Attributes:
        X: Unscaled features, float64, shape ``(n_rows, n_features)``, C-contiguous.
        y: Target, int64, shape ``(n_rows,)``; 1 = minority (positive) class.
        info: Metadata; its counts describe these arrays.
        feature_names: One name per column of ``X``.
        source_index: For each row, its 0-based row number in the source table (the
            file, or the generated / bundled data before subsampling).
    """

    X: np.ndarray
    y: np.ndarray
    info: DatasetInfo
    feature_names: tuple[str, ...]
    source_index: np.ndarray

    def __repr__(self) -> str:
        n, d = self.X.shape
        return (
            f"Dataset(name={self.info.name!r}, X=float64[{n}, {d}], y=int64[{n}] "
            f"({int(self.y.sum())} positive), group={self.info.group!r})"
        )


# --------------------------------------------------------------------------- helpers


def _minority_to_one(labels: np.ndarray) -> tuple[np.ndarray, str]:
    """Map a two-valued label array to 0/1 with the minority as 1 (the rule of
    ``cmloss.data.arff_reader.minority_first``)."""
    values, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if values.size != 2:
        raise ValueError(f"expected exactly two classes, found {values.size}: {values!r}")
    pos = 0 if minority_first(counts[0], counts[1]) else 1
    y = (inverse.reshape(-1) == pos).astype(np.int64)
    value = values[pos]
    label = format(value, "g") if isinstance(value, (float, np.floating)) else str(value)
    return y, label


def _file_stamp(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


def _readonly(*arrays: np.ndarray) -> None:
    for array in arrays:
        array.setflags(write=False)


@functools.lru_cache(maxsize=64)
def _read_arff_cached(path: str, size: int, mtime_ns: int) -> tuple:
    del size, mtime_ns  # part of the cache key only
    table = load_arff(path)
    _readonly(table.X, table.y)
    return table.X, table.y, table.feature_names, table.positive_label


_DIABETES_COLUMNS = (
    "gender",
    "age",
    "hypertension",
    "heart_disease",
    "smoking_history",
    "bmi",
    "HbA1c_level",
    "blood_glucose_level",
    "diabetes",
)
_DIABETES_CATEGORICAL = ("gender", "smoking_history")


@functools.lru_cache(maxsize=2)
def _read_diabetes_cached(path: str, size: int, mtime_ns: int) -> tuple:
    del size, mtime_ns
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = tuple(name.strip() for name in next(reader, []))
        rows = [row for row in reader if row]
    if header != _DIABETES_COLUMNS:
        raise ValueError(
            f"{path}: unexpected columns {header}; expected {_DIABETES_COLUMNS} "
            "(diabetes_prediction_dataset.csv)"
        )
    columns = list(zip(*rows, strict=True))
    features = []
    for name, column in zip(_DIABETES_COLUMNS[:-1], columns[:-1], strict=True):
        if name in _DIABETES_CATEGORICAL:
            # pd.factorize semantics: codes in order of first appearance.
            codes = {value: code for code, value in enumerate(dict.fromkeys(column))}
            features.append(np.fromiter((codes[v] for v in column), np.float64, len(column)))
        else:
            features.append(np.asarray(column, dtype=np.float64))
    X = np.ascontiguousarray(np.column_stack(features))
    y, label = _minority_to_one(np.asarray(columns[-1], dtype=np.int64))
    _readonly(X, y)
    return X, y, _DIABETES_COLUMNS[:-1], label


@functools.lru_cache(maxsize=2)
def _read_uci_skin_cached(path: str, size: int, mtime_ns: int) -> tuple:
    del size, mtime_ns
    with open(path, encoding="utf-8") as handle:
        header = tuple(handle.readline().split())
    if header != ("R", "G", "B", "T"):
        raise ValueError(f"{path}: unexpected header {header}; expected ('R', 'G', 'B', 'T')")
    table = np.loadtxt(path, delimiter="\t", skiprows=1, dtype=np.float64, ndmin=2)
    X = np.ascontiguousarray(table[:, :3])
    y, label = _minority_to_one(table[:, 3].astype(np.int64))
    _readonly(X, y)
    return X, y, header[:3], label


def _sample_positions(n: int, k: int, random_state: object) -> np.ndarray:
    """``k`` distinct positions out of ``n``; pandas ``.sample`` semantics for int seeds."""
    if k > n:
        raise ValueError(f"cannot draw {k} rows out of {n} without replacement")
    if isinstance(random_state, np.random.RandomState):
        return random_state.choice(n, size=k, replace=False)
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return np.random.RandomState(int(random_state)).choice(n, size=k, replace=False)
    return np.random.default_rng(random_state).choice(n, size=k, replace=False)


def _int_seed(random_state: object) -> int | np.random.RandomState:
    """A seed for scikit-learn functions, which take ints or RandomState only."""
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return random_state
    return int(np.random.default_rng(random_state).integers(0, 2**32 - 1))


def _check_random_state(random_state: object) -> None:
    ok = (np.random.SeedSequence, np.random.Generator, np.random.RandomState, np.integer)
    if isinstance(random_state, bool) or not (
        random_state is None or isinstance(random_state, (int, *ok))
    ):
        raise ValueError(
            "random_state must be None, an int, a numpy SeedSequence, Generator or "
            f"RandomState; got {random_state!r}"
        )


def _resolve_file(
    info: DatasetInfo,
    *,
    data_home: str | os.PathLike | None,
    path: str | os.PathLike | None,
    download: bool | None,
) -> Path:
    assert info.file is not None
    if path is not None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise DataFileNotFoundError(f"path={str(path)!r} for {info.name!r} is not a file.")
        return verify_file(path, info.file) if info.file in DATA_FILES else path
    return fetch_file(info.file, data_home=data_home, download=download)


def _finish(
    info: DatasetInfo,
    X: np.ndarray,
    y: np.ndarray,
    names: tuple[str, ...],
    rows: np.ndarray | None,
    positive_label: str,
) -> Dataset:
    if rows is None:
        rows = np.arange(X.shape[0], dtype=np.int64)
        X, y = X.copy(), y.copy()
    else:
        rows = np.asarray(rows, dtype=np.int64)
        X, y = X[rows], y[rows]
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    actual = dataclasses.replace(
        info,
        n_rows=int(X.shape[0]),
        n_features=int(X.shape[1]),
        n_positives=int(y.sum()),
        positive_label=positive_label,
    )
    return Dataset(X=X, y=y, info=actual, feature_names=tuple(names), source_index=rows)


# --------------------------------------------------------------------------- loaders


def _load_arff_dataset(info: DatasetInfo, path: Path, random_state: object) -> Dataset:
    X, y, names, label = _read_arff_cached(*_file_stamp(path))
    return _finish(info, X, y, names, None, label)


# name -> (number of positives kept, number of negatives kept or None for all)
_ASTRA_DRAWS: dict[str, tuple[int, int | None]] = {
    "skin-4000": (5, None),
    "cod-3500": (5, 17500),
}


def _load_astra(info: DatasetInfo, path: Path, random_state: object) -> Dataset:
    X, y, names, label = _read_arff_cached(*_file_stamp(path))
    if info.name not in _ASTRA_DRAWS:
        return _finish(info, X, y, names, None, label)
    n_pos, n_neg = _ASTRA_DRAWS[info.name]
    if isinstance(random_state, (np.random.Generator, np.random.RandomState)):
        rng = random_state
    else:
        rng = np.random.default_rng(random_state)
    positives = rng.choice(np.flatnonzero(y == 1), size=n_pos, replace=False)
    negatives = np.flatnonzero(y == 0)
    if n_neg is not None:
        negatives = rng.choice(negatives, size=n_neg, replace=False)
    rows = np.sort(np.concatenate([positives, negatives]))
    return _finish(info, X, y, names, rows, label)


def _load_random(info: DatasetInfo, path: None, random_state: object) -> Dataset:
    from sklearn.datasets import make_classification
    from sklearn.decomposition import PCA

    features, target = make_classification(
        n_samples=10000,
        n_classes=2,
        weights=[0.9, 0.1],
        class_sep=1.2,
        n_features=5,
        n_informative=3,
        n_redundant=1,
        n_clusters_per_class=1,
        random_state=_int_seed(random_state),
    )
    X = PCA(n_components=2).fit_transform(features)
    y, label = _minority_to_one(target)
    return _finish(info, X, y, ("pc1", "pc2"), None, label)


def _load_breast_cancer(info: DatasetInfo, path: None, random_state: object) -> Dataset:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    malignant = list(bunch.target_names).index("malignant")
    y = (bunch.target == malignant).astype(np.int64)
    negatives = np.flatnonzero(y == 0)
    positives = np.flatnonzero(y == 1)
    n_keep = round(0.1 * negatives.size)  # 36, as the authors' round(len(df_0) * 0.1)
    drawn = positives[_sample_positions(positives.size, n_keep, random_state)]
    rows = np.concatenate([negatives, drawn])
    names = tuple(str(name) for name in bunch.feature_names)
    return _finish(info, bunch.data, y, names, rows, "M")


def _load_diabetes(info: DatasetInfo, path: Path, random_state: object) -> Dataset:
    X, y, names, label = _read_diabetes_cached(*_file_stamp(path))
    return _finish(info, X, y, names, None, label)


def _load_uci_skin(info: DatasetInfo, path: Path, random_state: object) -> Dataset:
    X, y, names, label = _read_uci_skin_cached(*_file_stamp(path))
    return _finish(info, X, y, names, None, label)


def _credit_card_path(
    info: DatasetInfo, data_home: str | os.PathLike | None, path: str | os.PathLike | None
) -> Path:
    if path is not None:
        candidate = Path(path).expanduser()
    else:
        candidate = get_data_home(data_home).joinpath(*info.file.split("/"))
    if candidate.is_file():
        return candidate
    searched = (
        f"path={str(candidate)!r} does not exist"
        if path is not None
        else f"it is not at {candidate} in the data home {get_data_home(data_home)} "
        f"(data_home=, else ${ENV_DATA_HOME}, else the user cache folder)"
    )
    raise DataFileNotFoundError(
        "The credit_card dataset needs Kaggle's 'Credit Card Fraud Detection Dataset "
        "2023' (creditcard_2023.csv, 568,630 rows x 31 columns: id, V1..V28, Amount, "
        f"Class), and {searched}. cmloss cannot download it (Kaggle requires an account "
        f"and acceptance of the dataset's terms). Download it from {CREDIT_CARD_URL}, "
        "unzip it, then pass path='/path/to/creditcard_2023.csv' or copy the file to "
        f"{get_data_home(data_home).joinpath(*info.file.split('/'))}."
    )


def _load_credit_card(
    info: DatasetInfo,
    path: Path,
    random_state: object,
) -> Dataset:
    with open(path, encoding="utf-8", newline="") as handle:
        header = [name.strip().strip('"') for name in next(csv.reader(handle), [])]
    required = [f"V{k}" for k in range(1, 29)] + ["Amount", "Class"]
    missing = [name for name in required if name not in header]
    extra = [name for name in header if name not in required and name != "id"]
    if missing or extra:
        raise ValueError(
            f"{path} does not look like creditcard_2023.csv: missing columns {missing}, "
            f"unexpected columns {extra}; expected id, V1..V28, Amount, Class."
        )
    try:
        table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise ValueError(f"{path}: cannot read the values as numbers: {exc}") from exc
    if table.shape[1] != len(header):
        raise ValueError(f"{path}: {table.shape[1]} values per row but {len(header)} columns")
    target = table[:, header.index("Class")]
    if not np.isin(target, (0.0, 1.0)).all():
        raise ValueError(f"{path}: column Class must hold only 0 and 1")
    keep = [k for k, name in enumerate(header) if name not in ("id", "Class")]
    names = tuple(header[k] for k in keep)
    y = (target == 1.0).astype(np.int64)
    negatives = np.flatnonzero(y == 0)
    positives = np.flatnonzero(y == 1)
    n_keep = round(0.05 * negatives.size)  # the authors' round(len(df_0) * 0.05)
    if n_keep > positives.size:
        raise ValueError(
            f"{path}: need round(0.05 * {negatives.size}) = {n_keep} positives, file has "
            f"{positives.size}"
        )
    drawn = positives[_sample_positions(positives.size, n_keep, random_state)]
    rows = np.concatenate([negatives, drawn])
    return _finish(info, table[:, keep], y, names, rows, "1")


_LOADERS: dict[str, Callable[[DatasetInfo, Path | None, object], Dataset]] = {
    "hd-ensemble": _load_arff_dataset,
    "astra": _load_astra,
    "random": _load_random,
    "breast_cancer": _load_breast_cancer,
    "diabetes": _load_diabetes,
    "credit_card": _load_credit_card,
    "uci-skin": _load_uci_skin,
}


def load_dataset(
    name: str,
    *,
    data_home: str | os.PathLike | None = None,
    random_state: RandomStateLike | np.random.RandomState = None,
    path: str | os.PathLike | None = None,
    download: bool | None = None,
) -> Dataset:
    """Load a registered dataset by name.

    Args:
        name: One of :func:`cmloss.data.list_datasets` (an HD-Ensemble file stem such as
            ``"yeast5"``; an ASTra problem ``"skin-588"``, ``"skin-4000"``, ``"cod-763"``,
            ``"cod-3500"``, ``"ijcnn-971"``; an AnyLoss dataset ``"random"``,
            ``"breast_cancer"``, ``"diabetes"``, ``"credit_card"``; or ``"uci-skin"``).
        data_home: Folder holding the data files in the ``shared/data`` layout; default
            ``$CMLOSS_DATA``, else the user cache folder.
        random_state: Seed of the random draw for datasets that have one (see the module
            docstring); ``None`` uses ``info.default_random_state``. Ignored for fixed
            datasets.
        path: Use this file instead of looking in the data home. Registered files are
            still checked against their SHA-256; required for ``credit_card`` unless the
            file is in the data home.
        download: Allow (``True``) or forbid (``False``) downloading a missing file;
            ``None`` follows ``$CMLOSS_OFFLINE``.

    Returns:
        A :class:`Dataset` with unscaled float64 ``X`` and 0/1 int64 ``y`` (1 = minority).

    Raises:
        ValueError: Unknown name (the message lists close matches), bad ``random_state``
            or a file whose content is not as expected
            (:class:`~cmloss.data.errors.ArffFormatError` for ARFF files).
        DataFileNotFoundError: The file is missing and cannot be downloaded.
        DataIntegrityError: The file does not match the registry's SHA-256.
    """
    info = get_dataset_info(name)
    _check_random_state(random_state)
    seed = info.default_random_state if random_state is None else random_state
    loader = _LOADERS.get(info.group) or _LOADERS[info.name]
    if info.name == "credit_card":
        file = _credit_card_path(info, data_home, path)
    elif info.file is None:
        if path is not None:
            raise ValueError(f"dataset {info.name!r} is not read from a file; omit path=")
        file = None
    else:
        file = _resolve_file(info, data_home=data_home, path=path, download=download)
    return loader(info, file, seed)
