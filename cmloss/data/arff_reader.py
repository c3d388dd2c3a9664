"""Read WEKA ARFF files (dense or sparse) into numeric arrays with a 0/1 target.

Parser choice
-------------
The text is parsed by liac-arff (``import arff``, PyPI ``liac-arff``), imported lazily.
It was checked against the two ARFF rules that matter for the HD-Ensemble files
(``tests/test_data.py`` keeps these checks):

* in a sparse row ``{index value, ...}`` an omitted **numeric** value is 0 and an omitted
  **nominal** value is the **first declared label**: with ``encode_nominal=True``
  liac-arff fills both with 0, and 0 is the index of the first label;
* nominal values are encoded as their index in the declaration, missing values
  (``?``) come back as ``None``.

So no hand-written parser is needed. This module adds what liac-arff leaves to the
caller: universal newlines (the HD-Ensemble files mix CRLF and LF), ``?`` -> NaN,
the encoding of nominal *feature* attributes, the choice of the positive class, and
errors that name the file (:class:`~cmloss.data.errors.ArffFormatError`).

Nominal features
----------------
``nominal="ordinal"`` (the default) keeps one column per attribute holding the label's
index in the declaration (WEKA's internal coding; feature counts then equal attribute
counts, as in the papers' tables). ``nominal="onehot"`` expands an attribute with k labels
into k 0/1 columns named ``"attr=label"``; a missing value gives NaN in all k columns.
None of the 40 HD-Ensemble files has a nominal *feature* (only the class attribute is
nominal, made so by WEKA's ``NumericToNominal -R last`` filter), so the choice does not
change any bundled dataset.

Target
------
The class attribute is the last one (or ``class_attribute=``). It must take exactly two
values in the data; the value with fewer rows (the minority) becomes 1, the other 0. On a
tie the later-declared label becomes 1.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cmloss.data.errors import ArffFormatError

__all__ = ["ArffTable", "load_arff"]

_NUMERIC_TYPES = frozenset({"NUMERIC", "REAL", "INTEGER"})


@dataclass(frozen=True, eq=False)
class ArffTable:
    """Content of one ARFF file as arrays.

    Attributes:
        relation: The ``@relation`` name.
        X: Features, float64 of shape ``(n_rows, n_features)``; missing values are NaN.
        y: Target, int64 of shape ``(n_rows,)``: 1 for the minority class, 0 otherwise.
        feature_names: One name per column of ``X``.
        class_name: Name of the class attribute.
        class_labels: The declared class labels (for a numeric class: its distinct values).
        class_counts: Number of rows per entry of ``class_labels``.
        positive_label: The original label mapped to 1 (the minority).
        negative_label: The original label mapped to 0.
    """

    relation: str
    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    class_name: str
    class_labels: tuple[str, ...]
    class_counts: tuple[int, ...]
    positive_label: str
    negative_label: str


def _import_liac_arff():
    try:
        import arff  # liac-arff
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Reading ARFF files needs liac-arff: pip install 'cmloss[data]' "
            "(or pip install liac-arff)."
        ) from exc
    if not hasattr(arff, "load") or not hasattr(arff, "ArffException"):  # pragma: no cover
        raise ImportError(
            "The module 'arff' found on the path is not liac-arff; install liac-arff."
        )
    return arff


def _to_float_matrix(rows: list) -> np.ndarray:
    """Convert liac-arff rows (numbers and ``None``) to a float64 matrix with NaN."""
    obj = np.array(rows, dtype=object)
    if obj.ndim != 2:
        raise ValueError("rows have different lengths")
    missing = np.frompyfunc(lambda v: v is None, 1, 1)(obj).astype(bool)
    if missing.any():
        obj[missing] = np.nan
    return obj.astype(np.float64)


def minority_first(counts_a: int, counts_b: int) -> bool:
    """The one rule for which of two classes is positive (1): the one with fewer rows; on a
    tie, the second (the later-declared label, or the larger value). True when the first
    class (with ``counts_a`` rows) is the positive one."""
    return counts_a < counts_b


def load_arff(
    path: str | os.PathLike,
    *,
    nominal: str = "ordinal",
    class_attribute: str | None = None,
) -> ArffTable:
    """Read a dense or sparse ARFF file for binary classification.

    Args:
        path: The ``.arff`` file.
        nominal: Encoding of nominal feature attributes: ``"ordinal"`` (index of the
            label in the declaration, one column per attribute) or ``"onehot"`` (one 0/1
            column per declared label).
        class_attribute: Name of the class attribute; default the last attribute.

    Returns:
        An :class:`ArffTable` whose ``y`` is 1 for the minority class.

    Raises:
        ArffFormatError: The file is not valid ARFF, has no data rows, uses an
            unsupported attribute type (string, date, relational) for a feature, has
            missing class values, or its class does not take exactly two values.
        ValueError: ``nominal`` is not ``"ordinal"`` or ``"onehot"``.
        FileNotFoundError: ``path`` does not exist.
    """
    if nominal not in ("ordinal", "onehot"):
        raise ValueError(f"nominal must be 'ordinal' or 'onehot', got {nominal!r}")
    arff = _import_liac_arff()
    path = Path(path)
    try:
        # newline=None: universal newlines, so CRLF, LF and lone CR all end a line.
        with open(path, encoding="utf-8", newline=None) as handle:
            content = arff.load(handle, encode_nominal=True)
    except arff.ArffException as exc:
        raise ArffFormatError(f"Malformed ARFF file {path}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ArffFormatError(f"ARFF file {path} is not UTF-8/ASCII text: {exc}") from exc

    attributes = content["attributes"]
    rows = content["data"]
    relation = str(content.get("relation", ""))
    if len(attributes) < 2:
        raise ArffFormatError(
            f"ARFF file {path} declares {len(attributes)} attribute(s); need at least one "
            "feature and a class attribute."
        )
    if not rows:
        raise ArffFormatError(f"ARFF file {path} has no data rows after @data.")

    names = [name for name, _ in attributes]
    if class_attribute is None:
        class_col = len(attributes) - 1
    else:
        if class_attribute not in names:
            raise ArffFormatError(
                f"ARFF file {path} has no attribute {class_attribute!r}; attributes: {names}"
            )
        class_col = names.index(class_attribute)

    for name, kind in attributes:
        if isinstance(kind, str) and kind.upper() not in _NUMERIC_TYPES:
            raise ArffFormatError(
                f"ARFF file {path}: attribute {name!r} has type {kind}; only numeric and "
                "nominal attributes are supported."
            )

    try:
        table = _to_float_matrix(rows)
    except (TypeError, ValueError) as exc:
        raise ArffFormatError(f"ARFF file {path}: cannot convert data to numbers: {exc}") from exc

    class_name, class_kind = attributes[class_col]
    codes = table[:, class_col]
    if np.isnan(codes).any():
        bad = int(np.flatnonzero(np.isnan(codes))[0])
        raise ArffFormatError(f"ARFF file {path}: missing class value ('?') in data row {bad + 1}.")
    if isinstance(class_kind, list):
        labels = [str(label) for label in class_kind]
        counts = np.bincount(codes.astype(np.int64), minlength=len(labels))
        codes_int = codes.astype(np.int64)
    else:
        values, codes_int = np.unique(codes, return_inverse=True)
        labels = [format(v, "g") for v in values]
        counts = np.bincount(codes_int, minlength=len(labels))
    present = np.flatnonzero(counts)
    if present.size != 2:
        found = {labels[k]: int(counts[k]) for k in present}
        raise ArffFormatError(
            f"ARFF file {path}: class attribute {class_name!r} takes {present.size} distinct "
            f"value(s) in the data {found}; cmloss needs exactly two (binary classification)."
        )
    first, second = present
    pos_code, neg_code = ((first, second) if minority_first(counts[first], counts[second])
                          else (second, first))
    y = (codes_int == pos_code).astype(np.int64)

    feature_cols: list[np.ndarray] = []
    feature_names: list[str] = []
    for col, (name, kind) in enumerate(attributes):
        if col == class_col:
            continue
        column = table[:, col]
        if isinstance(kind, list) and nominal == "onehot":
            for k, label in enumerate(kind):
                onehot = (column == k).astype(np.float64)
                onehot[np.isnan(column)] = np.nan
                feature_cols.append(onehot)
                feature_names.append(f"{name}={label}")
        else:
            feature_cols.append(column)
            feature_names.append(str(name))
    X = np.ascontiguousarray(np.column_stack(feature_cols), dtype=np.float64)

    return ArffTable(
        relation=relation,
        X=X,
        y=y,
        feature_names=tuple(feature_names),
        class_name=str(class_name),
        class_labels=tuple(labels),
        class_counts=tuple(int(c) for c in counts),
        positive_label=labels[pos_code],
        negative_label=labels[neg_code],
    )
