"""The method registry is the one record of each method (name, label, colour, family,
settings, description) that tables, figures, benchmarks and ``list`` read; the registry
and the experiments' definitions load without TensorFlow, so ``list`` is instant; the
colours of methods shown together are far apart."""

from __future__ import annotations

import contextlib
import io
import itertools
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cmloss.experiments import definitions, methods
from cmloss.experiments.methods import METHODS, EstimatorMethod, NetworkMethod, register_method

ROOT = Path(__file__).resolve().parents[1]


def _run(code: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, *code], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300, check=True)


# ----------------------------------------------------------------------- no TensorFlow
def test_list_imports_no_tensorflow_and_shows_every_record():
    """``python -m cmloss.experiments list`` loads neither TensorFlow nor Keras
    (``-X importtime`` names every module imported), and prints what the registry holds
    once everything is loaded."""
    done = _run(["-X", "importtime", "-m", "cmloss.experiments", "list"])
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")}
    assert "cmloss.experiments.methods" in imported
    assert not {m for m in imported if m.split(".")[0] in ("tensorflow", "keras", "jax")}
    import cmloss.trainer.train  # noqa: F401  (everything loaded in this process)
    from cmloss.experiments.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["list"]) == 0
    assert done.stdout == out.getvalue()
    for name, method in METHODS.items():
        assert f"  {name:30s} [{method.kind}] {method.description}\n" in done.stdout


def test_import_cmloss_is_lazy_and_every_public_name_loads():
    code = ("import sys, cmloss, cmloss.trainer, cmloss.experiments, cmloss.plotting, "
            "cmloss.experiments.definitions; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))")
    assert _run(["-c", code]).stdout.strip() == "[]"
    import cmloss.experiments
    import cmloss.trainer

    for package in (cmloss, cmloss.trainer, cmloss.experiments):
        for name in package.__all__:
            assert getattr(package, name) is not None, (package.__name__, name)
            assert name in dir(package)
    assert cmloss.losses.GMN.__module__ == "cmloss.losses"
    from cmloss import METRICS, callbacks, evaluate  # noqa: F401
    from cmloss.trainer import optim  # a submodule, not a re-exported name  # noqa: F401

    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        cmloss.nothing  # noqa: B018


def test_using_one_keras_name_registers_every_cmloss_keras_object():
    code = ("import keras, cmloss; cmloss.evaluate; "
            "print(keras.saving.get_registered_object('cmloss>BestOnValidation'), "
            "keras.saving.get_registered_object('cmloss>GMN'))")
    out = _run(["-c", code]).stdout
    assert "cmloss.callbacks.BestOnValidation" in out and "cmloss.losses.GMN" in out


# ----------------------------------------------------------------------- the records
def test_descriptions_state_the_loss_the_settings_build():
    from cmloss.experiments.methods import Context

    ctx = Context("skin-588", 3)
    for name in (*methods.methods_of("astra-paper"), *methods.methods_of("extension")):
        settings = METHODS[name].settings(ctx)
        assert f"{settings['loss'].label} loss, {settings['output']} output" in \
            METHODS[name].description
    for loss in methods.ANYLOSS_LOSS_NAMES:
        for arch in ("slp", "mlp"):
            record = METHODS[f"{arch}-{loss}"]
            assert record.family == "anyloss-paper" and f": {loss}," in record.description
            assert record.settings(ctx)["loss"] == methods.ANYLOSS_LOSSES[loss]


def test_a_label_has_one_colour_and_records_are_checked():
    assert METHODS["slp-bce"].colour == METHODS["mlp-bce"].colour == METHODS["bce"].colour
    assert METHODS["mlp-anyloss-g_mean"].colour == METHODS["anyloss-gmean"].colour
    for record in METHODS.values():
        assert record.label and record.colour.startswith("#") and record.family
    labels = {}
    for record in METHODS.values():
        assert labels.setdefault(record.label, record.colour) == record.colour
    assert len(set(labels.values())) == len(labels)  # one colour per label

    def fit_predict(fold):
        raise AssertionError("not called")

    with pytest.raises(ValueError, match=r"label 'GMN' already has colour #d55e00"):
        register_method(EstimatorMethod("my-gmn", fit_predict, label="GMN", colour="#000000"))
    with pytest.raises(ValueError, match=r"family must be one of"):
        NetworkMethod("x", dict, family="mine")
    with pytest.raises(ValueError, match=r"colour must be a lower-case hex code"):
        NetworkMethod("x", dict, colour="red")
    try:
        same = register_method(EstimatorMethod("my-gmn", fit_predict, label="GMN"))
        other = register_method(EstimatorMethod("my-method", fit_predict))
        assert same.colour == METHODS["gmn"].colour and other.label == "my-method"
        from cmloss.plotting import METHOD_COLORS, fallback_color, method_color

        assert METHOD_COLORS["my-method"] == other.colour == fallback_color("my-method")
        assert method_color("gmn-astra") == method_color("GMN-ASTra") == "#ffc000"
    finally:
        METHODS.pop("my-gmn", None)
        METHODS.pop("my-method", None)


def test_tables_and_benchmarks_read_the_registry():
    from cmloss.stats import reports

    astra = definitions.EXPERIMENTS["astra"]["full"].methods
    assert list(reports.ASTRA_LABELS) == list(astra)
    assert reports.ASTRA_LABELS["gmn-astra"] == METHODS["gmn-astra"].label == "GMN-ASTra"
    assert reports.ANYLOSS_LABELS["bce-undersampling"] == "BCE+RUS"
    assert methods.methods_of("astra-paper") == ("bce", "gmn", "bce-astra", "gmn-astra")
    text = (ROOT / "benchmarks" / "trainer_benchmark.py").read_text()
    assert 'METHODS = methods_of("astra-paper")' in text


# ----------------------------------------------------------------------- colours
def _lab(colour: str) -> tuple[float, float, float]:
    """sRGB hex -> CIELAB (D65)."""
    rgb = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb)
    xyz = (
        (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047,
        0.2126729 * r + 0.7151522 * g + 0.0721750 * b,
        (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883,
    )
    fx, fy, fz = (t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29
                  for t in xyz)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def ciede2000(lab1, lab2) -> float:
    """The CIEDE2000 colour difference (Sharma, Wu and Dalal, 2005)."""
    (L1, a1, b1), (L2, a2, b2) = lab1, lab2
    C = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    G = 0.5 * (1 - math.sqrt(C**7 / (C**7 + 25**7)))
    a1, a2 = (1 + G) * a1, (1 + G) * a2
    C1, C2 = math.hypot(a1, b1), math.hypot(a2, b2)
    h1 = math.degrees(math.atan2(b1, a1)) % 360 if C1 else 0.0
    h2 = math.degrees(math.atan2(b2, a2)) % 360 if C2 else 0.0
    dh = 0.0 if C1 * C2 == 0 else (h2 - h1 + 180) % 360 - 180
    dH = 2 * math.sqrt(C1 * C2) * math.sin(math.radians(dh / 2))
    Lm, Cm = (L1 + L2) / 2, (C1 + C2) / 2
    if C1 * C2 == 0:
        hm = h1 + h2
    elif abs(h1 - h2) <= 180:
        hm = (h1 + h2) / 2
    else:
        hm = (h1 + h2 + 360) / 2 if h1 + h2 < 360 else (h1 + h2 - 360) / 2
    T = (1 - 0.17 * math.cos(math.radians(hm - 30)) + 0.24 * math.cos(math.radians(2 * hm))
         + 0.32 * math.cos(math.radians(3 * hm + 6)) - 0.20 * math.cos(math.radians(4 * hm - 63)))
    SL = 1 + 0.015 * (Lm - 50) ** 2 / math.sqrt(20 + (Lm - 50) ** 2)
    SC, SH = 1 + 0.045 * Cm, 1 + 0.015 * Cm * T
    RT = (-2 * math.sqrt(Cm**7 / (Cm**7 + 25**7))
          * math.sin(math.radians(60 * math.exp(-(((hm - 275) / 25) ** 2)))))
    dL, dC = (L2 - L1) / SL, (C2 - C1) / SC
    return math.sqrt(dL**2 + dC**2 + (dH / SH) ** 2 + RT * dC * (dH / SH))


def test_ciede2000_matches_sharma_et_al():
    for lab1, lab2, expected in [
        ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
        ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
        ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
        ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
        ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
    ]:
        assert ciede2000(lab1, lab2) == pytest.approx(expected, abs=1e-4)


FIGURE_SETS = {
    # labels drawn together (the experiment chapters plot all methods of an experiment)
    "astra": (30.0, definitions.EXPERIMENTS["astra"]["full"].methods),
    "hd40": (30.0, definitions.EXPERIMENTS["hd40"]["full"].methods),
    "anyloss": (20.0, tuple(f"slp-{loss}" for loss in methods.ANYLOSS_LOSS_NAMES)),
    # chapter 7's baselines beside the ASTra experiment's methods (13 colours)
    "baselines": (20.0, (*definitions.EXPERIMENTS["astra"]["full"].methods,
                         *methods.methods_of("baseline"))),
}


@pytest.mark.parametrize("experiment", sorted(FIGURE_SETS))
def test_methods_drawn_together_have_distinct_colours(experiment):
    """Every two methods of an experiment differ by at least 30 (ASTra, 7 methods) or 20
    (AnyLoss, 15 losses) CIEDE2000 units: the ASTra chapter's palette had GMN and
    GMN-ASTra 17 apart (vermillion and orange), hard to tell apart in a legend."""
    minimum, names = FIGURE_SETS[experiment]
    labels = {METHODS[n].label: METHODS[n].colour for n in names}
    closest = min(
        (ciede2000(_lab(labels[a]), _lab(labels[b])), a, b)
        for a, b in itertools.combinations(labels, 2)
    )
    assert closest[0] >= minimum, closest
