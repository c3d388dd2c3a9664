"""Tests of cmloss.data: registry, data home, integrity checks, ARFF reading, loaders.

Real data are read from ``$CMLOSS_DATA`` (default ``/work/shared/data``) through the
package's own API. No test touches the network: ``CMLOSS_OFFLINE=1`` is set for every
test, and download tests replace ``pooch.retrieve`` by a local copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cmloss.data.fetch as fetch_module
from cmloss.data import (
    DATA_FILES,
    ArffFormatError,
    DataFileNotFoundError,
    DataIntegrityError,
    fetch_file,
    get_data_home,
    get_dataset_info,
    list_datasets,
    load_arff,
    load_dataset,
    verify_file,
)

DATA_HOME = Path(os.environ.get("CMLOSS_DATA", "/work/shared/data")).expanduser().absolute()
HD_NAMES = [info.name for info in list_datasets("hd-ensemble")]

needs_data = pytest.mark.skipif(
    not (DATA_HOME / "hd-ensemble").is_dir(),
    reason=f"data home {DATA_HOME} (CMLOSS_DATA) has no hd-ensemble/ folder",
)


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """Never download during tests."""
    monkeypatch.setenv("CMLOSS_OFFLINE", "1")


@pytest.fixture
def fresh_hash_cache(monkeypatch):
    monkeypatch.setattr(fetch_module, "_VERIFIED", {})


def _write(path: Path, text: str, newline: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.replace("\n", newline).encode("ascii"))
    return path


# ----------------------------------------------------------------------------- registry


def test_registry_groups_and_counts():
    assert len(list_datasets("hd-ensemble")) == 40
    assert [i.name for i in list_datasets("astra")] == [
        "skin-588",
        "skin-4000",
        "cod-763",
        "cod-3500",
        "ijcnn-971",
    ]
    assert [i.name for i in list_datasets("anyloss")] == [
        "random",
        "breast_cancer",
        "diabetes",
        "credit_card",
    ]
    assert [i.name for i in list_datasets("uci")] == ["uci-skin"]
    assert len(list_datasets()) == 50
    with pytest.raises(ValueError, match="Unknown group"):
        list_datasets("keel")


def test_registry_files_cover_every_file_backed_dataset():
    assert len(DATA_FILES) == 43
    for info in list_datasets():
        if info.file is not None and info.name != "credit_card":
            assert info.file in DATA_FILES, info.name
    for record in DATA_FILES.values():
        assert len(record.sha256) == 64 and record.size > 0
        assert record.url.startswith("https://raw.githubusercontent.com/")
        assert record.url.endswith(record.path.split("/")[-1])


def test_dataset_info_derived_values():
    info = get_dataset_info("skin-588")
    assert info.n_negatives == 20000
    assert round(info.imbalance_ratio, 2) == 588.24
    row = info.to_dict()
    assert row["imbalance_ratio"] == info.imbalance_ratio and row["n_negatives"] == 20000
    assert list(row)[:7] == [
        "name",
        "group",
        "n_rows",
        "n_features",
        "n_positives",
        "n_negatives",
        "imbalance_ratio",
    ]
    assert "skin-588 (astra): 20034 rows, 3 features, 34 positives, IR 588.24" in str(info)


@pytest.mark.parametrize(
    ("typo", "expected"),
    [("yeast", "yeast5"), ("skin_588", "skin-588"), ("cod_rna", "cod-rna"), ("ijcnn", "ijcnn1")],
)
def test_unknown_name_lists_close_matches(typo, expected):
    with pytest.raises(ValueError, match="Unknown dataset") as err:
        load_dataset(typo)
    assert expected in str(err.value)


# ---------------------------------------------------------------------------- data home


def test_data_home_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("CMLOSS_DATA", str(tmp_path / "env"))
    assert get_data_home(tmp_path / "arg") == tmp_path / "arg"
    assert get_data_home() == tmp_path / "env"
    monkeypatch.delenv("CMLOSS_DATA")
    default = get_data_home()
    assert default.is_absolute() and default.name == "cmloss"


def test_missing_file_offline_is_a_clear_error(tmp_path):
    with pytest.raises(DataFileNotFoundError) as err:
        load_dataset("yeast5", data_home=tmp_path)
    message = str(err.value)
    assert isinstance(err.value, FileNotFoundError)
    for part in ("hd-ensemble/yeast5.arff", str(tmp_path), "CMLOSS_DATA", "CMLOSS_OFFLINE"):
        assert part in message
    assert "raw.githubusercontent.com/smallcube/HD-Ensemble" in message


def test_missing_file_with_download_false(monkeypatch, tmp_path):
    monkeypatch.delenv("CMLOSS_OFFLINE")
    with pytest.raises(DataFileNotFoundError, match="download=False"):
        fetch_file("uci/Skin_NonSkin.txt", data_home=tmp_path, download=False)


@needs_data
def test_corrupt_file_same_size_is_rejected(tmp_path, fresh_hash_cache):
    target = tmp_path / "hd-ensemble" / "yeast5.arff"
    target.parent.mkdir(parents=True)
    data = bytearray((DATA_HOME / "hd-ensemble" / "yeast5.arff").read_bytes())
    data[-10] = ord("7") if data[-10] != ord("7") else ord("8")
    target.write_bytes(bytes(data))
    with pytest.raises(DataIntegrityError, match="SHA-256") as err:
        load_dataset("yeast5", data_home=tmp_path)
    assert isinstance(err.value, ValueError)
    assert str(target) in str(err.value) and "hd-ensemble/yeast5.arff" in str(err.value)


def test_truncated_file_is_rejected(tmp_path, fresh_hash_cache):
    _write(tmp_path / "hd-ensemble" / "glass2.arff", "@relation x\n")
    with pytest.raises(DataIntegrityError, match="bytes"):
        load_dataset("glass2", data_home=tmp_path)


@needs_data
def test_explicit_path_is_hash_checked(tmp_path, fresh_hash_cache):
    bad = _write(tmp_path / "anything.arff", "@relation x\n")
    with pytest.raises(DataIntegrityError):
        load_dataset("ecoli4", path=bad)
    good = load_dataset("ecoli4", path=DATA_HOME / "hd-ensemble" / "ecoli4.arff")
    assert good.X.shape == (336, 7)


@needs_data
def test_each_file_is_hashed_once(monkeypatch, fresh_hash_cache):
    calls = []
    original = fetch_module.file_sha256
    monkeypatch.setattr(fetch_module, "file_sha256", lambda p: calls.append(p) or original(p))
    for _ in range(3):
        load_dataset("glass5", data_home=DATA_HOME)
        verify_file(DATA_HOME / "hd-ensemble" / "glass5.arff", "hd-ensemble/glass5.arff")
    assert len(calls) == 1


@needs_data
def test_download_verifies_and_caches(monkeypatch, tmp_path, fresh_hash_cache):
    """A missing file is fetched with pooch (faked here: a local copy) and then reused."""
    import pooch

    monkeypatch.delenv("CMLOSS_OFFLINE")
    monkeypatch.setenv("CMLOSS_DATA", str(tmp_path))
    calls = []

    def fake_retrieve(url, known_hash, fname, path, progressbar):
        calls.append((url, known_hash))
        Path(path).mkdir(parents=True, exist_ok=True)
        shutil.copy(DATA_HOME / "hd-ensemble" / fname, Path(path) / fname)
        return str(Path(path) / fname)

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    first = load_dataset("glass2")
    second = load_dataset("glass2")
    record = DATA_FILES["hd-ensemble/glass2.arff"]
    assert calls == [(record.url, f"sha256:{record.sha256}")]
    assert (tmp_path / "hd-ensemble" / "glass2.arff").is_file()
    np.testing.assert_array_equal(first.X, second.X)


def test_failed_download_is_a_clear_error(monkeypatch, tmp_path):
    import pooch

    monkeypatch.delenv("CMLOSS_OFFLINE")

    def no_network(**kwargs):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(pooch, "retrieve", no_network)
    with pytest.raises(DataFileNotFoundError, match="no route to host") as err:
        load_dataset("yeast6", data_home=tmp_path)
    assert "CMLOSS_OFFLINE" in str(err.value)


# --------------------------------------------------------------------------------- ARFF

SPARSE_ARFF = """% a comment
@relation sparse-test
@attribute a numeric
@attribute color {red,green,blue}
@attribute class {neg,pos}
@data
{0 1.5,1 green,2 pos}
{0 2}
{1 blue}
{0 3,2 neg}
{2 pos}
"""


def test_sparse_arff_omitted_values(tmp_path):
    table = load_arff(_write(tmp_path / "s.arff", SPARSE_ARFF))
    np.testing.assert_array_equal(table.X[:, 0], [1.5, 2.0, 0.0, 3.0, 0.0])
    # Omitted nominal -> first declared label ("red", code 0).
    np.testing.assert_array_equal(table.X[:, 1], [1, 0, 2, 0, 0])
    # Omitted class -> "neg" (first label); "pos" (2 rows) is the minority.
    assert table.class_counts == (3, 2) and table.positive_label == "pos"
    np.testing.assert_array_equal(table.y, [1, 0, 0, 0, 1])
    assert table.X.dtype == np.float64 and table.y.dtype == np.int64
    assert table.feature_names == ("a", "color")


def test_sparse_arff_omitted_class_value_is_first_label_even_when_minority(tmp_path):
    text = "@relation r\n@attribute x numeric\n@attribute class {2,1}\n@data\n"
    text += "{0 1}\n" + "{0 5,1 1}\n" * 4  # one row with the class omitted -> '2'
    table = load_arff(_write(tmp_path / "m.arff", text))
    assert table.class_counts == (1, 4)
    assert table.positive_label == "2"
    np.testing.assert_array_equal(table.y, [1, 0, 0, 0, 0])


def test_arff_onehot_and_missing_values(tmp_path):
    text = SPARSE_ARFF.replace("{0 2}", "2,?,neg")
    onehot = load_arff(_write(tmp_path / "o.arff", text, newline="\r\n"), nominal="onehot")
    assert onehot.feature_names == ("a", "color=red", "color=green", "color=blue")
    np.testing.assert_array_equal(onehot.X[0], [1.5, 0, 1, 0])
    assert np.isnan(onehot.X[1, 1:]).all()
    with pytest.raises(ValueError, match="nominal"):
        load_arff(tmp_path / "o.arff", nominal="binary")


def test_arff_mixed_newlines_and_dense_rows(tmp_path):
    path = tmp_path / "d.arff"
    path.write_bytes(
        b"@relation d\r\n@attribute x numeric\r@attribute class {0,1}\n@data\r\n"
        b"1,0\r\n2,0\n3,1\r4,0\n"
    )
    table = load_arff(path)
    np.testing.assert_array_equal(table.X[:, 0], [1, 2, 3, 4])
    np.testing.assert_array_equal(table.y, [0, 0, 1, 0])


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("this is not arff\n", "Malformed"),
        ("@relation r\n@attribute x numeric\n@attribute c {a,b}\n@data\n1,zz\n", "Malformed"),
        ("@relation r\n@attribute x numeric\n@attribute c {a,b}\n@data\nfoo,a\n", "Malformed"),
        ("@relation r\n@attribute x numeric\n@attribute c {a,b}\n@data\n1,a,3\n", "Malformed"),
        ("@relation r\n@attribute x numeric\n@attribute c {a,b}\n@data\n", "no data rows"),
        ("@relation r\n@attribute x numeric\n@attribute c {a,b}\n@data\n1,a\n2,a\n", "exactly two"),
        ("@relation r\n@attribute x numeric\n@attribute c {a,b,c}\n@data\n1,a\n2,b\n3,c\n", "two"),
        ("@relation r\n@attribute x numeric\n@attribute c {a,b}\n@data\n1,a\n2,?\n", "missing"),
        ("@relation r\n@attribute s string\n@attribute c {a,b}\n@data\nhi,a\nho,b\n", "STRING"),
    ],
)
def test_malformed_arff_gives_clear_error(tmp_path, body, match):
    path = _write(tmp_path / "bad.arff", body)
    with pytest.raises(ArffFormatError, match=match) as err:
        load_arff(path)
    assert isinstance(err.value, ValueError)
    assert str(path) in str(err.value)


# -------------------------------------------------------------- HD-Ensemble (40 files)


@needs_data
@pytest.mark.parametrize("name", HD_NAMES)
def test_hd_ensemble_loader_matches_registry(name):
    data = load_dataset(name, data_home=DATA_HOME)
    info = get_dataset_info(name)
    assert data.info == info
    assert data.X.shape == (info.n_rows, info.n_features)
    assert data.X.dtype == np.float64 and data.X.flags.c_contiguous
    assert np.isfinite(data.X).all()
    assert data.y.dtype == np.int64 and set(np.unique(data.y)) == {0, 1}
    assert int(data.y.sum()) == info.n_positives < info.n_negatives
    assert len(data.feature_names) == info.n_features
    np.testing.assert_array_equal(data.source_index, np.arange(info.n_rows))


@needs_data
@pytest.mark.parametrize(
    ("name", "features", "rows", "positives", "label", "ir"),
    [  # shared/data/README.md
        ("skin_nonskin", 3, 20034, 34, "2", 588.24),
        ("cod-rna", 8, 19871, 26, "-1", 763.27),
        ("ijcnn1", 22, 4858, 5, "-1", 970.60),
    ],
)
def test_hd_ensemble_readme_values(name, features, rows, positives, label, ir):
    data = load_dataset(name, data_home=DATA_HOME)
    assert data.X.shape == (rows, features)
    assert int(data.y.sum()) == positives and data.info.positive_label == label
    assert round(data.info.imbalance_ratio, 2) == ir


@needs_data
def test_hd_ensemble_imbalance_ratio_range():
    ratios = {}
    for name in HD_NAMES:
        y = load_dataset(name, data_home=DATA_HOME).y
        ratios[name] = (y.size - y.sum()) / y.sum()
    assert len(ratios) == 40
    assert round(min(ratios.values()), 2) == 9.08  # yeast-2_vs_4
    assert round(max(ratios.values()), 2) == 970.60  # ijcnn1
    assert min(ratios, key=ratios.get) == "yeast-2_vs_4"
    others = [r for n, r in ratios.items() if n not in ("skin_nonskin", "cod-rna", "ijcnn1")]
    assert len(others) == 37 and round(max(others)) == 408  # README: "9.08 to 408"


# ---------------------------------------------------------------------- ASTra Table 1


@needs_data
@pytest.mark.parametrize(
    ("name", "ir", "n_x", "m_tot", "m_1"),
    [  # Twomey and Gorse (2022), Table 1
        ("skin-588", 588.24, 3, 20034, 34),
        ("skin-4000", 4000.00, 3, 20005, 5),
        ("cod-763", 763.27, 8, 19871, 26),
        ("cod-3500", 3500.00, 8, 17505, 5),
        ("ijcnn-971", 970.60, 22, 4858, 5),
    ],
)
def test_astra_table_1(name, ir, n_x, m_tot, m_1):
    for seed in (None, 7):
        data = load_dataset(name, data_home=DATA_HOME, random_state=seed)
        n_1 = int(data.y.sum())
        assert (data.X.shape[1], data.X.shape[0], n_1) == (n_x, m_tot, m_1)
        assert round((m_tot - n_1) / n_1, 2) == ir
        assert data.info == get_dataset_info(name)


@needs_data
@pytest.mark.parametrize(("name", "base"), [("skin-4000", "skin_nonskin"), ("cod-3500", "cod-rna")])
def test_astra_random_draws(name, base):
    full = load_dataset(base, data_home=DATA_HOME)
    a = load_dataset(name, data_home=DATA_HOME, random_state=1)
    b = load_dataset(name, data_home=DATA_HOME, random_state=2)
    again = load_dataset(name, data_home=DATA_HOME, random_state=1)
    default = load_dataset(name, data_home=DATA_HOME)
    np.testing.assert_array_equal(a.source_index, again.source_index)
    np.testing.assert_array_equal(
        default.source_index, load_dataset(name, data_home=DATA_HOME, random_state=0).source_index
    )
    pos_a = set(a.source_index[a.y == 1])
    pos_b = set(b.source_index[b.y == 1])
    assert len(pos_a) == len(pos_b) == 5 and pos_a != pos_b
    for d in (a, b):  # rows are real rows of the source file, in file order
        assert np.all(np.diff(d.source_index) > 0)
        np.testing.assert_array_equal(d.X, full.X[d.source_index])
        np.testing.assert_array_equal(d.y, full.y[d.source_index])
    if name == "skin-4000":  # all negatives kept
        assert int((a.y == 0).sum()) == int((full.y == 0).sum()) == 20000
    else:
        assert set(a.source_index[a.y == 0]) != set(b.source_index[b.y == 0])


# ---------------------------------------------------------------------- AnyLoss data


def test_random_dataset():
    data = load_dataset("random")
    assert data.X.shape == (10000, 2) and int(data.y.sum()) == 1047
    assert data.info == get_dataset_info("random")
    other = load_dataset("random", random_state=1)
    assert not np.array_equal(data.X, other.X)


def test_breast_cancer_recipe():
    data = load_dataset("breast_cancer")
    assert data.info == get_dataset_info("breast_cancer")
    assert data.X.shape == (393, 30) and int(data.y.sum()) == 36
    np.testing.assert_array_equal(data.y, [0] * 357 + [1] * 36)  # negatives, then drawn M
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    malignant = np.flatnonzero(bunch.target == 0)
    expected = malignant[np.random.RandomState(100).choice(212, 36, replace=False)]
    np.testing.assert_array_equal(data.source_index[357:], expected)
    np.testing.assert_array_equal(data.X, bunch.data[data.source_index])
    assert not np.array_equal(load_dataset("breast_cancer", random_state=5).X, data.X)


@needs_data
def test_breast_cancer_matches_authors_pandas_pipeline():
    pd = pytest.importorskip("pandas")
    csv = fetch_file("anyloss/breast_cancer.csv", data_home=DATA_HOME)
    df = pd.read_csv(csv)
    codes, classes = pd.factorize(df["diagnosis"])  # the authors: M/B, then flipped
    df["label"] = (codes + 1) % 2 if classes[0] == "M" else codes
    df = df.drop(columns=["id", "diagnosis"])
    df_0, df_1 = df[df["label"] == 0], df[df["label"] == 1]
    df = pd.concat([df_0, df_1.sample(n=round(len(df_0) * 0.1), random_state=100)])
    data = load_dataset("breast_cancer")
    np.testing.assert_array_equal(data.X, df.iloc[:, :-1].to_numpy(dtype=float))
    np.testing.assert_array_equal(data.y, df["label"].to_numpy())


@needs_data
def test_diabetes():
    data = load_dataset("diabetes", data_home=DATA_HOME)
    assert data.info == get_dataset_info("diabetes")
    assert data.X.shape == (100000, 8) and int(data.y.sum()) == 8500
    assert data.feature_names[0] == "gender" and data.feature_names[4] == "smoking_history"
    # First rows of the file: Female/never, Female/No Info -> codes in order of appearance.
    np.testing.assert_array_equal(data.X[:2, [0, 4]], [[0, 0], [0, 1]])
    pd = pytest.importorskip("pandas")
    df = pd.read_csv(fetch_file("anyloss/diabetes_prediction_dataset.csv", data_home=DATA_HOME))
    for column in ("gender", "smoking_history"):
        df[column] = pd.factorize(df[column])[0]
    np.testing.assert_array_equal(data.X, df.iloc[:, :-1].to_numpy(dtype=float))
    np.testing.assert_array_equal(data.y, df["diabetes"].to_numpy())


def _synthetic_credit_card(path: Path, n_neg: int = 300, n_pos: int = 100) -> np.ndarray:
    rng = np.random.default_rng(0)
    n = n_neg + n_pos
    cls = rng.permutation(np.r_[np.zeros(n_neg), np.ones(n_pos)])
    table = np.column_stack([np.arange(n), rng.normal(size=(n, 28)), rng.uniform(0, 99, n), cls])
    header = ",".join(["id"] + [f"V{k}" for k in range(1, 29)] + ["Amount", "Class"])
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, table, delimiter=",", header=header, comments="", fmt="%.17g")
    return table


def test_credit_card_on_synthetic_file(tmp_path):
    table = _synthetic_credit_card(tmp_path / "cc.csv")
    data = load_dataset("credit_card", path=tmp_path / "cc.csv")
    n_keep = round(0.05 * 300)
    assert data.X.shape == (300 + n_keep, 29) and int(data.y.sum()) == n_keep
    assert data.feature_names == tuple(f"V{k}" for k in range(1, 29)) + ("Amount",)
    negatives = np.flatnonzero(table[:, -1] == 0)
    positives = np.flatnonzero(table[:, -1] == 1)
    drawn = positives[np.random.RandomState(100).choice(100, n_keep, replace=False)]
    np.testing.assert_array_equal(data.source_index, np.r_[negatives, drawn])
    np.testing.assert_array_equal(data.X, table[data.source_index, 1:-1])
    assert data.info.n_rows == 315 and data.info.name == "credit_card"

    pd = pytest.importorskip("pandas")  # the authors' pandas recipe gives the same rows
    df = pd.read_csv(tmp_path / "cc.csv", float_precision="round_trip")  # exact parsing
    df_0, df_1 = df[df["Class"] == 0], df[df["Class"] == 1]
    df = pd.concat([df_0, df_1.sample(n=round(len(df_0) * 0.05), random_state=100)])
    df = df.drop("id", axis=1)
    np.testing.assert_allclose(data.X, df.iloc[:, :-1].to_numpy(), rtol=1e-15, atol=0)


def test_credit_card_from_data_home_and_errors(tmp_path):
    with pytest.raises(DataFileNotFoundError) as err:
        load_dataset("credit_card", data_home=tmp_path)
    message = str(err.value)
    for part in ("kaggle.com", "creditcard_2023.csv", "path=", str(tmp_path)):
        assert part in message
    _synthetic_credit_card(tmp_path / "anyloss" / "creditcard_2023.csv")
    assert load_dataset("credit_card", data_home=tmp_path).X.shape == (315, 29)
    bad = _write(tmp_path / "bad.csv", "id,V1,Class\n0,1.0,0\n")
    with pytest.raises(ValueError, match="missing columns"):
        load_dataset("credit_card", path=bad)


def test_credit_card_registry_values_follow_the_recipe():
    info = get_dataset_info("credit_card")
    assert info.n_positives == round(0.05 * info.n_negatives) == 14216
    assert (info.n_rows, info.n_features) == (284315 + 14216, 29)


@needs_data
def test_uci_skin():
    data = load_dataset("uci-skin", data_home=DATA_HOME)
    assert data.info == get_dataset_info("uci-skin")
    assert data.X.shape == (245057, 3) and int(data.y.sum()) == 50859
    assert data.info.positive_label == "1" and data.feature_names == ("R", "G", "B")


def test_path_rejected_for_generated_data(tmp_path):
    with pytest.raises(ValueError, match="not read from a file"):
        load_dataset("random", path=tmp_path / "x.csv")
    with pytest.raises(ValueError, match="random_state"):
        load_dataset("random", random_state="seed")


# ------------------------------------------------------------------------------ usage


@needs_data
def test_readme_one_liner_and_light_import():
    code = (
        "import sys; from cmloss.data import load_dataset; "
        "assert 'pooch' not in sys.modules and 'arff' not in sys.modules; "
        f"d = load_dataset('skin-588', data_home={str(DATA_HOME)!r}); print(d.info)"
    )
    env = {k: v for k, v in os.environ.items() if k != "CMLOSS_DATA"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "skin-588 (astra): 20034 rows, 3 features, 34 positives, IR 588.24" in out.stdout
