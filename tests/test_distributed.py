"""Experiments on Dask workers (``--workers``, ``--scheduler``, ``--plan``): the same
results as one process, retries, resuming across the two, memory refusal and the
list-scheduling projection. CI-sized: local clusters of two worker processes."""

from __future__ import annotations

import csv
import json
import os
import signal

import numpy as np
import pytest

pytest.importorskip("distributed")

from test_trainer_experiments import SMALL  # noqa: E402  (two units, no data file)

from cmloss.core.evaluation import CALIBRATION_KEYS  # noqa: E402
from cmloss.experiments import EstimatorMethod, Prediction, register_method  # noqa: E402
from cmloss.experiments.cli import main  # noqa: E402
from cmloss.experiments.runner import run_experiment  # noqa: E402

THREADED = ("best_val_value", "loss_reduction_10pct", *CALIBRATION_KEYS)
"""Float32 sums over an epoch's rows (the validation value kept, the training loss) and
what is computed from the network's float32 scores (Brier score, ECE): TensorFlow reduces
in a different order on one thread (a worker) than on several (this test process), so
they may differ in the last bits; every other column, the confusion matrices first, must
be identical."""


@pytest.fixture(autouse=True)
def _offline(monkeypatch, CMLOSS_DATA):
    monkeypatch.setenv("CMLOSS_OFFLINE", "1")
    monkeypatch.setenv("CMLOSS_DATA", str(CMLOSS_DATA))


@pytest.fixture(scope="module")
def cluster():
    """A two-worker LocalCluster as ``run --workers 2`` starts it; runs reach it through
    its address (``scheduler=``)."""
    from cmloss.experiments.distributed import local_cluster

    with local_cluster(2, 2 * 1024**3, dashboard_address=None) as (client, info):
        yield info["scheduler"]


def _rows(path):
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return sorted(rows, key=lambda r: (r["dataset"], r["method"], int(r["repeat"]), int(r["fold"])))


def _assert_same_rows(mine, reference):
    assert len(mine) == len(reference) > 0
    for a, b in zip(mine, reference):
        for key in a:
            if key == "fit_seconds":
                continue
            if key in THREADED and a[key] != "":
                assert float(a[key]) == pytest.approx(float(b[key]), rel=1e-5, abs=1e-7), key
            else:
                assert a[key] == b[key], (key, a, b)


def test_quick_astra_on_two_workers_gives_the_single_process_rows(tmp_path, CMLOSS_DATA):
    if not (CMLOSS_DATA / "hd-ensemble").is_dir():
        pytest.skip("needs the HD-Ensemble files (CMLOSS_DATA)")
    common = ["run", "astra", "--quick", "--no-progress", "--out"]
    assert main([*common, str(tmp_path / "one")]) == 0
    assert main([*common, str(tmp_path / "two"), "--workers", "2"]) == 0
    one, two = _rows(tmp_path / "one" / "results.csv"), _rows(tmp_path / "two" / "results.csv")
    _assert_same_rows(two, one)  # same confusion matrices, fold by fold
    record = json.loads((tmp_path / "two" / "provenance.json").read_text())
    execution = record["execution"]
    assert execution["workers"] == 2 and execution["scheduler"].startswith("tcp://")
    assert execution["budget_bytes_per_worker"] == record["config"]["budget_bytes"] // 2
    assert execution["worker_probe"]["peak_rss_bytes"] > 0
    units = record["units"]
    assert sorted(u["dataset"] for u in units) == ["ijcnn-971", "skin-588"]
    for unit in units:
        assert unit["status"] == "done" and unit["attempts"] == 1
        assert unit["worker"].startswith("tcp://") and unit["wall_seconds"] > 0
        assert unit["intra_op_threads"] == 1


def test_a_killed_worker_is_retried_and_a_unit_that_fails_twice_is_recorded(tmp_path, cluster,
                                                                            request):
    """On breast_cancer (30 features) the method kills its worker process the first time;
    on random (2 features) it always raises. The first unit is retried on a new worker
    and finishes; the second fails twice and is recorded, the run says failed, and the
    finished unit's chunks are kept."""
    marker = tmp_path / "killed-once"

    def flaky(fold):
        if fold.X_train.shape[1] == 2:
            raise ValueError("this method cannot fit random")
        if not marker.exists():
            marker.write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return Prediction(scores=1.0 / (1.0 + np.exp(-fold.X_test[:, 0])), threshold=0.5)

    from cmloss.experiments import methods as registry

    # the test's method must not outlive the test (other tests list the registry); the
    # registry dict itself is kept, since modules imported meanwhile bind it by name
    request.addfinalizer(lambda: registry.METHODS.pop("test-flaky", None))
    register_method(EstimatorMethod("test-flaky", flaky, "kills or raises"), replace=True)
    grid = SMALL.with_options(methods=("slp-bce", "test-flaky"))
    record = run_experiment(grid, tmp_path / "run", scheduler=cluster, show_progress=False)
    assert marker.exists()  # the worker was killed once
    units = {u["dataset"]: u for u in record["units"]}
    assert units["breast_cancer"]["status"] == "done" and units["breast_cancer"]["attempts"] == 2
    assert units["random"]["status"] == "failed" and units["random"]["attempts"] == 2
    assert "cannot fit random" in units["random"]["error"]
    assert record["status"] == "failed" and "random repeat 0" in record["error"]
    saved = json.loads((tmp_path / "run" / "provenance.json").read_text())
    assert saved["status"] == "failed"
    done = sorted(p.parent.name for p in (tmp_path / "run" / "chunks").rglob("*.csv"))
    assert done == ["slp-bce", "test-flaky"]  # breast_cancer's chunks; none of random's
    reference = run_experiment(
        grid.with_options(datasets=("breast_cancer",)), tmp_path / "ref", show_progress=False
    )
    assert reference["status"] == "complete"
    mine = [r for p in sorted((tmp_path / "run" / "chunks").rglob("*.csv")) for r in _rows(p)]
    _assert_same_rows(
        sorted(mine, key=lambda r: (r["method"], r["fold"])),
        _rows(tmp_path / "ref" / "results.csv"),
    )


class Stop(KeyboardInterrupt):
    """How Ctrl-C and the command line's signal handler arrive."""


def _stop(unit):
    raise Stop(unit)


@pytest.mark.parametrize("first", ["distributed", "single process"])
def test_an_interrupted_run_resumes_in_the_other_mode(first, tmp_path, cluster):
    reference = tmp_path / "reference"
    run_experiment(SMALL, reference, show_progress=False)
    out = tmp_path / "run"
    modes = {"distributed": {"scheduler": cluster}, "single process": {}}
    second = "single process" if first == "distributed" else "distributed"
    with pytest.raises(Stop):
        run_experiment(SMALL, out, show_progress=False, on_unit_done=_stop, **modes[first])
    record = json.loads((out / "provenance.json").read_text())
    assert record["status"] == "interrupted" and len(record["units"]) == 1
    assert len(list((out / "chunks").rglob("*.csv"))) == 2  # one unit: two methods
    seen = []
    record = run_experiment(
        SMALL, out, show_progress=False, on_unit_done=seen.append, **modes[second]
    )
    assert record["status"] == "complete" and len(seen) == 1
    assert [h["status"] for h in record["invocations"]] == ["interrupted", "complete"]
    assert [h["execution"]["scheduler"] is not None for h in record["invocations"]] == [
        first == "distributed",
        second == "distributed",
    ]
    _assert_same_rows(_rows(out / "results.csv"), _rows(reference / "results.csv"))


def test_workers_that_do_not_fit_in_memory_are_refused_with_the_numbers(tmp_path, capsys):
    from cmloss.experiments.distributed import check_workers_fit
    from cmloss.experiments.runner import ExperimentError

    gb = 1024**3
    check_workers_fit(4, gb, 2 * gb, 6 * gb)  # 4 x 1 + 2 = 6 GB: fits
    with pytest.raises(ExperimentError, match=r"5 x 1.00 GB .* \+ 2.00 GB .* = 7.0 GB > 6.0 GB"):
        check_workers_fit(5, gb, 2 * gb, 6 * gb)
    out = tmp_path / "run"
    args = ["run", "anyloss", "--quick", "--datasets", "breast_cancer", "--no-progress"]
    assert main([*args, "--workers", "100000", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: --workers 100000 does not fit")
    assert "at most" in err
    record = json.loads((out / "provenance.json").read_text())
    assert record["status"] == "failed" and "does not fit" in record["error"]


def test_list_scheduling_simulation():
    from cmloss.experiments.planning import simulate

    units = [("a", 5.0, {}), ("b", 4.0, {}), ("c", 3.0, {}), ("d", 3.0, {}), ("e", 3.0, {})]
    assert simulate(units, 1) == 18.0
    # worker 0: a (5), then d (8); worker 1: b (4), c (7), e (10)
    assert simulate(units, 2) == 10.0
    assert simulate(units, 8, startup=2.0) == 7.0
    # compilation once per (worker, dataset, class)
    same = [("x", 1.0, {"k": 10.0})] * 3
    assert simulate(same, 1) == 13.0 and simulate(same, 3) == 11.0


def test_plan_prints_units_costs_and_projection_without_training(tmp_path, capsys):
    grid = tmp_path / "grid.toml"
    grid.write_text(
        'name = "grid"\nprotocol = "anyloss"\ndatasets = ["breast_cancer", "random"]\n'
        'methods = ["slp-bce", "slp-anyloss-f1"]\nmax_folds = 2\nepochs = 50\n'
    )
    out = tmp_path / "out"
    assert main(["run", str(grid), "--plan", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert not out.exists()  # nothing trained or written
    lines = printed.splitlines()
    table = [x.split() for x in lines if x.split()[:1] in (["breast_cancer"], ["random"])]
    # largest estimated time first; 2 methods x 2 folds = 4 networks of 50 epochs
    assert [t[0] for t in table][0] == "random"  # 10,000 rows against 393
    assert all(t[2] == "4" and t[3] == "200" for t in table)
    projected = {int(x.split()[0]): x for x in lines if x.strip().split()[1:2] == ["worker(s):"]}
    assert sorted(projected) == [1, 2, 4, 8, 16, 64]
    assert "peak resident memory" in printed and "calibration ('slp', None)" in printed
    # two units: two workers finish when the longer one does, more add nothing
    assert projected[4].split()[2:4] == projected[2].split()[2:4]
    assert np.isfinite(float(projected[1].split()[5]))
