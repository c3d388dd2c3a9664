"""The experiments' command line as a user meets it: expected failures in one line with
exit status 2, a provenance that says ``failed`` for a run that did not finish, a
progress bar of written chunks and a summary at the end."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from cmloss.experiments import storage
from cmloss.experiments.cli import main

TINY = ["--datasets", "breast_cancer", "--methods", "slp-bce", "--epochs", "3", "--no-progress"]
"""A run of seconds: one unit, one chunk (breast_cancer needs no data file)."""


@pytest.fixture(autouse=True)
def _offline(monkeypatch, CMLOSS_DATA):
    monkeypatch.setenv("CMLOSS_OFFLINE", "1")
    monkeypatch.setenv("CMLOSS_DATA", str(CMLOSS_DATA))


def _one_line_error(capsys, *phrases):
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for phrase in phrases:
        assert phrase in err, (phrase, err)
    return err


def _grid(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    "case",
    [
        "unknown experiment",
        "unknown method",
        "unknown dataset",
        "grid file with an unknown key",
        "grid file that is not JSON",
        "grid file that is not TOML",
        "missing grid file",
        "negative --workers",
        "--small-first with --workers",
    ],
)
def test_expected_failures_are_one_line_on_stderr_and_exit_2(case, tmp_path, capsys):
    out = tmp_path / "out"
    args, phrases = {
        "unknown experiment": (["run", "nosuch"], ["unknown experiment 'nosuch'"]),
        "unknown method": (
            ["run", "anyloss", "--quick", "--methods", "nosuch"],
            ["unknown method 'nosuch'"],
        ),
        "unknown dataset": (
            ["run", "anyloss", "--quick", "--datasets", "breast-cancr"],
            ["Unknown dataset 'breast-cancr'", "breast_cancer"],
        ),
        "grid file with an unknown key": (
            [
                "run",
                _grid(
                    tmp_path,
                    "g.json",
                    '{"protocol": "anyloss", "datasets": ["random"], "methods": ["slp-bce"], '
                    '"bogus": 1}',
                ),
            ],
            ["g.json", "unknown keys", "bogus"],
        ),
        "grid file that is not JSON": (
            ["run", _grid(tmp_path, "bad.json", "{not json")],
            ["bad.json", "JSONDecodeError"],
        ),
        "grid file that is not TOML": (
            ["run", _grid(tmp_path, "g.toml", "name = \n")],
            ["g.toml", "TOMLDecodeError"],
        ),
        "missing grid file": (["run", str(tmp_path / "none.toml")], ["none.toml not found"]),
        "negative --workers": (["run", "anyloss", "--workers", "0"], ["--workers", ">= 1"]),
        "--small-first with --workers": (
            ["run", "anyloss", "--small-first", "--workers", "2"],
            ["--small-first cannot be combined with --workers", "largest units first"],
        ),
    }[case]
    assert main([*args, "--out", str(out), "--no-progress"]) == 2
    _one_line_error(capsys, *phrases)
    assert not out.exists()  # refused before anything was written


def test_refused_resume_is_one_line_and_leaves_the_folder_as_it_was(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "anyloss", "--quick", *TINY, "--out", str(out)]) == 0
    before = (out / "provenance.json").read_text()
    capsys.readouterr()
    assert main(["run", "anyloss", "--quick", *TINY, "--epochs", "4", "--out", str(out)]) == 2
    _one_line_error(capsys, "another configuration", "epochs=3 there", "epochs=4 now")
    assert (out / "provenance.json").read_text() == before


def test_missing_data_is_one_line_and_the_provenance_says_failed(tmp_path, capsys):
    """With the progress bar on (the default), as a user runs it: today's main crashed
    with a traceback and left the provenance at "running"."""
    empty = tmp_path / "no-data"
    empty.mkdir()
    out = tmp_path / "run"
    args = ["run", "anyloss", "--quick", "--datasets", "diabetes", "--methods", "slp-bce"]
    assert main([*args, "--data-home", str(empty), "--out", str(out)]) == 2
    _one_line_error(capsys, "diabetes", "was not found in the data home", str(empty))
    record = json.loads((out / "provenance.json").read_text())
    assert record["status"] == "failed"
    assert "DataFileNotFoundError" in record["error"] and "diabetes" in record["error"]
    assert record["invocations"][-1]["status"] == "failed"
    assert not (out / "chunks").exists()  # the data is checked before any training


def test_the_progress_bar_counts_written_chunks(tmp_path, monkeypatch):
    """The bar is at k when the k-th chunk has been written, never ahead of the files
    (today's main counted network-epochs and reached 100% before the chunks of the last
    unit were written)."""
    import tqdm.auto

    bars = []

    class Bar:
        def __init__(self, total, **kwargs):
            self.total, self.n, self.postfix = total, 0, []
            bars.append(self)

        def update(self, n=1):
            self.n += n

        def set_postfix_str(self, text, **kwargs):
            self.postfix.append(text)

        def close(self):
            pass

    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    at_write = []
    real = storage.write_chunk

    def write_chunk(root, dataset, method, repeat, rows, curves):
        at_write.append((bars[0].n if bars else None, method))
        real(root, dataset, method, repeat, rows, curves)

    monkeypatch.setattr(storage, "write_chunk", write_chunk)
    out = tmp_path / "run"
    args = ["run", "anyloss", "--quick", "--datasets", "breast_cancer", "random"]
    args += ["--methods", "slp-bce", "slp-anyloss-f1", "--epochs", "3", "--out", str(out)]
    assert main(args) == 0
    (bar,) = bars
    assert bar.total == 4  # 2 datasets x 2 methods
    assert [n for n, _ in at_write] == [0, 1, 2, 3] and bar.n == 4
    assert any("net-epochs" in text for text in bar.postfix)  # the unit in progress


def test_a_finished_run_prints_a_summary_table_and_where_the_files_are(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["run", "anyloss", "--quick", "--datasets", "breast_cancer", "random"]
    args += ["--methods", "slp-bce", "mlp-bce", "--epochs", "3", "--out", str(out)]
    assert main([*args, "--no-progress"]) == 0
    printed = capsys.readouterr().out
    with open(out / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for dataset in ("breast_cancer", "random"):
        for method in ("slp-bce", "mlp-bce"):
            mine = [r for r in rows if r["dataset"] == dataset and r["method"] == method]
            want = [str(len(mine))]
            for key in ("g_mean", "mcc"):
                values = [float(r[key]) for r in mine if r[key] != ""]
                want.append(f"{np.mean(values):.3f}" if values else "n/a")
            (line,) = [x for x in printed.splitlines() if x.split()[:2] == [dataset, method]]
            assert line.split()[2:5] == want
    assert str(out / "results.csv") in printed and str(out / "provenance.json") in printed


def test_summary_table_marks_undefined_metrics():
    from cmloss.experiments.cli import summary_table

    rows = [
        {"dataset": "d", "method": "m", "g_mean": "0.5", "mcc": ""},
        {"dataset": "d", "method": "m", "g_mean": "0.7", "mcc": "0.25"},
        {"dataset": "d", "method": "k", "g_mean": "", "mcc": ""},
    ]
    header, first, second = summary_table(rows).splitlines()
    assert header.split() == ["dataset", "method", "folds", "G-mean", "MCC"]
    assert first.split()[:5] == ["d", "m", "2", "0.600", "0.250"]
    assert "MCC undefined on 1 fold(s)" in first and "G-mean" not in first
    assert second.split()[:5] == ["d", "k", "1", "n/a", "n/a"]
