"""The committed experiment results (``results/<name>/``): provenance, schema, coverage
of the grid and the invariants every row must satisfy.

The schema produced by a fresh ``--quick`` rerun of each experiment is checked in
``test_trainer_experiments.py::test_quick_run_writes_the_csv_schema`` (the same
:data:`cmloss.experiments.COLUMNS` these files must have).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from cmloss.experiments import COLUMNS, EXPERIMENTS, get_method
from cmloss.experiments.results import find_run, load_run
from cmloss.experiments.storage import LEGACY_COLUMNS

RESULTS = Path(__file__).resolve().parents[1] / "results"
RUNS = sorted(
    p.name for p in RESULTS.glob("*") if p.is_dir() and (p / "provenance.json").is_file()
)


def test_results_folder_holds_runs():
    assert RUNS, f"no committed run directories under {RESULTS}"


@pytest.fixture(params=RUNS)
def run(request):
    return load_run(RESULTS / request.param)


def test_provenance_says_how_the_results_were_made(run):
    p = run.provenance
    assert p["status"] in ("complete", "interrupted")
    assert "run" in p["command"] and run.config["name"] in p["command"]
    assert {"tensorflow-cpu", "keras", "numpy"} & set(p["versions"])
    assert len(p["git"]["commit"]) == 40
    assert p["wall_seconds"] > 0
    assert p["machine"]


def test_provenance_lists_every_invocation_in_order(run):
    """Each invocation that wrote into the folder keeps its command, commit, start time
    and how it ended; the last one is the record's own."""
    invocations = run.provenance.get("invocations")
    if invocations is None:
        pytest.skip("written before invocations were recorded")
    assert invocations and invocations[-1]["started_utc"] == run.provenance["started_utc"]
    assert invocations[-1]["status"] == run.provenance["status"]
    starts = [i["started_utc"] for i in invocations]
    assert starts == sorted(starts)
    for inv in invocations:
        assert "run" in inv["command"] and len(inv["git"]["commit"]) == 40
        assert inv["status"] in ("complete", "interrupted", "failed") or inv["status"].startswith(
            "killed"
        )
        assert inv["status"] == "killed (ended without a final record)" or inv["wall_seconds"] > 0


def test_runs_named_after_an_experiment_use_its_full_protocol(run):
    """``results/<name>`` for a named experiment holds its ``--full`` protocol, for all of
    its methods or a subset (``--methods``, e.g. the paper's own methods first); other
    folders are documented variations. Which cells of the whole grid are still missing is
    shown in the book (chapter 6's coverage table) and tracked in the issues."""
    if run.path.name not in EXPERIMENTS:
        pytest.skip(f"{run.path.name} is a variation of {run.config['name']!r}")
    full = EXPERIMENTS[run.path.name]["full"]
    cfg = run.config
    assert cfg["epochs"] == full.epochs and cfg["repeats"] == full.repeats
    assert cfg["folds"] == full.folds and cfg["max_folds"] == full.max_folds
    assert list(cfg["datasets"]) == list(full.datasets)
    assert set(cfg["methods"]) <= set(full.methods)


def test_every_chunk_file_has_the_schema(run):
    """Files written before the calibration columns existed keep the older schema (they
    are committed as the runs wrote them); a run's chunks and merged file agree."""
    headers = set()
    for path in (run.path / "chunks").glob("*/*/repeat-*.csv"):
        with open(path, newline="") as fh:
            headers.add(tuple(next(csv.reader(fh))))
    assert headers <= {COLUMNS, LEGACY_COLUMNS}, run.path
    if run.status == "complete":
        with open(run.path / "results.csv", newline="") as fh:
            merged = tuple(next(csv.reader(fh)))
        assert merged == (COLUMNS if COLUMNS in headers else LEGACY_COLUMNS)


def test_complete_runs_cover_every_cell_and_interrupted_runs_whole_chunks(run):
    rows = run.rows
    assert len(rows), "no rows"
    if run.status == "complete":
        assert not run.missing_cells()
        asked = rows[rows["method"].isin(run.config["methods"])]
        assert len(asked) == len(run.expected_cells())
    # chunks of methods outside the last invocation's --methods: earlier invocations of
    # the same experiment (they must belong to its full definition)
    others = set(rows["method"]) - set(run.config["methods"])
    if others:
        assert others <= set(EXPERIMENTS[run.path.name]["full"].methods)
    folds = run.config["max_folds"] or run.config["folds"]
    sizes = rows.groupby(["dataset", "method", "repeat"]).size()
    assert (sizes == folds).all(), sizes[sizes != folds]
    assert not rows.duplicated(["dataset", "method", "repeat", "fold"]).any()


def test_rows_satisfy_the_confusion_matrix_invariants(run):
    r = run.rows
    cells = r[["tn", "fp", "fn", "tp"]].to_numpy(float)
    assert np.all(cells >= 0)
    assert np.array_equal(cells.sum(axis=1), r["n_test"].to_numpy(float))
    assert np.array_equal(r["fn"] + r["tp"], r["n_test_positive"])
    assert (r["n_test_positive"] > 0).all()
    for col in ("g_mean", "accuracy", "f1", "balanced_accuracy", "recall", "specificity"):
        assert r[col].between(0, 1).all(), col
    assert r["mcc"].between(-1, 1).all()
    tpr = r["tp"] / (r["tp"] + r["fn"])
    tnr = r["tn"] / (r["tn"] + r["fp"])
    assert np.allclose(r["g_mean"], np.sqrt(tpr * tnr))
    assert (r["fit_seconds"] > 0).all()


def test_network_rows_record_their_training(run):
    r = run.rows
    network = r["method"].map(lambda m: get_method(m).kind == "network")
    net = r[network]
    first = run.config.get("selection_start") or 0  # --select-from-epoch variations
    assert (net["selected_epoch"] >= first).all() and (net["selected_epoch"] < net["epochs"]).all()
    astra = net["method"].str.endswith("astra")
    # b = 1 + e^beta > 1 (Eq. 7) in exact arithmetic; in float32 it rounds to exactly 1
    # once beta < -16.6 (it happened on 2 of A's 750 ASTra folds, AnyLoss-GMean-ASTra).
    assert (net.loc[astra, "final_b"] >= 1).all()
    assert net.loc[~astra, "final_b"].isna().all()
    assert r.loc[~network, "selected_epoch"].isna().all()


def test_find_run_names_the_places_it_searched(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CMLOSS_RESULTS", raising=False)
    with pytest.raises(FileNotFoundError, match="no-such-run.*CMLOSS_RESULTS"):
        find_run("no-such-run")


def test_load_run_or_none_prints_why_it_found_nothing(tmp_path, monkeypatch, capsys):
    from cmloss.experiments.results import load_run_or_none

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CMLOSS_RESULTS", raising=False)
    assert load_run_or_none("no-such-run") is None
    assert "no run directory 'no-such-run'" in capsys.readouterr().out


def test_summary_and_load_or_rerun_read_the_committed_run(run, monkeypatch):
    from cmloss.experiments.results import load_or_rerun, load_run_or_none

    text = run.summary()
    assert f"status: {run.status}" in text and run.provenance["git"]["commit"][:10] in text
    monkeypatch.setenv("CMLOSS_RESULTS", str(RESULTS))
    assert load_or_rerun(run.path.name).path == run.path
    assert load_run_or_none(run.path.name).path == run.path


# --------------------------------------------------------------------------------------
# Manifests, and reading a run that is not on disk (Colab) from a repository tree


def test_committed_runs_have_a_current_manifest(run):
    """Each run directory's SHA256SUMS lists exactly its files with their hashes, so a
    notebook that fetches them can check every byte (refresh it after a rerun with
    ``python -m cmloss.experiments.results manifest results/<name>``)."""
    from cmloss.experiments.results import MANIFEST, _sha256, read_manifest

    path = run.path / MANIFEST
    assert path.is_file(), f"no {MANIFEST} in {run.path}"
    listed = read_manifest(path.read_text())
    files = {p.relative_to(run.path).as_posix(): p for p in run.path.rglob("*")
             if p.is_file() and p.name != MANIFEST}
    assert sorted(listed) == sorted(files), "the manifest does not list the run's files"
    stale = [rel for rel, p in files.items() if _sha256(p) != listed[rel]]
    assert not stale, f"files changed since the manifest was written: {stale[:5]}"


def test_results_csv_of_a_complete_run_holds_the_chunk_rows(run):
    """A fetched run reads the merged results.csv instead of every chunk file: it must
    hold the same rows."""
    import pandas as pd

    if run.status != "complete":
        pytest.skip("an interrupted run is read from its chunks")
    merged = pd.read_csv(run.path / "results.csv")
    keys = ["dataset", "method", "repeat", "fold"]
    a = merged.sort_values(keys).reset_index(drop=True)
    b = run.rows.sort_values(keys).reset_index(drop=True)[list(a.columns)]
    pd.testing.assert_frame_equal(a, b, check_dtype=False)


SMALL_RUN = "anyloss-mlp-1000-epochs"  # 14 files


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A repository tree served by a file:// URL, holding a copy of a committed run under
    a name that exists nowhere on disk, and an empty working directory and cache."""
    import shutil

    root = tmp_path / "tree"
    shutil.copytree(RESULTS / SMALL_RUN, root / "results" / "fetched-copy")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("CMLOSS_RESULTS", raising=False)
    monkeypatch.setenv("CMLOSS_RESULTS_URL", root.as_uri())
    monkeypatch.setenv("CMLOSS_RESULTS_CACHE", str(tmp_path / "cache"))
    return root


def test_a_run_not_on_disk_is_fetched_checked_and_cached(tree, tmp_path, capsys):
    from cmloss.experiments.results import load_or_rerun

    original = load_run(RESULTS / SMALL_RUN)
    fetched = load_or_rerun("fetched-copy")
    said = capsys.readouterr().out
    assert "results/fetched-copy is not on disk: read from " + tree.as_uri() in said
    assert fetched.source is not None and str(tmp_path / "cache") in str(fetched.path)
    assert fetched.provenance == original.provenance
    keys = ["dataset", "method", "repeat", "fold"]
    a = fetched.rows.sort_values(keys).reset_index(drop=True)
    b = original.rows.sort_values(keys).reset_index(drop=True)[list(a.columns)]
    import pandas as pd

    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    # only what was used was fetched: the manifest, provenance and results.csv
    cached = {p.name for p in fetched.path.rglob("*") if p.is_file()}
    assert cached == {"SHA256SUMS", "provenance.json", "results.csv"}
    row = original.rows.iloc[0]
    ours = fetched.curves(row["dataset"], row["method"], int(row["repeat"]))
    theirs = original.curves(row["dataset"], row["method"], int(row["repeat"]))
    assert ours.keys() == theirs.keys()
    for k in theirs:
        np.testing.assert_array_equal(ours[k], theirs[k])
    assert "read from" in fetched.summary()
    assert len({p.name for p in fetched.path.rglob("*.npz")}) == 1


def test_a_fetched_file_that_differs_from_the_manifest_is_refused(
    tree, tmp_path, monkeypatch, capsys
):
    from cmloss.experiments.results import load_or_rerun, load_run_or_none

    with open(tree / "results" / "fetched-copy" / "results.csv", "a") as fh:
        fh.write("\n")
    run = load_or_rerun("fetched-copy")  # the manifest and provenance still agree
    with pytest.raises(ValueError, match="hash"):
        run.rows  # noqa: B018
    # A cached file is not fetched again; with an empty cache, a changed provenance.json
    # stops the loading itself.
    monkeypatch.setenv("CMLOSS_RESULTS_CACHE", str(tmp_path / "other-cache"))
    (tree / "results" / "fetched-copy" / "provenance.json").write_text("{}")
    assert load_run_or_none("fetched-copy") is None
    assert "Fetching results/fetched-copy from" in capsys.readouterr().out


def test_without_results_or_a_remote_the_reader_is_told_to_ask_for_a_quick_rerun(
    tmp_path, monkeypatch
):
    from cmloss.experiments import results

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CMLOSS_RESULTS", raising=False)
    monkeypatch.delenv("CMLOSS_RESULTS_URL", raising=False)
    monkeypatch.setattr(results, "_installed_from", lambda: None)
    with pytest.raises(FileNotFoundError, match="RERUN_QUICK = True"):
        results.load_or_rerun("no-such-run")


def test_the_remote_is_the_github_commit_pip_installed_cmloss_from(monkeypatch):
    from cmloss.experiments import results

    monkeypatch.delenv("CMLOSS_RESULTS_URL", raising=False)
    commit = "0123456789abcdef0123456789abcdef01234567"
    monkeypatch.setattr(results, "_installed_from",
                        lambda: ("https://github.com/cmloss/cmloss.git", commit))
    remote = results.remote_results()
    assert remote.base_url == f"https://raw.githubusercontent.com/cmloss/cmloss/{commit}/"
    assert remote.pinned and remote.cache_key == commit
    assert "commit 0123456789" in remote.label
    monkeypatch.setattr(results, "_installed_from",
                        lambda: ("https://gitlab.com/cmloss/cmloss", commit))
    assert results.remote_results() is None


def test_manifest_command_writes_and_refuses_a_folder_without_provenance(tmp_path, capsys):
    from cmloss.experiments.results import MANIFEST, _main, read_manifest

    run_dir = tmp_path / "run"
    (run_dir / "chunks" / "d").mkdir(parents=True)
    (run_dir / "provenance.json").write_text("{}")
    (run_dir / "chunks" / "d" / "repeat-0.csv").write_text("a\n1\n")
    assert _main(["manifest", str(run_dir)]) == 0
    assert sorted(read_manifest((run_dir / MANIFEST).read_text())) == [
        "chunks/d/repeat-0.csv", "provenance.json"]
    assert _main(["manifest", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize("line", ["abc  x.csv", "0" * 64 + " x.csv", "0" * 64 + "  ../x"])
def test_bad_manifest_lines_are_refused(line):
    from cmloss.experiments.results import read_manifest

    with pytest.raises(ValueError, match="manifest line 1"):
        read_manifest(line)
