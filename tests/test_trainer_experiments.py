"""Experiments on the fast trainer: CLI, CSV schema, resumability, atomic writes,
provenance, custom grids and the method registry."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import platform
import re
from pathlib import Path

import numpy as np
import pytest

from cmloss.experiments import (
    COLUMNS,
    EstimatorMethod,
    Experiment,
    Prediction,
    load_config,
    register_method,
    run_experiment,
    storage,
)
from cmloss.experiments.cli import main
from cmloss.experiments.methods import METHODS

SMALL = Experiment(
    "small",
    "anyloss",
    ("breast_cancer", "random"),
    ("slp-bce", "mlp-anyloss-f1"),
    folds=10,
    max_folds=2,
    epochs=3,
    curve_stride=1,
)
"""Two units (one per dataset) that need no data file."""


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _without_timing(rows):
    return [{k: v for k, v in r.items() if k != "fit_seconds"} for r in rows]


QUICK_ROWS = Path(__file__).parent / "fixtures" / "quick_rows"
"""``results.csv`` of ``run astra --quick`` and ``run hd40 --quick`` recorded before the
trainer's refactor into Keras-twin modules (``recorded_on.json``: commit and machine)."""


def _cpu() -> tuple[str, bool]:
    """CPU model and AVX-512 support: XLA:CPU's code (so float summation order) follows
    them."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor(), False
    model = next((ln.split(":", 1)[1].strip() for ln in info.splitlines()
                  if ln.startswith("model name")), "")
    return model, " avx512f" in info


def _same_machine_as_the_fixture() -> bool:
    import tensorflow as tf

    recorded = json.loads((QUICK_ROWS / "recorded_on.json").read_text())
    return (tf.__version__, *_cpu()) == (
        recorded["tensorflow"], recorded["cpu"], recorded["avx512f"]
    )


def assert_rows_match_the_fixture(name: str, rows: list[dict]) -> None:
    """Rows equal the committed quick rows, timing aside: to the character where the
    fixture was recorded (same TensorFlow and CPU: the refactor must not change a bit);
    elsewhere, confusion cells, selected epochs and every other exact column equal and
    the floats of training (slope, validation value, loss reduction) within 1e-5."""
    expected = _without_timing(_rows(QUICK_ROWS / f"{name}.csv"))
    # the fixture holds the columns of its day; columns added since (calibration) are
    # computed from the test scores and checked by their own tests (test_baselines.py)
    got = [{k: r[k] for k in expected[0]} for r in _without_timing(rows)]
    key = [(r["dataset"], r["method"], r["fold"]) for r in expected]
    assert [(r["dataset"], r["method"], r["fold"]) for r in got] == key
    if _same_machine_as_the_fixture():
        assert got == expected
        return
    trained = ("final_b", "best_val_value", "loss_reduction_10pct")
    for want, have in zip(expected, got):
        assert set(want) == set(have)
        for column in want:
            if column in trained and want[column] and have[column]:
                a, b = float(want[column]), float(have[column])
                assert (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-5), (
                    column, want, have)
            else:
                assert want[column] == have[column], (column, want, have)


@pytest.fixture(autouse=True)
def _offline(monkeypatch, CMLOSS_DATA):
    monkeypatch.setenv("CMLOSS_OFFLINE", "1")
    monkeypatch.setenv("CMLOSS_DATA", str(CMLOSS_DATA))


@pytest.mark.parametrize("name", ["astra", "anyloss", "hd40"])
def test_quick_run_writes_the_csv_schema(name, tmp_path, CMLOSS_DATA):
    if name != "anyloss" and not (CMLOSS_DATA / "hd-ensemble").is_dir():
        pytest.skip("needs the HD-Ensemble files (CMLOSS_DATA)")
    out = tmp_path / name
    assert main(["run", name, "--quick", "--out", str(out), "--no-progress"]) == 0
    rows = _rows(out / "results.csv")
    assert tuple(rows[0]) == COLUMNS
    # datasets, methods, folds
    quick = {"astra": (2, 7, 2), "anyloss": (2, 12, 2), "hd40": (2, 5, 2)}[name]
    assert len(rows) == quick[0] * quick[1] * quick[2]
    for row in rows:
        counts = [float(row[k]) for k in ("tn", "fp", "fn", "tp")]
        assert sum(counts) == float(row["n_test"])
        assert 0.0 <= float(row["g_mean"]) <= 1.0 and -1.0 <= float(row["mcc"]) <= 1.0
        if METHODS[row["method"]].kind == "network":
            assert 0 <= int(row["selected_epoch"]) < int(row["epochs"])
        else:
            assert row["selected_epoch"] == row["epochs"] == ""
        assert (row["final_b"] != "") == row["method"].endswith("astra")
        if name == "anyloss":  # it validates on the test fold: no post-hoc map is fitted
            assert row["brier_platt"] == row["ece_isotonic"] == ""
        elif METHODS[row["method"]].kind == "network":
            assert 0 <= float(row["brier"]) <= 1 and 0 <= float(row["ece_platt"]) <= 1
    curves = np.load(storage.chunk_paths(out, rows[0]["dataset"], rows[0]["method"], 0)[1])
    assert curves["train_loss"].shape[0] == 2 and "val_fnr_apx" in curves
    record = json.loads((out / "provenance.json").read_text())
    assert record["status"] == "complete"
    if name in ("astra", "hd40"):
        assert_rows_match_the_fixture(name, rows)


def test_interrupted_run_resumes_without_redoing_chunks(tmp_path):
    reference = tmp_path / "reference"
    run_experiment(SMALL, reference, show_progress=False)

    out = tmp_path / "resumed"

    class Stop(KeyboardInterrupt):  # how Ctrl-C and the CLI's signal handler arrive
        pass

    def stop(unit):
        raise Stop(unit)

    with pytest.raises(Stop):
        run_experiment(SMALL, out, show_progress=False, on_unit_done=stop)
    assert json.loads((out / "provenance.json").read_text())["status"] == "interrupted"
    done = sorted(p.relative_to(out) for p in (out / "chunks").rglob("*.csv"))
    assert len(done) == 2  # the first unit: one dataset, both methods
    stamps = {p: (out / p).stat().st_mtime_ns for p in done}

    seen = []
    record = run_experiment(SMALL, out, show_progress=False, on_unit_done=seen.append)
    assert [u.dataset for u in seen] == ["random"] and record["chunks_pending_at_start"] == 2
    assert all((out / p).stat().st_mtime_ns == t for p, t in stamps.items())
    assert _without_timing(_rows(out / "results.csv")) == _without_timing(
        _rows(reference / "results.csv")
    )

    seen.clear()
    last = run_experiment(SMALL, out, show_progress=False, on_unit_done=seen.append)
    assert seen == []  # everything done
    # the record lists every invocation that wrote into the folder, in order
    history = last["invocations"]
    assert [h["status"] for h in history] == ["interrupted", "complete", "complete"]
    assert [h["chunks_pending_at_start"] for h in history] == [4, 2, 0]
    assert all(h["git"] and h["command"] and h["config"] == history[0]["config"] for h in history)
    assert history[-1]["started_utc"] == last["started_utc"]


def test_resuming_a_folder_keeps_older_records_and_marks_killed_runs(tmp_path):
    """A record from before invocations were listed becomes the first entry (its note
    kept); a run killed before writing its final record is marked so."""
    from cmloss.experiments.provenance import earlier_invocations

    old = {
        "status": "running",
        "command": ["old"],
        "started_utc": "2026-01-01T00:00:00+00:00",
        "wall_seconds": None,
        "git": {"commit": "c" * 40, "dirty": False},
        "config": {},
        "machine": {},
        "provenance_note": "filled by hand",
    }
    (tmp_path / "provenance.json").write_text(json.dumps(old))
    small = SMALL.with_options(datasets=("breast_cancer",), methods=("slp-bce",))
    record = run_experiment(small, tmp_path, show_progress=False, command=["new"])
    first, second = record["invocations"]
    assert first["command"] == ["old"] and first["note"] == "filled by hand"
    assert first["status"].startswith("killed")
    assert second["command"] == ["new"] and second["status"] == "complete"
    (tmp_path / "provenance.json").write_text("{not json")
    with pytest.raises(ValueError, match="provenance.*move it away"):
        earlier_invocations(tmp_path / "provenance.json")


def test_full_loss_curve_is_stored_only_when_asked(tmp_path):
    from cmloss.experiments.results import load_run

    small = SMALL.with_options(datasets=("breast_cancer",), methods=("slp-bce",))
    for full in (True, False):
        out = tmp_path / str(full)
        run_experiment(dataclasses.replace(small, full_loss_curve=full), out, show_progress=False)
        curves = load_run(out).curves("breast_cancer", "slp-bce", 0)
        assert ("train_loss_full" in curves) is full
        assert curves["train_loss"].shape == (2, 3)


def test_atomic_write_leaves_old_file_or_new_file(tmp_path, monkeypatch):
    path = tmp_path / "a" / "file.csv"
    storage.atomic_write_text(path, "old\n")

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        storage.atomic_write_text(path, "new\n")
    monkeypatch.undo()
    assert path.read_text() == "old\n"
    assert [p.name for p in path.parent.iterdir()] == ["file.csv"]  # no temporary left
    storage.atomic_write_text(path, "new\n")
    assert path.read_text() == "new\n"


def test_chunk_is_complete_only_when_its_csv_exists(tmp_path, monkeypatch):
    calls = []
    real = storage.atomic_write_text

    def crash_on_csv(path, text):
        calls.append(path)
        raise KeyboardInterrupt

    monkeypatch.setattr(storage, "atomic_write_text", crash_on_csv)
    with pytest.raises(KeyboardInterrupt):
        storage.write_chunk(tmp_path, "d", "m", 0, [{"dataset": "d"}], {"x": np.arange(3)})
    csv_path, npz_path = storage.chunk_paths(tmp_path, "d", "m", 0)
    assert npz_path.exists() and not csv_path.exists()
    assert not storage.chunk_done(tmp_path, "d", "m", 0)
    monkeypatch.setattr(storage, "atomic_write_text", real)
    storage.write_chunk(tmp_path, "d", "m", 0, [{"dataset": "d"}], {"x": np.arange(3)})
    assert storage.chunk_done(tmp_path, "d", "m", 0)


def test_provenance_fields(tmp_path):
    small = SMALL.with_options(datasets=("breast_cancer",), methods=("slp-bce",))
    record = run_experiment(small, tmp_path, show_progress=False, command=["cmd", "x"])
    saved = json.loads((tmp_path / "provenance.json").read_text())
    assert saved["status"] == record["status"] == "complete"
    assert saved["command"] == ["cmd", "x"]
    assert saved["config"]["datasets"] == ["breast_cancer"] and "budget_bytes" in saved["config"]
    assert {"tensorflow", "keras", "numpy"} <= set(saved["versions"]) or {
        "tensorflow-cpu",
        "keras",
        "numpy",
    } <= set(saved["versions"])
    assert "commit" in saved["git"] and saved["wall_seconds"] > 0
    machine = saved["machine"]
    assert machine["cores"] >= 1 and machine["memory_bytes"] > 0 and machine["cpu"]


def test_custom_grid_file_and_estimator_method(tmp_path):
    def majority(fold):
        return Prediction(scores=np.zeros(len(fold.X_test)), threshold=0.5)

    register_method(EstimatorMethod("test-majority", majority, "always negative"), replace=True)
    grid = tmp_path / "grid.toml"
    grid.write_text(
        'name = "grid"\nprotocol = "anyloss"\ndatasets = ["breast_cancer"]\n'
        'methods = ["test-majority", "test-gmn-h3"]\nmax_folds = 2\n'
        '[[define]]\nname = "test-gmn-h3"\narchitecture = {kind = "mlp", hidden = 3}\n'
        'loss = {kind = "confusion_matrix", metric = "g_mean", soft_step = "identity"}\n'
        'output = "astra"\noptimizer = {name = "adam", learning_rate = 0.01}\nepochs = 4\n'
        'selection = {monitor = "fnr", mode = "min"}\n'
    )
    experiment = load_config(grid)
    assert experiment.folds == 10 and "test-gmn-h3" in METHODS
    run_experiment(experiment, tmp_path / "out", show_progress=False)
    rows = _rows(tmp_path / "out" / "results.csv")
    majority_rows = [r for r in rows if r["method"] == "test-majority"]
    assert len(rows) == 4 and len(majority_rows) == 2
    assert all(float(r["tp"]) == 0 and r["selected_epoch"] == "" for r in majority_rows)
    assert all(r["final_b"] != "" for r in rows if r["method"] == "test-gmn-h3")


def test_provenance_records_the_commit_the_run_started_from(tmp_path, monkeypatch):
    from cmloss.experiments import provenance, runner

    commits = iter([{"commit": "a" * 40, "dirty": False}, {"commit": "b" * 40, "dirty": True}])
    monkeypatch.setattr(runner, "git_commit", lambda: next(commits))
    monkeypatch.setattr(provenance, "git_commit", lambda: next(commits))
    small = SMALL.with_options(datasets=("breast_cancer",), methods=("slp-bce",))
    record = run_experiment(small, tmp_path, show_progress=False)
    assert record["git"] == {"commit": "a" * 40, "dirty": False}


def test_git_state_ignores_result_folders_but_not_code(tmp_path):
    import subprocess

    from cmloss.experiments.provenance import git_commit

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    (tmp_path / "pkg").mkdir()
    (tmp_path / "results" / "run").mkdir(parents=True)
    (tmp_path / "pkg" / "code.py").write_text("x = 1\n")
    (tmp_path / "results" / "run" / "provenance.json").write_text("{}\n")
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    clean = git_commit(tmp_path / "pkg")
    assert len(clean["commit"]) == 40 and clean["dirty"] is False
    (tmp_path / "results" / "run" / "provenance.json").write_text('{"status": "running"}\n')
    assert git_commit(tmp_path / "pkg")["dirty"] is False
    (tmp_path / "pkg" / "code.py").write_text("x = 2\n")
    assert git_commit(tmp_path / "pkg")["dirty"] is True


def test_sigterm_interrupts_a_cli_run_and_the_rerun_resumes(tmp_path, monkeypatch):
    import signal

    from cmloss.experiments import runner

    out = tmp_path / "run"
    args = [
        "run",
        "anyloss",
        "--quick",
        "--datasets",
        "breast_cancer",
        "random",
        "--methods",
        "slp-bce",
        "--epochs",
        "3",
        "--out",
        str(out),
        "--no-progress",
    ]
    real = runner.run_experiment
    calls = []

    def unit_then_signal(unit):
        calls.append(1)
        if len(calls) == 1:
            signal.raise_signal(signal.SIGTERM)

    def run_with_signal(*a, **k):  # the CLI's run, told when each unit is written
        return real(*a, on_unit_done=unit_then_signal, **k)

    monkeypatch.setattr(runner, "run_experiment", run_with_signal)
    before = signal.getsignal(signal.SIGTERM)
    assert main(args) == 130
    assert signal.getsignal(signal.SIGTERM) is before  # handlers restored
    record = json.loads((out / "provenance.json").read_text())
    assert record["status"] == "interrupted" and len(calls) == 1
    assert main(args) == 0  # resumes: only the second unit runs
    assert len(calls) == 2
    assert json.loads((out / "provenance.json").read_text())["status"] == "complete"


def test_small_first_runs_the_smallest_datasets_first_with_the_same_results(tmp_path):
    from cmloss.data import get_dataset_info
    from cmloss.experiments.cli import build_parser
    from cmloss.experiments.runner import plan_units

    def size(name):
        info = get_dataset_info(name)
        return info.n_rows * info.n_features

    big_first = SMALL.with_options(
        datasets=tuple(sorted(SMALL.datasets, key=size, reverse=True)), methods=("slp-bce",)
    )
    assert size(big_first.datasets[0]) > size(big_first.datasets[1])
    in_grid = [u.dataset for u in plan_units(big_first, tmp_path / "a")]
    small = [u.dataset for u in plan_units(big_first, tmp_path / "a", small_first=True)]
    assert in_grid == list(big_first.datasets) and small == in_grid[::-1]
    run_experiment(big_first, tmp_path / "grid", show_progress=False)
    run_experiment(big_first, tmp_path / "small", show_progress=False, small_first=True)
    grid_rows = sorted(_rows(tmp_path / "grid" / "results.csv"), key=str)
    small_rows = sorted(_rows(tmp_path / "small" / "results.csv"), key=str)
    drop = ("fit_seconds",)
    assert [{k: v for k, v in r.items() if k not in drop} for r in grid_rows] == [
        {k: v for k, v in r.items() if k not in drop} for r in small_rows
    ]
    args = build_parser().parse_args(["run", "astra", "--small-first"])
    assert args.small_first


def test_a_run_that_raises_is_recorded_as_failed_with_its_error(tmp_path):
    def broken(fold):
        raise ValueError("no classifier for this fold")

    register_method(EstimatorMethod("test-broken", broken, "always raises"), replace=True)
    small = SMALL.with_options(datasets=("breast_cancer",), methods=("test-broken",))
    with pytest.raises(ValueError, match="no classifier"):
        run_experiment(small, tmp_path, show_progress=False)
    saved = json.loads((tmp_path / "provenance.json").read_text())
    assert saved["status"] == "failed"
    assert saved["error"] == "ValueError: no classifier for this fold"
    assert saved["invocations"][-1]["status"] == "failed"
    assert saved["invocations"][-1]["error"] == saved["error"]


def test_resuming_refuses_a_folder_of_another_configuration(tmp_path):
    out = tmp_path / "run"
    run_experiment(SMALL.with_options(datasets=("random",)), out, show_progress=False)
    # other datasets, methods or repeats fill the same grid: allowed
    run_experiment(SMALL.with_options(datasets=("breast_cancer",)), out, show_progress=False)
    for change, message in (
        ({"epochs": 4}, r"epochs=3 there .*epochs=4 now"),
        ({"random_state": 1}, r"random_state=0 there .*random_state=1 now"),
        ({"max_folds": 3}, r"max_folds=2 there .*max_folds=3 now"),
        ({"selection_start": 1}, r"selection_start=None there .*selection_start=1 now"),
        ({"carry_over": True}, r"carry_over=False there .*carry_over=True now"),
        ({"zscore_rows": "whole_file"}, r"zscore_rows='train' there .*'whole_file' now"),
    ):
        with pytest.raises(ValueError, match=message):
            run_experiment(SMALL.with_options(**change), out, show_progress=False)
    record = json.loads((out / "provenance.json").read_text())
    assert record["status"] == "complete" and len(record["invocations"]) == 2


def test_select_from_epoch_moves_every_selection_past_the_first_epochs(tmp_path, capsys):
    """``--select-from-epoch N``: with 6 epochs and N = 5 only the last epoch is eligible,
    so every network member selects epoch 5; without the option, the same folds select
    earlier epochs (the rule here keeps the *highest* validation FNR_apx, which GMN
    training lowers)."""
    grid = tmp_path / "grid.toml"
    grid.write_text(
        'name = "grid"\nprotocol = "anyloss"\ndatasets = ["breast_cancer"]\n'
        'methods = ["test-select"]\nmax_folds = 4\n'
        '[[define]]\nname = "test-select"\narchitecture = {kind = "mlp", hidden = 3}\n'
        'loss = {kind = "confusion_matrix", metric = "g_mean", soft_step = "identity"}\n'
        'output = "astra"\noptimizer = {name = "adam", learning_rate = 0.05}\nepochs = 6\n'
        'selection = {monitor = "fnr", mode = "max"}\n'
    )
    common = ["run", str(grid), "--no-progress"]
    assert main([*common, "--out", str(tmp_path / "free")]) == 0
    assert main([*common, "--out", str(tmp_path / "late"), "--select-from-epoch", "5"]) == 0
    free = [int(r["selected_epoch"]) for r in _rows(tmp_path / "free" / "results.csv")]
    late = [int(r["selected_epoch"]) for r in _rows(tmp_path / "late" / "results.csv")]
    assert late == [5, 5, 5, 5] and min(free) < 5
    config = json.loads((tmp_path / "late" / "provenance.json").read_text())["config"]
    assert config["selection_start"] == 5
    capsys.readouterr()
    # refused, in one line on stderr with exit status 2
    assert main([*common, "--out", str(tmp_path / "late")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert re.search(r"selection_start=5 there .*selection_start=None now", err)
    assert main([*common, "--out", str(tmp_path / "bad"), "--select-from-epoch", "-1"]) == 2
    assert re.search(r"selection_start must be an int >= 0; got .*-1", capsys.readouterr().err)


def test_carry_over_starts_every_fold_from_the_previous_folds_last_weights(tmp_path, capsys):
    """``--carry-over`` (the AnyLoss authors' never re-initialised MLP): fold 0 is trained
    as without it; fold k > 0 of a method equals a fresh ``train_members`` call whose
    initial weights are that method's last weights on fold k - 1, and differs from the
    same fold trained from its own initial weights."""
    from cmloss.data import load_dataset
    from cmloss.experiments.runner import network_members, plan_units, train_carried_over
    from cmloss.protocols import anyloss_splits
    from cmloss.trainer import train_members

    experiment = SMALL.with_options(datasets=("breast_cancer",), max_folds=3)
    (unit,) = plan_units(experiment, tmp_path / "nothing-yet")
    data = load_dataset("breast_cancer")
    splits = anyloss_splits(data.y)[:3]
    X, y, members = network_members(experiment, unit, data, splits)
    carried = train_carried_over(X, y, members, curve_stride=1)
    fresh = train_members(X, y, members, curve_stride=1)
    key = {(r.member.tag["method"], r.member.tag["fold"]): r for r in fresh}
    by_fold = {}
    for r in carried:
        by_fold.setdefault(r.member.tag["fold"], []).append(r)
    assert sorted(by_fold) == [0, 1, 2]
    # stacks of other sizes sum in another order: equal to float32 rounding
    for r in by_fold[0]:
        np.testing.assert_allclose(
            r.test_scores, key[r.member.tag["method"], 0].test_scores, rtol=0, atol=1e-6
        )
    for fold in (1, 2):
        for r in by_fold[fold]:
            method = r.member.tag["method"]
            (previous,) = [p for p in by_fold[fold - 1] if p.member.tag["method"] == method]
            for mine, theirs in zip(r.member.initial_weights, previous.last_weights):
                np.testing.assert_array_equal(mine, theirs)
            (again,) = train_members(X, y, [r.member], curve_stride=1)
            np.testing.assert_allclose(r.test_scores, again.test_scores, rtol=0, atol=1e-6)
            assert np.max(np.abs(r.test_scores - key[method, fold].test_scores)) > 1e-3
    # the option on the command line reaches the configuration and the provenance
    out = tmp_path / "run"
    assert main(["run", "anyloss", "--quick", "--datasets", "breast_cancer", "--methods",
                 "mlp-bce", "--carry-over", "--no-progress", "--out", str(out)]) == 0
    assert json.loads((out / "provenance.json").read_text())["config"]["carry_over"] is True
    with pytest.raises(ValueError, match=r"carry_over must be true or false; got 'yes'"):
        SMALL.with_options(carry_over="yes")


def test_zscore_rows_whole_file_fits_the_scaling_on_every_row(tmp_path):
    """``--zscore-rows whole_file`` (the AnyLoss authors' recipes): networks and estimators
    are scaled with the statistics of the whole file, resampled networks too; the default
    fits them on each fold's training rows."""
    from cmloss.data import load_dataset
    from cmloss.experiments.runner import network_members, plan_units
    from cmloss.protocols import anyloss_splits, fit_zscore, scale_split

    data = load_dataset("breast_cancer")
    splits = anyloss_splits(data.y)[:2]
    for rows, expected in (("train", None), ("whole_file", np.arange(data.y.size))):
        experiment = SMALL.with_options(
            datasets=("breast_cancer",), methods=("mlp-bce", "slp-bce-smote"), zscore_rows=rows
        )
        (unit,) = plan_units(experiment, tmp_path / "nothing-yet")
        _, _, members = network_members(experiment, unit, data, splits)
        for member, split in zip(members, splits * 2):
            wanted = split.train if expected is None else expected
            used = member.train if member.scale_rows is None else member.scale_rows
            np.testing.assert_array_equal(used, wanted)
    x_train, _, x_test = scale_split(data.X, splits[0], np.arange(data.y.size))
    whole = fit_zscore(data.X).transform(data.X)
    np.testing.assert_allclose(x_train, whole[splits[0].train])
    np.testing.assert_allclose(x_test, whole[splits[0].test])
    assert not np.allclose(scale_split(data.X, splits[0])[0], x_train)
    with pytest.raises(ValueError, match=r"zscore_rows must be one of \('train', 'whole_file'\)"):
        SMALL.with_options(zscore_rows="all")
