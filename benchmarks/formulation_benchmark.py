"""Benchmark: the trainer's forward pass on shared rows against the formulations it beat.

Run from the repository root (``CMLOSS_DATA`` pointing at the data folder)::

    python benchmarks/formulation_benchmark.py                      # ~6 minutes on 2 cores
    python benchmarks/formulation_benchmark.py --datasets cod-763   # ~2 minutes

For the ``M`` slots of a view (networks on the same rows),
``cmloss.trainer.networks.merged_slots`` computes the hidden layer of all slots as one
matmul with ``M * h`` columns and the output unit as a reduce over ``h``. This script
times it, in one process and on the same networks (one unit of the ASTra experiment's
runner: one repeat, 5 folds x 4 methods, the runner's own member construction), against
the alternatives measured while building the trainer, each passed to
``train_members(formulation=...)``:

``per-slot``
    ``M`` matmuls with ``h`` columns, one per slot;
``rows-minor``
    hidden activations laid out ``(V, M * h, N)`` (rows contiguous per unit);
``block-diagonal``
    the output layer as one matmul with a block-diagonal ``(M * h, M)`` kernel;
``elementwise``
    the hidden layer as an unrolled sum over the ``d`` features (elementwise operations
    that XLA may fuse with the activation and the output reduce).

Every variant is compiled once; then rounds interleave the variants (so that a slow spell
of a shared machine hits all of them) and each keeps its best time at ``short`` and at
``short + epochs`` epochs; the difference gives the warm time per epoch. It prints
network-epochs per second and the ratio of each variant's time per epoch to the
library's, and checks that every variant trains the same networks (largest difference of
test scores from the library's: float summation order only). Figures go to
``benchmarks/results/formulation_benchmark.json`` (``--out`` to change) with provenance.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))

from trainer_benchmark import astra_members, provenance_header  # noqa: E402

from cmloss.data import load_dataset  # noqa: E402
from cmloss.experiments.storage import atomic_write_json  # noqa: E402
from cmloss.protocols import astra_splits  # noqa: E402
from cmloss.trainer import networks, train_members  # noqa: E402

LIBRARY = networks.merged_slots


def _mlp(params, arch):
    if arch.kind != "mlp":
        raise ValueError(f"the variants are written for the 'mlp' family; got {arch.kind!r}")
    return params["hidden_kernel"].shape  # (V, M, d, h)


def per_slot(params, x, arch):
    V, M, d, h = _mlp(params, arch)
    out = []
    for m in range(M):
        z = tf.einsum("vnd,vdh->vnh", x, params["hidden_kernel"][:, m])
        a = keras.ops.leaky_relu(z + params["hidden_bias"][:, m, None, :], arch.negative_slope)
        o = tf.reduce_sum(a * params["output_kernel"][:, m, None, :, 0], axis=-1)
        out.append(o + params["output_bias"][:, m, None, 0])
    return out


def rows_minor(params, x, arch):
    V, M, d, h = _mlp(params, arch)
    kernel = tf.reshape(tf.transpose(params["hidden_kernel"], [0, 1, 3, 2]), (V, M * h, d))
    z = tf.einsum("vkd,vnd->vkn", kernel, x) + tf.reshape(params["hidden_bias"], (V, M * h, 1))
    a = tf.reshape(keras.ops.leaky_relu(z, arch.negative_slope), (V, M, h, -1))
    o = tf.reduce_sum(a * params["output_kernel"], axis=2) + params["output_bias"]
    return [o[:, m] for m in range(M)]


def block_diagonal(params, x, arch):
    V, M, d, h = _mlp(params, arch)
    z = networks.merged_dense(x, params["hidden_kernel"], params["hidden_bias"])
    a = keras.ops.leaky_relu(z, arch.negative_slope)
    w = params["output_kernel"][..., 0]  # (V, M, h)
    kernel = tf.reshape(w[:, :, :, None] * tf.eye(M)[None, :, None, :], (V, M * h, M))
    o = tf.einsum("vnk,vkm->vnm", a, kernel) + params["output_bias"][:, None, :, 0]
    return [o[:, :, m] for m in range(M)]


def elementwise(params, x, arch):
    V, M, d, h = _mlp(params, arch)
    kernel = tf.reshape(tf.transpose(params["hidden_kernel"], [0, 2, 1, 3]), (V, d, M * h))
    z = tf.reshape(params["hidden_bias"], (V, 1, M * h))
    for j in range(d):
        z = z + x[:, :, j : j + 1] * kernel[:, None, j, :]
    return networks.merged_output_unit(keras.ops.leaky_relu(z, arch.negative_slope), params)


VARIANTS = {
    "library": LIBRARY,
    "per-slot": per_slot,
    "rows-minor": rows_minor,
    "block-diagonal": block_diagonal,
    "elementwise": elementwise,
}


def _timed(data, members, variant: str) -> tuple[float, list]:
    t0 = time.perf_counter()
    results = train_members(data.X, data.y, members, formulation=VARIANTS[variant])
    return time.perf_counter() - t0, results


def compare(name: str, short: int, epochs: int, rounds: int) -> dict:
    """All variants on one runner unit of ``name``: warm seconds per epoch and agreement."""
    data = load_dataset(name, random_state=0)
    splits = astra_splits(data.y, n_repeats=1, random_state=0)
    few, many = astra_members(data, splits, short), astra_members(data, splits, short + epochs)
    scores, compile_s = {}, {}
    for variant in VARIANTS:  # each compiles its own programs (kept for the rounds)
        cold, _ = _timed(data, few, variant)
        warm, _ = _timed(data, few, variant)
        compile_s[variant] = max(cold - warm, 0.0)
    best = {v: [float("inf"), float("inf")] for v in VARIANTS}
    for r in range(rounds):
        for variant in VARIANTS:
            t_few, _ = _timed(data, few, variant)
            t_many, results = _timed(data, many, variant)
            best[variant] = [min(best[variant][0], t_few), min(best[variant][1], t_many)]
            scores[variant] = np.concatenate([m.test_scores for m in results])
        print(f"  {name}: round {r + 1}/{rounds} done", flush=True)
    rows = []
    per_epoch = {v: max(t[1] - t[0], 1e-9) / epochs for v, t in best.items()}
    for variant in VARIANTS:
        rows.append(
            {
                "variant": variant,
                "seconds_per_epoch": per_epoch[variant],
                "network_epochs_per_s": len(few) / per_epoch[variant],
                "time_over_library": per_epoch[variant] / per_epoch["library"],
                "compile_seconds": compile_s[variant],
                "max_abs_test_score_difference": float(
                    np.max(np.abs(scores[variant] - scores["library"]))
                ),
            }
        )
    return {
        "dataset": name,
        "rows": int(data.y.size),
        "features": int(data.X.shape[1]),
        "hidden": int(few[0].architecture.hidden),
        "networks": len(few),
        "measured_epochs": [short, short + epochs],
        "rounds": rounds,
        "variants": rows,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["skin-588", "cod-763", "ijcnn-971"])
    parser.add_argument("--epochs", type=int, default=200, help="epochs between the two timings")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).parent / "results" / "formulation_benchmark.json",
    )
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.rounds < 1:
        parser.error(f"--epochs and --rounds must be >= 1; got {args.epochs}, {args.rounds}")
    t_start = time.perf_counter()
    report = {
        **provenance_header(),
        "method": "warm time per epoch: best of the interleaved rounds at two epoch counts, "
        "difference divided by the epochs between them",
        "datasets": [],
    }
    for name in args.datasets:
        print(f"{name} ...", flush=True)
        result = compare(name, 20, args.epochs, args.rounds)
        report["datasets"].append(result)
        print(
            f"  {name} ({result['rows']} rows, d={result['features']}, h={result['hidden']}, "
            f"{result['networks']} networks)"
        )
        for row in result["variants"]:
            print(
                f"    {row['variant']:15s} {row['seconds_per_epoch'] * 1e3:7.2f} ms/epoch "
                f"{row['network_epochs_per_s']:7.0f} net-epochs/s  "
                f"x{row['time_over_library']:.2f} the library's time  "
                f"max|score diff| {row['max_abs_test_score_difference']:.1e}",
                flush=True,
            )
    report["wall_seconds"] = time.perf_counter() - t_start
    atomic_write_json(args.out, report)
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
