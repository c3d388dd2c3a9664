"""Benchmark: the fast trainer against the per-fold Keras ``fit`` loop, and against this
machine's measured peaks.

Run from the repository root (``CMLOSS_DATA`` pointing at the data folder)::

    python benchmarks/trainer_benchmark.py                  # ~10 minutes on 2 CPU cores
    python benchmarks/trainer_benchmark.py --quick          # ~3 minutes, smaller figures
    python benchmarks/trainer_benchmark.py --full-run skin-588   # + a full 2M net-epoch run

It writes ``benchmarks/results/trainer_benchmark.json`` (``--out`` to change) and prints
a summary. Sections:

1. *peaks*: this machine's float32 matmul rate (a large TensorFlow matmul on the default
   device, and NumPy's) and memory bandwidth (a large array copy, NumPy and XLA);
2. *keras vs trainer*: the same work, the ASTra protocol's networks on skin-588 (one
   hidden layer, BCE/GMN x sigmoid/ASTra, Adam, adaptive slope rate, validation
   FNR_apx every epoch, best-on-validation): the per-fold ``model.fit`` loop with the
   cmloss optimizer, metrics and callbacks, as a user would run it (on a sample of the
   folds: its cost per network-epoch does not depend on how many folds follow), against
   :func:`cmloss.trainer.train_members` on all folds; network-epochs per second, ratio;
3. *roofline*: the trainer's bytes moved per epoch (from the compiled program: operand
   and result bytes of every operation of the loop body) and dense-layer FLOPs, as rates
   against the measured peaks;
4. *scaling*: time per epoch against rows (UCI skin subsamples up to its 245,057 rows)
   and against the number of networks (skin-588 folds);
5. *projection*: the full ASTra protocol (5 datasets x 50 folds x 4 methods x 10,000
   epochs = 10 million network-epochs) from a measured slice of every dataset, in the
   experiment runner's units (one repeat: 5 folds x 4 methods), compilation included;
6. optionally (``--full-run``) the wall time of a real full single-dataset run through
   ``python -m cmloss.experiments``.

Device placement is TensorFlow's: with a GPU present, the same code runs there and the
same figures are reported (the device is recorded).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from cmloss import metrics as cm_keras_metrics  # noqa: E402
from cmloss.data import load_dataset  # noqa: E402
from cmloss.experiments.definitions import get_experiment  # noqa: E402
from cmloss.experiments.methods import methods_of  # noqa: E402
from cmloss.experiments.provenance import git_commit, machine_info, package_versions  # noqa: E402
from cmloss.experiments.runner import Unit, network_members  # noqa: E402
from cmloss.experiments.storage import atomic_write_json  # noqa: E402
from cmloss.protocols import astra_splits, fit_zscore  # noqa: E402
from cmloss.trainer import MemberSpec, build_keras_model, engine, train_members  # noqa: E402
from cmloss.trainer import train as trainer_train  # noqa: E402
from cmloss.trainer.epoch_rules import SelectionWarning  # noqa: E402
from cmloss.trainer.stacking import build_stack  # noqa: E402

# Timing runs train for a few epochs, so best-on-validation often keeps an early epoch;
# its warnings say nothing about speed.
warnings.filterwarnings("ignore", category=SelectionWarning)

ASTRA = get_experiment("astra", "full")
METHODS = methods_of("astra-paper")  # the paper's four; ASTRA adds more methods
assert set(METHODS) <= set(ASTRA.methods)
ASTRA_DATASETS = ASTRA.datasets
PROTOCOL_EPOCHS = 10_000  # the ASTra methods' own epochs (ASTRA.epochs is None)
PROTOCOL_REPEATS = ASTRA.repeats


def _best_of(fn, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


# ----------------------------------------------------------------------------- peaks
def measure_peaks(quick: bool) -> dict:
    """Matmul FLOP/s and copy bandwidth of this machine (default TF device and NumPy)."""
    n = 2048 if quick else 4096
    a = tf.random.normal((n, n))
    mm = tf.function(lambda x: tf.matmul(x, x), jit_compile=True, autograph=False)
    mm(a).numpy()
    t_tf = _best_of(lambda: mm(a).numpy())
    an = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    t_np = _best_of(lambda: an @ an)
    size = (100 if quick else 400) * 2**20 // 4
    x = tf.random.normal((size,))
    copy = tf.function(lambda v: v * 1.0, jit_compile=True, autograph=False)
    copy(x).numpy()
    t_copy_tf = _best_of(lambda: copy(x).numpy())
    xn = np.random.default_rng(0).standard_normal(size).astype(np.float32)
    yn = np.empty_like(xn)
    t_copy_np = _best_of(lambda: np.copyto(yn, xn))
    return {
        "device": a.device,
        "matmul_size": n,
        "matmul_flops_per_s_tf": 2 * n**3 / t_tf,
        "matmul_flops_per_s_numpy": 2 * n**3 / t_np,
        "copy_bytes": size * 4,
        "bandwidth_bytes_per_s_xla": 2 * size * 4 / t_copy_tf,
        "bandwidth_bytes_per_s_numpy": 2 * size * 4 / t_copy_np,
        "note": "bandwidth counts the bytes read plus the bytes written by a copy",
    }


# ----------------------------------------------------------------------------- work
def astra_members(dataset, splits, epochs) -> list[MemberSpec]:
    """The networks the ASTra experiment's runner trains for these splits (its member
    construction, seeds and method settings), with every method's epochs set to ``epochs``."""
    name = dataset.info.name
    experiment = ASTRA.with_options(datasets=(name,), epochs=epochs)
    out = []
    for repeat in sorted({split.repeat for split in splits}):
        in_repeat = [split for split in splits if split.repeat == repeat]
        unit = Unit(name, repeat, METHODS)
        out += network_members(experiment, unit, dataset, in_repeat)[2]
    return out


def keras_loop(dataset, members) -> dict:
    """The per-fold ``model.fit`` loop as a user would write it; seconds per network-epoch."""
    rows = []
    for member in members:
        t0 = time.perf_counter()
        zscore = fit_zscore(dataset.X, member.train)
        x_tr = zscore.transform(dataset.X[member.train]).astype(np.float32)
        x_va = zscore.transform(dataset.X[member.validation]).astype(np.float32)
        y_tr = dataset.y[member.train].astype(np.float32)
        y_va = dataset.y[member.validation].astype(np.float32)
        model = build_keras_model(member, dataset.X.shape[1])
        model.compile(
            optimizer=member.optimizer.keras_optimizer(),
            loss=member.loss.keras_loss(),
            metrics=[cm_keras_metrics.FNRApx(), cm_keras_metrics.ERatioApx()],
        )
        callbacks = [member.selection.keras_callback()]
        if member.output == "astra":
            callbacks.insert(0, member.optimizer.adaptive_slope.keras_callback())
        model.fit(
            x_tr,
            y_tr,
            batch_size=y_tr.size,
            epochs=member.epochs,
            validation_data=(x_va, y_va),
            callbacks=callbacks,
            shuffle=False,
            verbose=0,
        )
        seconds = time.perf_counter() - t0
        rows.append(
            {
                "method": member.tag["method"],
                "fold": member.tag["fold"],
                "epochs": member.epochs,
                "seconds": seconds,
                "seconds_per_epoch": seconds / member.epochs,
            }
        )
    total = sum(r["seconds"] for r in rows)
    epochs = sum(r["epochs"] for r in rows)
    return {
        "networks": len(rows),
        "network_epochs": epochs,
        "seconds": total,
        "network_epochs_per_s": epochs / total,
        "per_network": rows,
    }


def trainer_run(dataset, members) -> dict:
    """Cold (compilation included) and warm runs of :func:`train_members`."""
    epochs = members[0].epochs
    n_ep = len(members) * epochs
    t0 = time.perf_counter()
    train_members(dataset.X, dataset.y, members)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    results = train_members(dataset.X, dataset.y, members)
    warm = time.perf_counter() - t0
    return {
        "networks": len(members),
        "epochs": epochs,
        "network_epochs": n_ep,
        "seconds_cold": cold,
        "seconds_warm": warm,
        "network_epochs_per_s_cold": n_ep / cold,
        "network_epochs_per_s_warm": n_ep / warm,
        "stacks": len({r.stack_seconds for r in results}),
    }


# ----------------------------------------------------------------------------- roofline
_DTYPE_BYTES = {"f32": 4, "s32": 4, "pred": 1, "f64": 8, "s64": 8, "u32": 4, "u8": 1, "s8": 1}
_SHAPE = re.compile(r"\b(f32|s32|pred|f64|s64|u32|u8|s8)\[([0-9,]*)\]")
_INSTR = re.compile(r"^\s*(?:ROOT )?%?([\w.\-]+) = (.+?) ([\w\-]+)\((.*)$")
_COMP = re.compile(r"^(?:ENTRY )?%?([\w.\-]+) \((.*)\) -> (.*) \{$")


def _bytes(text: str) -> int:
    total = 0
    for dtype, dims in _SHAPE.findall(text):
        total += _DTYPE_BYTES[dtype] * int(np.prod([int(x) for x in dims.split(",") if x] or [1]))
    return total


def loop_traffic(hlo: str) -> dict:
    """Bytes read and written per iteration by the operations of the while-loop bodies of
    an optimized HLO module (each operation's operands plus its result; parameters,
    tuples, bitcasts and constants move nothing)."""
    comps: dict[str, list] = {}
    current = None
    for line in hlo.splitlines():
        m = _COMP.match(line)
        if m:
            current = m.group(1)
            comps[current] = []
            continue
        if line.startswith("}"):
            current = None
            continue
        if current is not None:
            m = _INSTR.match(line)
            if m:
                comps[current].append(m.groups())
    bodies = []
    for instrs in comps.values():
        for _, _, op, rest in instrs:
            if op == "while":
                bodies.append(re.search(r"body=%?([\w.\-]+)", rest).group(1))
    skip = {"parameter", "get-tuple-element", "tuple", "constant", "bitcast"}
    out = {}
    for body in bodies:
        shapes, total, n_ops = {}, 0, 0
        for name, typ, op, rest in comps[body]:
            shapes[name] = typ
            if op in skip:
                continue
            operands = re.findall(r"%([\w.\-]+)", rest.split("), ")[0])
            read = sum(_bytes(shapes[o]) for o in operands if o in shapes)
            total += read + _bytes(typ)
            n_ops += 1
        out[body] = {"bytes_per_iteration": total, "operations": n_ops}
    return out


def roofline(dataset, members, peaks: dict, epochs: int = 100) -> dict:
    """Bytes moved and dense FLOPs per epoch of the workload's compiled program, against
    its own steady-state time per epoch (the compiled loop alone: no host work)."""
    plan = trainer_train.plan_stacks(members, n_features=dataset.X.shape[1])
    if len(plan) != 1:
        return {"note": "workload split into several stacks; roofline skipped"}
    stack = build_stack(dataset.X, dataset.y, members, plan[0], deduplicate=True)
    program = engine.program(stack.layout, trainer_train.DEFAULT_BLOCK)
    data = engine.stack_data(stack)
    state = engine.initial_state(stack)
    start, stop = tf.constant(0, tf.int32), tf.constant(epochs, tf.int32)
    hlo = program.run.experimental_get_compiler_ir(state, data, start, stop)(stage="optimized_hlo")

    def run():
        out = program.run(state, data, start, stop)
        out[1]["train_loss"].numpy()

    run()
    seconds_per_epoch = _best_of(run, 2) / epochs
    bodies = loop_traffic(hlo)
    main = max(bodies.values(), key=lambda b: b["bytes_per_iteration"])
    lay = stack.layout
    d, h, V, M = lay.n_features, lay.arch.width, lay.n_views, len(lay.slots)
    train_rows, val_rows = V * M * lay.n_rows, V * M * lay.n_val_rows
    forward = 2 * d * h + 2 * h if h else 2 * d
    backward = 2 * d * h + 4 * h if h else 2 * d  # weight gradients, and the hidden layer's
    flops = train_rows * (forward + backward) + val_rows * forward
    bw = max(peaks["bandwidth_bytes_per_s_xla"], peaks["bandwidth_bytes_per_s_numpy"])
    peak_flops = max(peaks["matmul_flops_per_s_tf"], peaks["matmul_flops_per_s_numpy"])
    bytes_per_epoch = main["bytes_per_iteration"]
    distinct = (stack.views.train_weight > 0).sum(axis=1) + (stack.views.val_weight > 0).sum(axis=1)
    return {
        "views": V,
        "slots": M,
        "padded_train_rows_per_view": lay.n_rows,
        "padded_validation_rows_per_view": lay.n_val_rows,
        "distinct_rows_per_view_mean": float(np.mean(distinct)),
        "member_rows_per_epoch": train_rows + val_rows,
        "loop_operations": main["operations"],
        "bytes_per_epoch": bytes_per_epoch,
        "bytes_per_member_row": bytes_per_epoch / (train_rows + val_rows),
        "seconds_per_epoch": seconds_per_epoch,
        "network_epochs_per_s": V * M / seconds_per_epoch,
        "achieved_bytes_per_s": bytes_per_epoch / seconds_per_epoch,
        "bandwidth_bound_seconds_per_epoch": bytes_per_epoch / bw,
        "time_over_bandwidth_bound": seconds_per_epoch / (bytes_per_epoch / bw),
        "dense_flops_per_epoch": flops,
        "achieved_dense_flops_per_s": flops / seconds_per_epoch,
        "fraction_of_matmul_peak": flops / seconds_per_epoch / peak_flops,
        "note": (
            "time: the compiled loop alone (no stack building or predictions); bytes: every "
            "operand and result of the compiled loop body (what XLA makes the memory system "
            "move, intermediates included); dense FLOPs: the two Dense layers, forward on "
            "every row and backward on training rows, padded rows included; the elementwise "
            "work of losses, metrics and ASTra (transcendentals) is not counted"
        ),
    }


# ----------------------------------------------------------------------------- scaling
def scale_rows(sizes, epochs: int) -> list[dict]:
    """Time per epoch on UCI skin subsamples (5 folds x 4 methods, no deduplication)."""
    full = load_dataset("uci-skin")
    out = []
    for n in sizes:
        rng = np.random.default_rng(n)
        rows = np.sort(rng.choice(full.y.size, size=min(n, full.y.size), replace=False))

        class Sub:
            X, y, info = full.X[rows], full.y[rows], full.info

        splits = astra_splits(Sub.y, n_repeats=1, random_state=0)
        members = astra_members(Sub, splits, epochs)
        kw = dict(deduplicate=False)
        train_members(Sub.X, Sub.y, members, **kw)
        t = _best_of(lambda m=members, s=Sub, k=kw: train_members(s.X, s.y, m, **k), 1)
        member_rows = sum(m.train.size + m.validation.size for m in members)
        plan = trainer_train.plan_stacks(members, n_features=Sub.X.shape[1])
        stack = build_stack(Sub.X, Sub.y, members, plan[0], deduplicate=False)
        out.append(
            {
                "rows": int(rows.size),
                "stacks": len(plan),
                "estimated_stack_bytes": trainer_train.estimate_stack_bytes(stack),
                "max_rss_bytes_so_far": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                "networks": len(members),
                "epochs": epochs,
                "seconds": t,
                "seconds_per_epoch": t / epochs,
                "ns_per_member_row": t / epochs / member_rows * 1e9,
                "network_epochs_per_s": len(members) * epochs / t,
            }
        )
        print(f"  rows {rows.size:7d}: {t / epochs * 1e3:8.2f} ms/epoch", flush=True)
    return out


def scale_members(dataset, fold_counts, epochs: int) -> list[dict]:
    """Network-epochs per second against the number of networks (skin-588 folds x 4)."""
    splits = astra_splits(dataset.y, n_repeats=10, random_state=0)
    out = []
    for f in fold_counts:
        members = astra_members(dataset, splits[:f], epochs)
        train_members(dataset.X, dataset.y, members)
        t = _best_of(lambda m=members: train_members(dataset.X, dataset.y, m), 1)
        out.append(
            {
                "networks": len(members),
                "epochs": epochs,
                "seconds": t,
                "seconds_per_epoch": t / epochs,
                "network_epochs_per_s": len(members) * epochs / t,
            }
        )
        print(f"  networks {len(members):4d}: {len(members) * epochs / t:9.0f} net-epochs/s")
    return out


def projection(epochs: int) -> dict:
    """Project the full ASTra protocol from measured units, one per dataset.

    A unit is what the experiment runner trains at once: one repeat, 5 folds x 4 methods.
    Its warm wall time is measured at ``short`` and ``short + epochs`` epochs; the
    difference gives the time per epoch, the rest the fixed cost of a call (building the
    stack, test predictions). A dataset is 10 units of 10,000 epochs plus one
    compilation (the cold run's extra time; later units reuse the program).
    """
    short = 20
    rows, total = [], 0.0
    for name in ASTRA_DATASETS:
        data = load_dataset(name, random_state=0)
        splits = astra_splits(data.y, n_repeats=1, random_state=0)
        few = astra_members(data, splits, short)
        many = astra_members(data, splits, short + epochs)
        t0 = time.perf_counter()
        train_members(data.X, data.y, few)
        cold = time.perf_counter() - t0
        t_few = _best_of(lambda m=few, d=data: train_members(d.X, d.y, m), 2)
        t_many = _best_of(lambda m=many, d=data: train_members(d.X, d.y, m), 1)
        per_epoch = max(t_many - t_few, 1e-9) / epochs
        fixed = max(t_few - short * per_epoch, 0.0)
        compile_s = max(cold - t_few, 0.0)
        unit = fixed + per_epoch * PROTOCOL_EPOCHS
        dataset_s = PROTOCOL_REPEATS * unit + compile_s
        total += dataset_s
        networks = len(few)
        rows.append(
            {
                "dataset": name,
                "rows": int(data.y.size),
                "features": int(data.X.shape[1]),
                "networks_per_unit": networks,
                "measured_epochs": [short, short + epochs],
                "seconds_per_epoch": per_epoch,
                "fixed_seconds_per_unit": fixed,
                "compile_seconds": compile_s,
                "network_epochs_per_s": networks / per_epoch,
                "projected_unit_seconds": unit,
                "projected_dataset_seconds": dataset_s,
            }
        )
        print(
            f"  {name:10s}: {networks / per_epoch:7.0f} net-epochs/s, "
            f"full dataset {dataset_s / 60:6.1f} min (projected)",
            flush=True,
        )
    return {
        "per_dataset": rows,
        "projected_protocol_seconds": total,
        "projected_protocol_minutes": total / 60,
        "network_epochs": len(ASTRA_DATASETS)
        * PROTOCOL_REPEATS
        * ASTRA.folds
        * len(METHODS)
        * PROTOCOL_EPOCHS,
        "method": "warm time of one runner unit (5 folds x 4 methods) at two epoch counts: "
        "per-epoch time and fixed cost, scaled to 10,000 epochs x 10 repeats, plus one "
        "compilation per dataset",
    }


def full_run(dataset: str) -> dict:
    """A real full single-dataset ASTra run through the command line."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "cmloss.experiments",
            "run",
            "astra",
            "--full",
            "--datasets",
            dataset,
            "--out",
            tmp,
            "--no-progress",
        ]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        seconds = time.perf_counter() - t0
        rows = sum(1 for _ in open(Path(tmp) / "results.csv")) - 1
    return {
        "dataset": dataset,
        "command": " ".join(cmd[1:]),
        "seconds": seconds,
        "minutes": seconds / 60,
        "fold_results": rows,
        "network_epochs": 2_000_000,
    }


# ----------------------------------------------------------------------------- main
def provenance_header() -> dict:
    """The start of a benchmark report: command, start time, machine, package versions,
    git commit and ``XLA_FLAGS``."""
    return {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "started_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "versions": package_versions(),
        "git": git_commit(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller figures, ~3 minutes")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "trainer_benchmark.json"
    )
    parser.add_argument(
        "--full-run",
        metavar="DATASET",
        help="also time a full single-dataset ASTra run (about 2M net-epochs)",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    t_start = time.perf_counter()
    report = provenance_header()
    print("peaks ...", flush=True)
    peaks = measure_peaks(quick)
    report["peaks"] = peaks

    skin = load_dataset("skin-588")
    folds, epochs, keras_epochs = (8, 100, 40) if quick else (20, 300, 100)
    splits = astra_splits(skin.y, n_repeats=10, random_state=0)
    work = astra_members(skin, splits[:folds], epochs)
    print(f"trainer: {len(work)} networks x {epochs} epochs ...", flush=True)
    trainer = trainer_run(skin, work)
    sample = astra_members(skin, splits[:1], keras_epochs)
    print(f"keras fit loop: {len(sample)} networks x {keras_epochs} epochs ...", flush=True)
    keras = keras_loop(skin, sample)
    report["workload"] = {
        "dataset": "skin-588",
        "methods": list(METHODS),
        "network": "ASTra paper: Dense(ceil((3+1)/2)=2, LeakyReLU 0.3) -> Dense(1) -> "
        "sigmoid or ASTra; Adam 0.001; adaptive slope rate; validation FNR_apx every "
        "epoch; best-on-validation",
        "folds_trainer": folds,
        "folds_keras_sample": 1,
    }
    report["keras"] = keras
    report["trainer"] = trainer
    report["speedup_warm"] = trainer["network_epochs_per_s_warm"] / keras["network_epochs_per_s"]
    report["speedup_cold"] = trainer["network_epochs_per_s_cold"] / keras["network_epochs_per_s"]
    print(
        f"  keras {keras['network_epochs_per_s']:.1f} net-epochs/s, trainer "
        f"{trainer['network_epochs_per_s_warm']:.0f} (warm) / "
        f"{trainer['network_epochs_per_s_cold']:.0f} (cold): x{report['speedup_warm']:.0f}"
    )

    print("roofline ...", flush=True)
    report["roofline"] = roofline(skin, work, peaks)

    print("scaling with rows (UCI skin) ...", flush=True)
    sizes = (2_000, 16_000, 64_000) if quick else (2_000, 8_000, 32_000, 128_000, 245_057)
    report["scaling_rows"] = scale_rows(sizes, 10 if quick else 20)
    print("scaling with networks (skin-588) ...", flush=True)
    counts = (1, 5, 20) if quick else (1, 5, 10, 25, 50)
    report["scaling_networks"] = scale_members(skin, counts, 50 if quick else 100)
    print("ASTra protocol projection ...", flush=True)
    report["astra_projection"] = projection(60 if quick else 300)
    if args.full_run:
        print(f"full {args.full_run} run ...", flush=True)
        report["full_single_dataset_run"] = full_run(args.full_run)
    report["wall_seconds"] = time.perf_counter() - t_start
    try:
        report["load_average_end"] = list(os.getloadavg())
    except OSError:
        pass
    atomic_write_json(args.out, report)
    rl = report["roofline"]
    print(
        f"\nKeras fit loop {keras['network_epochs_per_s']:.1f} net-epochs/s; trainer "
        f"{trainer['network_epochs_per_s_warm']:.0f} (x{report['speedup_warm']:.0f}); "
        f"ASTra protocol projected "
        f"{report['astra_projection']['projected_protocol_minutes']:.0f} min; "
        f"time / bandwidth bound {rl.get('time_over_bandwidth_bound', float('nan')):.2f}; "
        f"written {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
