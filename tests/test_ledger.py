"""The reproduction ledger's criteria (C1, C2) and the diverged-network count, on small
hand-made runs whose answers are known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cmloss.stats import ledger


def _rows(values, method="bce-astra", dataset="skin-588", cells=None):
    rows = []
    for fold, value in enumerate(values):
        tn, fp, fn, tp = cells[fold] if cells else (10, 1, 1, 3 + fold)
        rows.append({"dataset": dataset, "method": method, "repeat": 0, "fold": fold,
                     "g_mean": value, "mcc": value / 2, "tn": tn, "fp": fp, "fn": fn, "tp": tp,
                     "selected_epoch": 5, "epochs": 100})
    return pd.DataFrame(rows)


def _comparison(ours_mean, paper_mean, flag=True):
    return pd.DataFrame([{"dataset": "skin-588", "method": "BCE-ASTra", "metric": "g_mean",
                          "ours_mean": ours_mean, "paper_mean": paper_mean,
                          "diff_in_std": -3.0, "flag": flag}])


def test_c1_half_way_towards_the_paper_explains_a_gap():
    ours = _rows([0.5, 0.5])
    for cand_value, explains in ((0.75, True), (0.74, False), (0.4, False)):
        cand = ledger.Candidate("c", _rows([cand_value] * 2, method="bce-astra-x",
                                           cells=[(9, 2, 1, 3)] * 2), "-x")
        paired = ledger.paired_candidate(ours, cand)
        effects = ledger.explained_gaps(_comparison(0.5, 1.0), paired, metrics=("g_mean",))
        assert effects["explains"].tolist() == [explains], cand_value
        assert effects["moved_fraction"].iloc[0] == pytest.approx((cand_value - 0.5) / 0.5)
    table = ledger.ledger_table(_comparison(0.5, 1.0), effects, ["c"])
    assert table["cause found"].iloc[0] == "not explained (1 tried; closest: c, -20%)"


def test_a_candidate_that_barely_moves_a_gap_away_reads_0_percent_not_minus_0():
    ours = _rows([0.5, 0.5])
    cand = ledger.Candidate("c", _rows([0.4998] * 2, method="bce-astra-x",
                                       cells=[(9, 2, 1, 3)] * 2), "-x")
    effects = ledger.explained_gaps(_comparison(0.5, 1.0), ledger.paired_candidate(ours, cand),
                                    metrics=("g_mean",))
    table = ledger.ledger_table(_comparison(0.5, 1.0), effects, ["c"])
    assert table["cause found"].iloc[0] == "not explained (1 tried; closest: c, 0%)"


def test_cells_within_one_std_are_not_in_the_ledger():
    ours = _rows([0.5, 0.5])
    cand = ledger.Candidate("c", _rows([0.9, 0.9], cells=[(9, 2, 1, 3)] * 2))
    paired = ledger.paired_candidate(ours, cand)
    effects = ledger.explained_gaps(_comparison(0.5, 1.0, flag=False), paired, ("g_mean",))
    assert effects.empty


def test_c2_counts_problems_up_and_the_worst_drop_of_changed_methods_only():
    datasets = ["a", "b", "c", "d", "e"]
    changes = [0.05, 0.05, 0.05, -0.01, -0.03]
    ours = pd.concat([_rows([0.5], dataset=d) for d in datasets])
    cand_rows = pd.concat([_rows([0.5 + c], dataset=d, cells=[(9, 2, 1, 3)])
                           for d, c in zip(datasets, changes)])
    # an unchanged method (identical confusion matrices) does not count
    ours = pd.concat([ours, _rows([0.9], method="gmn", dataset="a")])
    cand_rows = pd.concat([cand_rows, _rows([0.9], method="gmn", dataset="a")])
    paired = ledger.paired_candidate(ours, ledger.Candidate("c", cand_rows))
    result = ledger.adoption(paired).iloc[0]
    assert result["problems_up"] == 3 and result["worst_drop"] == pytest.approx(0.03)
    assert not result["adopt"]  # one drop beyond 0.02
    assert ledger.adoption(paired, max_drop=0.05).iloc[0]["adopt"]


def test_nonfinite_folds_finds_diverged_and_suspect_folds(tmp_path):
    chunk = tmp_path / "chunks" / "skin-588" / "gmn"
    chunk.mkdir(parents=True)
    full = np.array([[0.5, 0.4, 0.3], [0.5, np.nan, np.nan], [0.5, 1.0, 1.0]], "float32")
    np.savez(chunk / "repeat-0.npz", fold=np.arange(3), train_loss=full, train_loss_full=full)
    rows = _rows([0.5, 0.0, 0.0], method="gmn",
                 cells=[(10, 1, 1, 3), (11, 0, 4, 0), (11, 0, 4, 0)])
    rows["selected_epoch"] = [2, 0, 2]
    counts = ledger.nonfinite_folds(tmp_path, rows)
    assert counts == {"folds": 3, "nonfinite_curve": 1, "all_negative": 2,
                      "all_negative_suspect": 1}


LEDGER = Path(__file__).resolve().parents[1] / "ledger"
RESULTS = Path(__file__).resolve().parents[1] / "results" / "ledger"


def test_the_control_grid_reproduces_our_reading_fold_for_fold(tmp_path, CMLOSS_DATA):
    """A ledger grid changes one setting of our reading: written without the change (the
    control), it must give the built-in methods' rows exactly (short runs)."""
    from cmloss.experiments import get_experiment, run_experiment
    from cmloss.experiments.definitions import load_config

    if not (CMLOSS_DATA / "hd-ensemble").exists():
        pytest.skip("needs the HD-Ensemble data")
    from cmloss.experiments.methods import METHODS

    registered = dict(METHODS)
    try:  # the grid registers its methods: leave the registry as it was
        control = load_config(LEDGER / "astra" / "control-skin.json").with_options(
            datasets=("skin-588",), epochs=40, repeats=1, max_folds=2)
        ours = get_experiment("astra", "full").with_options(
            datasets=("skin-588",), methods=("bce-astra", "gmn-astra"), epochs=40, repeats=1,
            max_folds=2)
        for experiment, out in ((control, "control"), (ours, "ours")):
            run_experiment(experiment, tmp_path / out, data_home=CMLOSS_DATA,
                           show_progress=False)
    finally:
        METHODS.clear()
        METHODS.update(registered)
    a = pd.read_csv(tmp_path / "control" / "results.csv")
    b = pd.read_csv(tmp_path / "ours" / "results.csv")
    a["method"] = a["method"].str.removesuffix("-control")
    keys = ["dataset", "method", "repeat", "fold"]
    cols = [*keys, "selected_epoch", "final_b", "tn", "fp", "fn", "tp", "best_val_value"]
    a, b = a.sort_values(keys)[cols].reset_index(drop=True), b.sort_values(keys)[cols]
    pd.testing.assert_frame_equal(a, b.reset_index(drop=True))


@pytest.mark.parametrize("folder", sorted(p.name for p in RESULTS.glob("*")
                                          if (p / "provenance.json").is_file()))
def test_committed_candidates_cover_repeats_0_1_of_every_problem(folder):
    from cmloss.experiments.results import load_run

    run = load_run(RESULTS / folder)
    assert run.provenance["status"] == "complete"
    rows = run.rows
    if folder.startswith("anyloss-"):  # chapter 5: one run of 10 folds, the compared MLPs
        config = run.config
        assert config["protocol"] == "anyloss"
        assert config["carry_over"] or config["zscore_rows"] == "whole_file"
        assert set(rows["dataset"]) == {"random", "breast_cancer", "diabetes"}
        assert (rows.groupby(["dataset", "method"]).size() == 10).all()
        return
    for invocation in run.provenance["invocations"]:
        assert any(str(part).startswith("ledger/") for part in invocation["command"])
    assert set(rows["repeat"]) == {0, 1}
    assert set(rows["dataset"]) == {"skin-588", "skin-4000", "cod-763", "cod-3500", "ijcnn-971"}
    assert (rows.groupby(["dataset", "method"]).size() == 10).all()


def _slope_sgd(settings):
    import dataclasses

    return {**settings,
            "optimizer": dataclasses.replace(settings["optimizer"], slope_optimizer="sgd")}


def _raw_monitor(settings):
    import dataclasses

    return {**settings,
            "selection": dataclasses.replace(settings["selection"], output="raw")}


def _e_ratio_raw(settings):
    import dataclasses

    optimizer = settings["optimizer"]
    adaptive = dataclasses.replace(optimizer.adaptive_slope, output="raw")
    return {**settings, "optimizer": dataclasses.replace(optimizer, adaptive_slope=adaptive)}


_CHANGES = {  # candidate: our reading's settings -> the candidate's
    "e-ratio-raw": _e_ratio_raw,  # 3: Eq. 10's e-ratio of the raw ASTra output
    "slope-sgd": _slope_sgd,  # 8: plain gradient descent on the slope parameter
    "raw-monitor": _raw_monitor,  # 2: FNR_apx of the raw ASTra output selects
    "tau-floor": lambda settings: {**settings, "tau_min": 0.05},  # 4: the paper's lowest tau
    "raw-input": lambda settings: {**settings, "standardize": False},  # 1: the files' units
    "minmax-input": lambda settings: {**settings, "standardize": "minmax"},  # 1: min-max
}
_FOUR = ("bce", "gmn", "bce-astra", "gmn-astra")
_METHODS_OF = {"raw-input": _FOUR, "minmax-input": _FOUR}  # default: the ASTra two


@pytest.mark.parametrize("candidate", sorted(_CHANGES))
@pytest.mark.parametrize("group", ["skin", "cod", "ijcnn"])
def test_candidate_grids_change_only_their_setting(candidate, group):
    """A candidate's grids are our reading (the built-in BCE-ASTra and GMN-ASTra, and for
    input scaling BCE and GMN too; paper width of each dataset) with one setting changed."""
    import dataclasses

    from cmloss.data.registry import DATASETS
    from cmloss.experiments.definitions import load_config
    from cmloss.experiments.methods import METHODS, Context

    registered = dict(METHODS)
    try:
        experiment = load_config(LEDGER / "astra" / f"{candidate}-{group}.json")
        for dataset in experiment.datasets:
            ctx = Context(dataset, DATASETS[dataset].n_features)
            ours_methods = _METHODS_OF.get(candidate, ("bce-astra", "gmn-astra"))
            assert experiment.methods == tuple(f"{m}-{candidate}" for m in ours_methods)
            for ours in ours_methods:
                cand = METHODS[f"{ours}-{candidate}"].settings(ctx)
                expected = _CHANGES[candidate](METHODS[ours].settings(ctx))
                # the loss label is a report name ("gmn" built in), not a setting
                expected["loss"] = dataclasses.replace(expected["loss"], label=cand["loss"].label)
                assert cand == expected, (dataset, ours)
    finally:
        METHODS.clear()
        METHODS.update(registered)
