"""Embedded registry: every data file (SHA-256, size, download address) and every dataset.

Two tables live here, both plain constants so that listing needs no file and no network:

* :data:`DATA_FILES` maps each file's path relative to the data home (the same layout as
  the project's ``shared/data`` folder: ``hd-ensemble/<name>.arff``, ``anyloss/...``,
  ``uci/...``) to a :class:`FileRecord` with its SHA-256, size and original public
  address. Addresses are pinned to the commit the files were taken from, so a download
  always matches the embedded hash.
* :data:`DATASETS` maps each dataset name to a :class:`DatasetInfo` (group, rows,
  features, positives, imbalance ratio, source, citation and licence note). The counts
  are what the loaders produce; ``tests/test_data.py`` checks every one of them against
  the loaders and against the papers' tables.

Groups: ``"hd-ensemble"`` (the 40 available files of Chen et al. 2021, by file stem),
``"astra"`` (the five problems of Twomey and Gorse 2022, Table 1), ``"anyloss"`` (the four
imbalanced datasets of Han, Moniz and Chawla 2024) and ``"uci"`` (UCI Skin Segmentation,
for scaling measurements).
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass

__all__ = [
    "DATASETS",
    "DATA_FILES",
    "GROUPS",
    "DatasetInfo",
    "FileRecord",
    "get_dataset_info",
    "list_datasets",
]

GROUPS: tuple[str, ...] = ("hd-ensemble", "astra", "anyloss", "uci")

_HD_COMMIT = "ae78b37243391f42475ce485bcbc90c124dfdd3d"
_ANYLOSS_COMMIT = "fb9859032fdb2d629c2bf4bb6a3ae48d726078e9"
_SKIN_COMMIT = "b93b3c3294213318492cad2dbf77ac7f4d0f92c4"
_RAW = "https://raw.githubusercontent.com"


@dataclass(frozen=True)
class FileRecord:
    """One downloadable data file.

    Attributes:
        path: Path relative to the data home, with ``/`` separators.
        sha256: Expected SHA-256 of the file's bytes (lower-case hex).
        size: Expected size in bytes.
        url: Original public address the file is downloaded from.
    """

    path: str
    sha256: str
    size: int
    url: str


def _url_for(path: str) -> str:
    group, _, name = path.partition("/")
    if group == "hd-ensemble":
        return f"{_RAW}/smallcube/HD-Ensemble/{_HD_COMMIT}/datasets/{name}"
    if group == "anyloss":
        return f"{_RAW}/doheonhan/AnyLoss/{_ANYLOSS_COMMIT}/{name}"
    if group == "uci":
        return f"{_RAW}/adwitiya/scikit_tutorial/{_SKIN_COMMIT}/datasets/{name}"
    raise ValueError(f"no download address pattern for {path!r}")  # pragma: no cover


# path -> (sha256, size in bytes); the project's shared/data/SHA256SUMS.
_FILE_HASHES: dict[str, tuple[str, int]] = {
    "anyloss/breast_cancer.csv": (
        "b63d3d9085bad4c5531d2f012d875d820e130a2393acf7720cc173f998140c1e",
        124571,
    ),
    "anyloss/diabetes_prediction_dataset.csv": (
        "f233fc470e904201f35310d061cb46ca0a6bc7ca5c3e428b769fb4f87f69929b",
        3810356,
    ),
    "hd-ensemble/a1a.arff": (
        "306c4b441a410a1c78f9468e61bff4b94d9cb84b970b3a34869c37f8f7ec420b",
        33807,
    ),
    "hd-ensemble/abalone-17_vs_7-8-9-10.arff": (
        "04e9857dc2ef13de1172f0f1bdf0b7795fd0b069e1995806cf05b23151193016",
        109151,
    ),
    "hd-ensemble/abalone19.arff": (
        "cb358775ea2f1de55d21e80348962faa8eb9aaed9bf9f0d27601a8870802e5b1",
        194135,
    ),
    "hd-ensemble/abalone9-18.arff": (
        "faaf4715dec4dc1926a43d71293ed9e9e798aa9ee296bbceb44da834ad969bf2",
        34371,
    ),
    "hd-ensemble/australian_scale.arff": (
        "d579d8c0c2d56a188e5fb8e64161f8408713d9ebb47f0de727a2f09b5868ecfc",
        33502,
    ),
    "hd-ensemble/breast-cancer_scale.arff": (
        "69d56e0f6af01cd60220a0118fd4c1a9c5959f3f0cb913826b09c42d18079eae",
        25266,
    ),
    "hd-ensemble/cod-rna.arff": (
        "68e7a8e74060de73fd19fb0011b00a5dc4d55da46611e466d3da7977a5ee0b0b",
        1624674,
    ),
    "hd-ensemble/diabetes_scale.arff": (
        "2c5ac018346aa35c0bea9d17bb206fee19eb859d92488b82f633a6c9bbf9feab",
        23974,
    ),
    "hd-ensemble/ecoli-0-1-3-7_vs_2-6.arff": (
        "91fbb2802e1a2e76968e8aebaa3bba581320ec6874d95a9a554527f7babb4b81",
        6606,
    ),
    "hd-ensemble/ecoli4.arff": (
        "12cd673abe7dd548e3008cae2491acf5a05ebc0bbf6da4dafa80c1a377440a1f",
        12510,
    ),
    "hd-ensemble/german.arff": (
        "38e33a960aa740921175a0699557c7f549b9f29766d1e5db2a74f3e90b479c20",
        29681,
    ),
    "hd-ensemble/glass-0-1-6_vs_2.arff": (
        "fa18dd0aae7a83fdf3e7394c2e4ea50734d1099fd185447ae610f5a557af62e9",
        12695,
    ),
    "hd-ensemble/glass-0-1-6_vs_5.arff": (
        "76444d8c56fc1ef79f6c2d0a0576ae581fd151d4597f2bea6873314825a00deb",
        12097,
    ),
    "hd-ensemble/glass2.arff": (
        "f496e675f5e7c23958c4362b6291e8ac20f6323deddf0af84405a07a77877de7",
        10353,
    ),
    "hd-ensemble/glass5.arff": (
        "57a4db8947126335593d0ad25001d57c8938d0b01e52dc0900487017827535d0",
        13985,
    ),
    "hd-ensemble/ijcnn1.arff": (
        "fb96f463bac1d8c0c2134a3ad67ee6d6eea5ee500aecd17197b84353c2ded5fe",
        781098,
    ),
    "hd-ensemble/kddcup-buffer_overflow_vs_back.arff": (
        "cfd90fcd4cdeed55959c54dc5906cd8871c44de7bc9cbcc96331b079a18f4a07",
        235434,
    ),
    "hd-ensemble/kddcup-land_vs_satan.arff": (
        "86057bde9bdddda0c4a11d8d27fe24324104ce73758fb9718a12ab3dfea59543",
        164767,
    ),
    "hd-ensemble/kddcup-rootkit-imap_vs_back.arff": (
        "c035826e5246f1dc590ef9256885b432972a61cf4742a0e44e3fccac566c29fa",
        234749,
    ),
    "hd-ensemble/kr-vs-k-three_vs_eleven.arff": (
        "8668288e273fc9bf25a004d383a5205ecb0dd7f240f4a8ec52095fb98d6bcaa5",
        44299,
    ),
    "hd-ensemble/kr-vs-k-zero_vs_eight.arff": (
        "e706a6cc35c969e65fda21a1e2b1bc60cdc8210e7e10f52c68e9443642178d46",
        22172,
    ),
    "hd-ensemble/kr-vs-k-zero_vs_fifteen.arff": (
        "2192c34d136e94d8156e2f3becab4ea98202b486ff46cc2b4c8c20632f0ec6bb",
        33169,
    ),
    "hd-ensemble/mushrooms.arff": (
        "40ccfd3f659a64e39a796e28aa8f7c78f9cb6154c0e3e97de77c4a49e157a886",
        431666,
    ),
    "hd-ensemble/phishing.arff": (
        "c334ca0aa1257e41e90690d95eabe47f4f8623a7f5d6e14f6a91f2a9d576613e",
        1568158,
    ),
    "hd-ensemble/poker-8-9_vs_5.arff": (
        "8bb77848c3c0a275c73c9576b35819bb9864f228852cbcfe3a0b0f219d8ab99c",
        51364,
    ),
    "hd-ensemble/poker-8_vs_6.arff": (
        "618053f4a4d18bfc3ad44fe4376b4a5474d43f7601c6934151c1ffd72dfe6d70",
        36684,
    ),
    "hd-ensemble/shuttle-2_vs_5.arff": (
        "013676a8d9a75abcdb01cec33752ffa499c3ef235ddb2a9c15588591e6df0837",
        95714,
    ),
    "hd-ensemble/shuttle-c0-vs-c4.arff": (
        "73d0bb730f9886e39dd17d7aeed264c610676a3ad1248d59202642a3951d9b51",
        50482,
    ),
    "hd-ensemble/shuttle-c2-vs-c4.arff": (
        "710ba2a0b9d48690974313048ed9236c27d6164aaa11fba5322a2da9b6f3cfa3",
        4064,
    ),
    "hd-ensemble/skin_nonskin.arff": (
        "9f7642b104b9d5003e937446be71d15e4c007f1bb161ddf64ee3a7dad5afe9f4",
        405558,
    ),
    "hd-ensemble/svmguide1.arff": (
        "9562b61fe48d1a2ca723900e4965f44ec842d118a440952421a82f685feb8361",
        141306,
    ),
    "hd-ensemble/svmguide3.arff": (
        "6f633b3441369c4e4e50aaa810f2606dc58329b88712af501786ea0e0cb83c6c",
        62821,
    ),
    "hd-ensemble/vowel0.arff": (
        "d753cd2f85e2eb4d6aaf4ac0b0d66d52053551fd42b3d52ad0462283b4fca110",
        72715,
    ),
    "hd-ensemble/yeast-0-5-6-7-9_vs_4.arff": (
        "6fb6ee46abf1d9ac54bfa84f60809677085c5ca4af13eb8a961c85e9364395a1",
        20634,
    ),
    "hd-ensemble/yeast-1-2-8-9_vs_7.arff": (
        "00bac1412ddf37db991ada3b298564a5d6be56cc77866af31108d41ecc12ffd1",
        36713,
    ),
    "hd-ensemble/yeast-1-4-5-8_vs_7.arff": (
        "e43f522ebf9996d4fe598c502a9156c0be192e45ddad598fcfec0181d895a6e1",
        26990,
    ),
    "hd-ensemble/yeast-1_vs_7.arff": (
        "cf3efe64c83436d99856372a9f15fbe94e9ca0ec408bf194e4fe426cc4055ef9",
        17015,
    ),
    "hd-ensemble/yeast-2_vs_4.arff": (
        "dfed17e75aab1f01d253b8155f6886cf6ccba77224102f918904f3d2da5f5924",
        20050,
    ),
    "hd-ensemble/yeast5.arff": (
        "a8de1c4ba8994045333d2142d344647dbe4c36888b0b493c1c5f2be8e8d1be5f",
        57369,
    ),
    "hd-ensemble/yeast6.arff": (
        "d1ccd2f34eb025b82e264c869f0939907d4a70658b05d4ac5da01680997836bc",
        57369,
    ),
    "uci/Skin_NonSkin.txt": (
        "8aab1bfde88572ff0ba55be9a6c608654e5cedb1699630051dfff4f5a611cb6d",
        3155769,
    ),
}

DATA_FILES: dict[str, FileRecord] = {
    path: FileRecord(path=path, sha256=sha, size=size, url=_url_for(path))
    for path, (sha, size) in _FILE_HASHES.items()
}
"""Every downloadable file, keyed by its path relative to the data home."""

CREDIT_CARD_FILE = "anyloss/creditcard_2023.csv"
"""Where the (not downloadable) Kaggle credit-card file is looked for in the data home."""


@dataclass(frozen=True)
class DatasetInfo:
    """Description of one dataset, as listed by :func:`list_datasets`.

    The counts describe the arrays :func:`cmloss.data.load_dataset` returns (for the
    random draws of ``skin-4000``/``cod-3500``/``breast_cancer``/``credit_card`` they hold
    for every draw).

    Attributes:
        name: Name accepted by :func:`cmloss.data.load_dataset`.
        group: ``"hd-ensemble"``, ``"astra"``, ``"anyloss"`` or ``"uci"``.
        n_rows: Number of examples.
        n_features: Number of feature columns.
        n_positives: Number of examples with target 1 (the minority class).
        file: Path of the source file relative to the data home, or ``None`` when no file
            is needed (generated data, data bundled with scikit-learn).
        positive_label: The original class label that becomes target 1.
        default_random_state: Seed used when ``random_state=None`` for data that depend
            on a seed (random draws or generated data); ``None`` for fixed data.
        source: Where the data come from and how they are derived.
        citation: Reference(s) to cite.
        licence: Licence / terms note.
    """

    name: str
    group: str
    n_rows: int
    n_features: int
    n_positives: int
    file: str | None
    positive_label: str
    default_random_state: int | None
    source: str
    citation: str
    licence: str

    @property
    def n_negatives(self) -> int:
        """Number of examples with target 0."""
        return self.n_rows - self.n_positives

    @property
    def imbalance_ratio(self) -> float:
        """Imbalance ratio IR = negatives / positives (the ASTra paper rounds it to 0.01)."""
        return self.n_negatives / self.n_positives

    def to_dict(self) -> dict[str, object]:
        """All fields plus ``n_negatives`` and ``imbalance_ratio``, e.g. for a table.

        Returns:
            A new dictionary, in field order with the two derived values after
            ``n_positives``.
        """
        out: dict[str, object] = {}
        for key, value in asdict(self).items():
            out[key] = value
            if key == "n_positives":
                out["n_negatives"] = self.n_negatives
                out["imbalance_ratio"] = self.imbalance_ratio
        return out

    def __str__(self) -> str:
        return (
            f"{self.name} ({self.group}): {self.n_rows} rows, {self.n_features} features, "
            f"{self.n_positives} positives, IR {self.imbalance_ratio:.2f}; {self.source}"
        )


_HD_CITATION = (
    "Z. Chen, J. Duan, L. Kang, G. Qiu. A hybrid data-level ensemble to enable learning "
    "from highly imbalanced dataset. Information Sciences 554:157-176, 2021; files from "
    f"github.com/smallcube/HD-Ensemble (commit {_HD_COMMIT[:7]})."
)
_HD_LICENCE = (
    "No licence file in the HD-Ensemble repository; the data are public benchmark sets "
    "(KEEL repository, LIBSVM data page, UCI) redistributed for research. Cite Chen et "
    "al. and the original collection."
)
_ASTRA_CITATION = (
    "D. Twomey, D. Gorse. ASTra: a novel algorithm-level approach to imbalanced "
    "classification. ICANN 2022 (arXiv 2209.01685), Table 1; data from " + _HD_CITATION
)
_ANYLOSS_CITATION = (
    "D. Han, N. Moniz, N. V. Chawla. AnyLoss: transforming classification metrics into "
    "loss functions. KDD 2024 (arXiv 2405.14745)."
)

# name, rows, features, positives, original minority label; measured by the loader.
_HD_TABLE: tuple[tuple[str, int, int, int, str], ...] = (
    ("a1a", 404, 119, 9, "-1"),
    ("abalone-17_vs_7-8-9-10", 2338, 8, 58, "1"),
    ("abalone19", 4174, 8, 32, "0"),
    ("abalone9-18", 731, 8, 42, "0"),
    ("australian_scale", 314, 14, 7, "-1"),
    ("breast-cancer_scale", 248, 10, 9, "2"),
    ("cod-rna", 19871, 8, 26, "-1"),
    ("diabetes_scale", 276, 8, 8, "1"),
    ("ecoli-0-1-3-7_vs_2-6", 281, 7, 7, "0"),
    ("ecoli4", 336, 7, 20, "0"),
    ("german", 324, 24, 24, "-1"),
    ("glass-0-1-6_vs_2", 192, 9, 17, "0"),
    ("glass-0-1-6_vs_5", 184, 9, 9, "0"),
    ("glass2", 214, 9, 17, "0"),
    ("glass5", 214, 9, 9, "0"),
    ("ijcnn1", 4858, 22, 5, "-1"),
    ("kddcup-buffer_overflow_vs_back", 2233, 41, 30, "1"),
    ("kddcup-land_vs_satan", 1610, 41, 21, "0"),
    ("kddcup-rootkit-imap_vs_back", 2225, 41, 22, "1"),
    ("kr-vs-k-three_vs_eleven", 2935, 6, 81, "1"),
    ("kr-vs-k-zero_vs_eight", 1460, 6, 27, "0"),
    ("kr-vs-k-zero_vs_fifteen", 2193, 6, 27, "1"),
    ("mushrooms", 4001, 112, 85, "2"),
    ("phishing", 4910, 68, 12, "1"),
    ("poker-8-9_vs_5", 2075, 10, 25, "1"),
    ("poker-8_vs_6", 1477, 10, 17, "1"),
    ("shuttle-2_vs_5", 3316, 9, 49, "1"),
    ("shuttle-c0-vs-c4", 1829, 9, 123, "0"),
    ("shuttle-c2-vs-c4", 129, 9, 6, "0"),
    ("skin_nonskin", 20034, 3, 34, "2"),
    ("svmguide1", 3175, 4, 86, "1"),
    ("svmguide3", 312, 22, 16, "-1"),
    ("vowel0", 988, 13, 90, "0"),
    ("yeast-0-5-6-7-9_vs_4", 528, 8, 51, "0"),
    ("yeast-1-2-8-9_vs_7", 947, 8, 30, "0"),
    ("yeast-1-4-5-8_vs_7", 693, 8, 30, "0"),
    ("yeast-1_vs_7", 459, 7, 30, "0"),
    ("yeast-2_vs_4", 514, 8, 51, "0"),
    ("yeast5", 1484, 8, 44, "0"),
    ("yeast6", 1484, 8, 35, "0"),
)


def _hd_info(name: str, rows: int, features: int, positives: int, label: str) -> DatasetInfo:
    return DatasetInfo(
        name=name,
        group="hd-ensemble",
        n_rows=rows,
        n_features=features,
        n_positives=positives,
        file=f"hd-ensemble/{name}.arff",
        positive_label=label,
        default_random_state=None,
        source=f"HD-Ensemble file {name}.arff (WEKA ARFF); minority class {label!r} -> 1",
        citation=_HD_CITATION,
        licence=_HD_LICENCE,
    )


def _astra_info(
    name: str, base: str, rows: int, positives: int, seed: int | None, how: str
) -> DatasetInfo:
    _, _, features, _, label = next(row for row in _HD_TABLE if row[0] == base)
    return DatasetInfo(
        name=name,
        group="astra",
        n_rows=rows,
        n_features=features,
        n_positives=positives,
        file=f"hd-ensemble/{base}.arff",
        positive_label=label,
        default_random_state=seed,
        source=f"HD-Ensemble {base}.arff: {how}",
        citation=_ASTRA_CITATION,
        licence=_HD_LICENCE,
    )


_INFOS: list[DatasetInfo] = [_hd_info(*row) for row in _HD_TABLE]
_INFOS += [
    _astra_info("skin-588", "skin_nonskin", 20034, 34, None, "all rows"),
    _astra_info(
        "skin-4000",
        "skin_nonskin",
        20005,
        5,
        0,
        "all 20,000 negatives + 5 of the 34 positives drawn at random",
    ),
    _astra_info("cod-763", "cod-rna", 19871, 26, None, "all rows"),
    _astra_info(
        "cod-3500",
        "cod-rna",
        17505,
        5,
        0,
        "17,500 of the 19,845 negatives + 5 of the 26 positives drawn at random",
    ),
    _astra_info("ijcnn-971", "ijcnn1", 4858, 5, None, "all rows"),
    DatasetInfo(
        name="random",
        group="anyloss",
        n_rows=10000,
        n_features=2,
        n_positives=1047,
        file=None,
        positive_label="1",
        default_random_state=0,
        source=(
            "generated: sklearn make_classification(n_samples=10000, weights=[0.9, 0.1], "
            "class_sep=1.2, n_features=5, n_informative=3, n_redundant=1, "
            "n_clusters_per_class=1, random_state) then PCA to 2 components"
        ),
        citation=_ANYLOSS_CITATION,
        licence="Generated data; no licence needed.",
    ),
    DatasetInfo(
        name="breast_cancer",
        group="anyloss",
        n_rows=393,
        n_features=30,
        n_positives=36,
        file=None,
        positive_label="M",
        default_random_state=100,
        source=(
            "Wisconsin Diagnostic Breast Cancer (sklearn load_breast_cancer, no download): "
            "all 357 benign + round(0.1 * 357) = 36 of the 212 malignant drawn at random"
        ),
        citation=(
            "W. N. Street, W. H. Wolberg, O. L. Mangasarian. Nuclear feature extraction for "
            "breast tumor diagnosis. 1993; UCI Machine Learning Repository. Subsampling: "
            + _ANYLOSS_CITATION
        ),
        licence="UCI Machine Learning Repository, CC BY 4.0; bundled with scikit-learn.",
    ),
    DatasetInfo(
        name="diabetes",
        group="anyloss",
        n_rows=100000,
        n_features=8,
        n_positives=8500,
        file="anyloss/diabetes_prediction_dataset.csv",
        positive_label="1",
        default_random_state=None,
        source=(
            "Kaggle 'Diabetes prediction dataset' (diabetes_prediction_dataset.csv, as "
            "redistributed in github.com/doheonhan/AnyLoss); gender and smoking_history "
            "label-encoded in order of first appearance; target 'diabetes'"
        ),
        citation="Kaggle 'Diabetes prediction dataset' (M. Mustafa); " + _ANYLOSS_CITATION,
        licence="See the dataset's Kaggle page for its terms.",
    ),
    DatasetInfo(
        name="credit_card",
        group="anyloss",
        n_rows=298531,
        n_features=29,
        n_positives=14216,
        file=CREDIT_CARD_FILE,
        positive_label="1",
        default_random_state=100,
        source=(
            "Kaggle 'Credit Card Fraud Detection Dataset 2023' (creditcard_2023.csv, "
            "568,630 rows; user-supplied, not downloadable): all 284,315 negatives + "
            "round(0.05 * 284315) = 14,216 positives drawn at random; 'id' dropped"
        ),
        citation=(
            "Kaggle 'Credit Card Fraud Detection Dataset 2023' (N. Elgiriyewithana); "
            + _ANYLOSS_CITATION
        ),
        licence="See the dataset's Kaggle page for its terms; obtain the file yourself.",
    ),
    DatasetInfo(
        name="uci-skin",
        group="uci",
        n_rows=245057,
        n_features=3,
        n_positives=50859,
        file="uci/Skin_NonSkin.txt",
        positive_label="1",
        default_random_state=None,
        source=(
            "UCI Skin Segmentation (Skin_NonSkin.txt: three colour values, header R G B T; "
            "T=1 skin is the minority -> 1), via github.com/adwitiya/scikit_tutorial"
        ),
        citation=(
            "R. Bhatt, A. Dhall. Skin Segmentation. UCI Machine Learning Repository, "
            "dataset 229, 2012."
        ),
        licence="UCI Machine Learning Repository, CC BY 4.0.",
    ),
]

DATASETS: dict[str, DatasetInfo] = {info.name: info for info in _INFOS}
"""Every dataset :func:`cmloss.data.load_dataset` knows, keyed by name."""


def get_dataset_info(name: str) -> DatasetInfo:
    """Look up one dataset's metadata.

    Args:
        name: Dataset name (see :func:`list_datasets`).

    Returns:
        Its :class:`DatasetInfo`.

    Raises:
        ValueError: Unknown name; the message lists close matches.
    """
    if not isinstance(name, str):
        raise ValueError(f"dataset name must be a string, got {type(name).__name__}")
    info = DATASETS.get(name)
    if info is not None:
        return info
    close = difflib.get_close_matches(name, list(DATASETS), n=5, cutoff=0.5)
    folded = [key for key in DATASETS if key.lower().replace("_", "-") == name.lower()]
    suggestions = list(dict.fromkeys(folded + close))
    hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
    raise ValueError(
        f"Unknown dataset {name!r}.{hint} Call cmloss.data.list_datasets() for all "
        f"{len(DATASETS)} names."
    )


def list_datasets(group: str | None = None) -> list[DatasetInfo]:
    """List the known datasets with their metadata.

    Args:
        group: Only this group: ``"hd-ensemble"``, ``"astra"``, ``"anyloss"`` or
            ``"uci"``; ``None`` for all.

    Returns:
        The :class:`DatasetInfo` objects in registry order (HD-Ensemble alphabetically,
        then ASTra Table 1 order, AnyLoss, UCI).

    Raises:
        ValueError: Unknown group.
    """
    if group is None:
        return list(_INFOS)
    if group not in GROUPS:
        raise ValueError(f"Unknown group {group!r}; choose one of {GROUPS} or None.")
    return [info for info in _INFOS if info.group == group]
