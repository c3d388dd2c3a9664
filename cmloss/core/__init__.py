"""The mathematics of cmloss, backend-agnostic (``keras.ops`` only).

- :mod:`~cmloss.core.soft_steps`: scores to soft predictions (identity, AnyLoss
  amplification, SOL cosine threshold distribution), and amplification saturation;
- :mod:`~cmloss.core.confusion`: the (soft) confusion matrix of a batch;
- :mod:`~cmloss.core.cm_metrics`: every metric of a confusion matrix, defined once;
- :mod:`~cmloss.core.astra`: the ASTra activation, its threshold, slope and z-transform.
"""
