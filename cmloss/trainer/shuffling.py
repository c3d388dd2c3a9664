"""Deterministic per-member mini-batch order, identical in a compiled graph and on the host.

In epoch ``e`` a member with seed ``s`` visits its ``n`` training rows in the order of
the keys ``fmix32(j XOR h(s, e))`` for ``j = 0..n-1`` (``fmix32``: MurmurHash3's 32-bit
finaliser, a bijection, so keys never tie), then cuts that order into consecutive batches
of ``batch_size`` rows, the last one possibly smaller (Keras' convention). Only integer
operations are involved, so the order is bit-for-bit the same under XLA, in eager
TensorFlow and in :func:`batch_order`, which feeds the same batches to a Keras ``fit``.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

__all__ = ["epoch_permutation", "batch_order"]

_MASK = 0xFFFFFFFF


def _fmix32(h):
    """MurmurHash3 finaliser on int64 tensors holding 32-bit values."""
    h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 16))
    h = tf.bitwise.bitwise_and(h * 0x85EBCA6B, _MASK)
    h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 13))
    h = tf.bitwise.bitwise_and(h * 0xC2B2AE35, _MASK)
    return tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 16))


def epoch_permutation(seeds, epoch, n_rows, length: int):
    """Row positions of every member in one epoch.

    Args:
        seeds: per-member seeds, int64 tensor of any shape ``S``.
        epoch: the epoch (int64 scalar).
        n_rows: per-member number of training rows, int64, shape ``S``.
        length: static length ``T >= max(n_rows)``.

    Returns:
        int32 tensor of shape ``S + (T,)``: positions ``0..n-1`` in visiting order, then
        ``n..T-1`` (padding).
    """
    seeds = tf.bitwise.bitwise_and(tf.cast(seeds, tf.int64), _MASK)
    epoch = tf.bitwise.bitwise_and(tf.cast(epoch, tf.int64), _MASK)
    salt = _fmix32(tf.bitwise.bitwise_xor(_fmix32(seeds), _fmix32(epoch ^ 0x5BD1E995)))
    j = tf.range(length, dtype=tf.int64)
    keys = _fmix32(tf.bitwise.bitwise_xor(j, salt[..., None]))
    pad = j >= tf.cast(n_rows, tf.int64)[..., None]
    keys = tf.where(pad, (1 << 32) + j, keys)
    return tf.cast(tf.argsort(keys, axis=-1, stable=True), tf.int32)


def batch_order(train_rows: np.ndarray, seed: int, epoch: int, batch_size: int) -> list[np.ndarray]:
    """The batches (as row indices) a member with these settings visits in ``epoch``.

    Args:
        train_rows: the member's training rows (positions refer to this order).
        seed: the member's shuffle seed.
        epoch: epoch number, from 0.
        batch_size: rows per batch.

    Returns:
        ``ceil(n / batch_size)`` arrays of row indices.
    """
    train_rows = np.asarray(train_rows)
    n = train_rows.size
    perm = epoch_permutation(
        tf.constant(seed, tf.int64), tf.constant(epoch, tf.int64), tf.constant(n, tf.int64), n
    ).numpy()
    return [train_rows[perm[i : i + batch_size]] for i in range(0, n, batch_size)]
