"""The first networks of the course notes: the properties the notes state, measured."""

from __future__ import annotations

import json

import numpy as np
import pytest

import keras_blueprints as kb
from keras_blueprints.data import make_datasets
from keras_blueprints.layers.threshold import HopfieldNet, ThresholdUnit
from keras_blueprints.training.rules.hopfield import hebbian_storage
from keras_blueprints.training.run import train

BITS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")


def _train(name, tmp_path, overrides=()):
    return train(f"zoo:{name}", list(overrides), run_dir=tmp_path / name, verbose=0)


def _arrays(bp, model, split="train"):
    data = getattr(make_datasets(bp, seed=0, model=model), split)
    xs, ys = zip(*data.as_numpy_iterator(), strict=True)
    x = np.concatenate([next(iter(x.values())) if isinstance(x, dict) else x for x in xs])
    return x, np.concatenate(ys)


# -- McCulloch-Pitts ---------------------------------------------------------------


def test_mcculloch_pitts_units_compute_and_or_not():
    model = kb.build("zoo:mcculloch_pitts")
    out = model.predict(BITS, verbose=0)
    a, b = BITS[:, 0].astype(bool), BITS[:, 1].astype(bool)
    np.testing.assert_array_equal(out[:, 0], a & b)
    np.testing.assert_array_equal(out[:, 1], a | b)
    np.testing.assert_array_equal(out[:, 2], ~a)


def test_no_single_threshold_unit_computes_xor():
    grid = np.arange(-3.0, 3.01, 0.25)
    w1, w2, theta = (g.ravel() for g in np.meshgrid(grid, grid, grid, indexing="ij"))
    fires = (BITS @ np.stack([w1, w2]) - theta >= 0).T  # (units, 4 rows)
    truth = {
        "and": [0, 0, 0, 1],
        "or": [0, 1, 1, 1],
        "nand": [1, 1, 1, 0],
        "xor": [0, 1, 1, 0],
        "xnor": [1, 0, 0, 1],
    }
    found = {gate: int((fires == np.array(t, bool)).all(axis=1).sum()) for gate, t in truth.items()}
    assert found["and"] > 0 and found["or"] > 0 and found["nand"] > 0  # the grid is rich enough
    assert found["xor"] == 0 and found["xnor"] == 0
    # The layer is the formula: a sample of the grid's units agrees with it.
    for k in range(0, len(w1), 997):
        unit = ThresholdUnit([float(w1[k]), float(w2[k])], float(theta[k]))
        np.testing.assert_array_equal(np.asarray(unit(BITS))[:, 0], fires[k])


def test_xor_is_not_linearly_separable():
    from scipy.optimize import linprog

    # Find w1, w2, theta with w.x - theta >= 0 where XOR fires and <= -1 where it does not.
    xor = np.array([0, 1, 1, 0])
    rows = np.hstack([BITS, -np.ones((4, 1))])
    signs = np.where(xor == 1, -1.0, 1.0)[:, None]
    bounds = np.where(xor == 1, 0.0, -1.0)
    result = linprog(np.zeros(3), A_ub=signs * rows, b_ub=bounds, bounds=[(None, None)] * 3)
    assert result.status == 2  # infeasible
    # The same program finds AND (the test can fail).
    and_ = np.array([0, 0, 0, 1])
    signs = np.where(and_ == 1, -1.0, 1.0)[:, None]
    result = linprog(
        np.zeros(3),
        A_ub=signs * rows,
        b_ub=np.where(and_ == 1, 0.0, -1.0),
        bounds=[(None, None)] * 3,
    )
    assert result.status == 0


# -- Hebbian memory ----------------------------------------------------------------


def test_hebbian_memory_recalls_orthogonal_pairs_exactly(tmp_path):
    result = _train("hebbian_memory", tmp_path)
    bp = kb.load("zoo:hebbian_memory")
    keys, values = _arrays(bp, result.model)
    assert keys.shape == (8, 16)
    np.testing.assert_array_equal(result.model.predict(keys, verbose=0), values)
    # The weights are Hebb's sum, eps * sum_k x^k (y^k)^T, exactly.
    kernel = result.model.get_layer("memory").kernel.numpy()
    np.testing.assert_allclose(kernel, 0.1 * keys.T @ values, rtol=1e-6)
    assert result.metrics["train"]["Accuracy"] == 1.0


def test_hebbian_memory_with_random_keys_suffers_crosstalk(tmp_path):
    overrides = ["params.pairs=16", "data.source.pattern_pairs.keys=random"]
    result = _train("hebbian_memory", tmp_path, overrides)
    assert result.metrics["train"]["Accuracy"] < 1.0


def test_plain_hebb_uses_the_units_own_output(tmp_path):
    overrides = [
        "train.rule={hebbian: {rate: 0.1, post: output}}",
        "graph.0.Dense.kernel_initializer=ones",
    ]
    result = _train("hebbian_memory", tmp_path, overrides)
    keys, _ = _arrays(kb.load("zoo:hebbian_memory"), result.model)
    first = np.where(keys @ np.ones((16, 8)) >= 0, 1.0, -1.0)  # what the units answered
    kernel = result.model.get_layer("memory").kernel.numpy()
    np.testing.assert_allclose(kernel, 1.0 + 0.1 * keys.T @ first, rtol=1e-6)


# -- Perceptron --------------------------------------------------------------------


def test_perceptron_converges_within_the_novikoff_bound(tmp_path):
    result = _train("perceptron", tmp_path)
    bp = kb.load("zoo:perceptron")
    x, t = _arrays(bp, result.model)
    extended = np.hstack([x, np.ones((len(x), 1))])
    radius = np.linalg.norm(extended, axis=1).max()
    u = np.array([1.0, 1.0, 0.0]) / np.sqrt(2.0)  # the source's separator, a unit vector
    gamma = ((2 * t[:, 0] - 1) * (extended @ u)).min()
    assert gamma >= 0.2
    updates = result.history["updates"]
    assert updates[-1] == 0 and all(n > 0 for n in updates[:-1])  # stopped once converged
    assert sum(updates) <= (radius / gamma) ** 2
    assert len(updates) < bp.train.epochs
    assert result.metrics["train"]["binary_accuracy"] == 1.0
    np.testing.assert_array_equal(result.model.predict(x, verbose=0), t)


def test_perceptron_with_the_notes_normalised_rate_converges_from_any_start(tmp_path):
    overrides = [
        "train.rule={perceptron: {normalised: true}}",
        "graph.0.Dense.kernel_initializer=ones",
        "graph.0.Dense.bias_initializer=ones",
    ]
    result = _train("perceptron", tmp_path, overrides)
    assert result.history["updates"][-1] == 0 and result.history["updates"][0] > 0
    assert result.metrics["train"]["binary_accuracy"] == 1.0


@pytest.mark.parametrize(
    "data",
    [
        "{logic: {gates: [xor], copies: 4}}",
        "{spirals: {points_per_class: 100}}",
    ],
)
def test_perceptron_never_converges_on_xor_or_spirals(tmp_path, data):
    overrides = [f"data.source={data}", "train.epochs=30"]
    result = _train("perceptron", tmp_path, overrides)
    updates = result.history["updates"]
    assert len(updates) == 30 and min(updates) > 0  # a mistake in every epoch
    assert result.metrics["train"]["binary_accuracy"] < 1.0


# -- Hopfield ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def hopfield_run(tmp_path_factory):
    return _train("hopfield", tmp_path_factory.mktemp("hopfield"))


def test_hopfield_recalls_digits_from_corrupted_copies(hopfield_run):
    bp = kb.load("zoo:hopfield")
    noisy, clean = _arrays(bp, hopfield_run.model, "test")
    assert noisy.shape == (30, 64) and (noisy != clean).sum(axis=1).min() == 6
    np.testing.assert_array_equal(hopfield_run.model.predict(noisy, verbose=0), clean)
    stored, _ = _arrays(bp, hopfield_run.model)
    memory = hopfield_run.model.get_layer("network").memory.numpy()
    np.testing.assert_allclose(memory, hebbian_storage(np.unique(stored, axis=0)), atol=1e-6)
    assert np.allclose(memory, memory.T) and not np.diag(memory).any()


def test_hopfield_energy_never_increases_along_asynchronous_updates(hopfield_run):
    layer = hopfield_run.model.get_layer("network")
    assert isinstance(layer, HopfieldNet)
    rng = np.random.default_rng(1)
    states = rng.choice([-1.0, 1.0], size=(8, 64)).astype("float32")  # far from any memory
    start = states
    energies = [np.asarray(layer.energy(states))]
    flips = 0
    for k in range(2 * 64):  # two sweeps, one unit (k mod 64) at a time
        after = np.asarray(layer.run(states, 1, start=k))
        assert (after != states).sum(axis=1).max() <= 1  # one unit at most
        flips += int((after != states).sum())
        states = after
        energies.append(np.asarray(layer.energy(states)))
    steps = np.diff(np.stack(energies), axis=0)
    assert flips > 8 and (steps <= 1e-5).all()
    assert (steps < -1e-3).any()
    np.testing.assert_array_equal(states, np.asarray(layer.run(start, 2 * 64)))  # the same path


def test_hopfield_recall_fails_past_capacity(tmp_path):
    def recall(count: int) -> float:
        source = f"{{memories: {{patterns: random, count: {count}, flip: 0.1, copies: 3}}}}"
        overrides = ["params.units=100", f"data.source={source}"]
        result = train("zoo:hopfield", overrides, run_dir=tmp_path / str(count), verbose=0)
        return result.metrics["test"]["Accuracy"]

    assert recall(5) == 1.0  # load 0.05
    assert recall(30) < 0.9  # load 0.30, past 0.14
    saved = json.loads((tmp_path / "30" / "metrics.json").read_text())
    assert saved["test"]["Accuracy"] < 0.9
