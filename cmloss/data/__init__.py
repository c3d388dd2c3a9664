"""Datasets of the AnyLoss and ASTra papers, and of the HD-Ensemble study, by name.

Quick start::

    from cmloss.data import list_datasets, load_dataset

    d = load_dataset("skin-588", data_home="../shared/data")
    print(d.info)            # skin-588 (astra): 20034 rows, 3 features, 34 positives, ...
    d.X, d.y                 # unscaled float64 features, int64 0/1 target (1 = minority)

    for info in list_datasets("astra"):
        print(info.name, round(info.imbalance_ratio, 2), info.n_features, info.n_rows)

Names (see :func:`list_datasets` for the metadata of each):

* ``"hd-ensemble"``: the 40 available ARFF files of Chen et al. (2021), by file stem
  (``"yeast5"``, ``"skin_nonskin"``, ``"cod-rna"``, ...), IR 9.08 to 970.6;
* ``"astra"``: the five problems of Twomey and Gorse (2022), Table 1: ``"skin-588"``,
  ``"skin-4000"``, ``"cod-763"``, ``"cod-3500"``, ``"ijcnn-971"`` (skin-4000 and cod-3500
  are random draws, seeded by ``random_state``);
* ``"anyloss"``: ``"random"``, ``"breast_cancer"``, ``"diabetes"``, ``"credit_card"``
  (Han, Moniz and Chawla, 2024); credit_card needs a user-supplied Kaggle file;
* ``"uci"``: ``"uci-skin"``, the full UCI Skin Segmentation data (245,057 rows).

Files are read from the *data home*: ``data_home=``, else ``$CMLOSS_DATA``, else a user
cache folder, laid out like the project's ``shared/data`` (``hd-ensemble/<name>.arff``,
``anyloss/...``, ``uci/...``). A file is checked against its embedded SHA-256 (once per
process); a missing one is downloaded from its original address with pooch and cached,
unless ``CMLOSS_OFFLINE=1``. pooch, liac-arff and scikit-learn (the ``cmloss[data]``
extra) are imported only when needed, so importing this package is cheap.

Features are returned **unscaled**; z-scoring belongs to the protocol and is fitted on
training rows only (:func:`cmloss.protocols.fit_zscore`). This deviates from the AnyLoss
authors, who z-scored each whole file before splitting.

Public API: :func:`load_dataset`, :class:`Dataset`, :func:`list_datasets`,
:func:`get_dataset_info`, :class:`DatasetInfo`, :func:`get_data_home`,
:func:`fetch_file`, :func:`load_arff` / :class:`ArffTable`, ``DATA_FILES``, and the
errors :class:`DataFileNotFoundError`, :class:`DataIntegrityError`,
:class:`ArffFormatError`. Module details: :mod:`cmloss.data.registry`,
:mod:`cmloss.data.fetch`, :mod:`cmloss.data.arff_reader`, :mod:`cmloss.data.loaders`.
"""

from cmloss.data.arff_reader import ArffTable, load_arff
from cmloss.data.errors import ArffFormatError, DataFileNotFoundError, DataIntegrityError
from cmloss.data.fetch import (
    ENV_DATA_HOME,
    ENV_OFFLINE,
    downloads_enabled,
    fetch_file,
    get_data_home,
    verify_file,
)
from cmloss.data.loaders import Dataset, load_dataset
from cmloss.data.registry import (
    DATA_FILES,
    DATASETS,
    GROUPS,
    DatasetInfo,
    FileRecord,
    get_dataset_info,
    list_datasets,
)

__all__ = [
    "DATASETS",
    "DATA_FILES",
    "ENV_DATA_HOME",
    "ENV_OFFLINE",
    "GROUPS",
    "ArffFormatError",
    "ArffTable",
    "DataFileNotFoundError",
    "DataIntegrityError",
    "Dataset",
    "DatasetInfo",
    "FileRecord",
    "downloads_enabled",
    "fetch_file",
    "get_data_home",
    "get_dataset_info",
    "list_datasets",
    "load_arff",
    "load_dataset",
    "verify_file",
]
