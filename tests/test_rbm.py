"""RBMs, contrastive divergence, the DBN autoencoder and the linear autoencoder's PCA subspace."""

from __future__ import annotations

import json
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError, Location
from keras_blueprints.cli import main
from keras_blueprints.data import make_datasets
from keras_blueprints.layers.rbm import RBM
from keras_blueprints.resolve.schema import PretrainSpec
from keras_blueprints.training.fit import fit_blueprint
from keras_blueprints.training.pretrain import pretrain_layerwise
from keras_blueprints.training.rules.cd import ContrastiveDivergence, reconstruction_error
from keras_blueprints.views import plain

WHERE = Location("dbn.yaml", 40, 5)


def _digits(count: int = 512) -> np.ndarray:
    from sklearn.datasets import load_digits

    return (load_digits().data[:count] / 16.0).astype("float32")  # 8x8 grey levels in [0, 1]


def _split(bp, model, split: str) -> np.ndarray:
    data = getattr(make_datasets(bp, seed=0, model=model), split)
    xs = [x for x, _ in data.as_numpy_iterator()]
    return np.concatenate([next(iter(x.values())) if isinstance(x, dict) else x for x in xs])


def _mse(a, b) -> float:
    return float(np.mean((np.asarray(a) - np.asarray(b)) ** 2))


# -- the layer ---------------------------------------------------------------------


def test_rbm_layer_gives_hidden_probabilities_and_round_trips():
    layer = RBM(5, name="rbm")
    x = _digits(4)
    h = np.asarray(layer(x))
    w, bh, bv = (v.numpy() for v in (layer.kernel, layer.hidden_bias, layer.visible_bias))
    np.testing.assert_allclose(h, 1 / (1 + np.exp(-(x @ w + bh))), rtol=1e-5)
    down = np.asarray(layer.visible_probabilities(h))
    np.testing.assert_allclose(down, 1 / (1 + np.exp(-(h @ w.T + bv))), rtol=1e-5)
    assert layer.count_params() == 64 * 5 + 5 + 64 + 1  # W, b_h, b_v, the epoch counter
    assert not layer.trainable  # contrastive divergence trains it, not fit
    clone = RBM.from_config(layer.get_config())
    assert (clone.units, clone.trainable, clone.name) == (5, False, "rbm")


def test_rbm_layer_refuses_bad_units():
    with pytest.raises(ValueError, match="units=0"):
        RBM(0)


# -- contrastive divergence ----------------------------------------------------------

STACK = """\
name: dbn
inputs:
  pixels: {shape: [64]}
graph:
  - {name: rbm1, RBM: {units: 32}}
  - {name: rbm2, RBM: {units: 16}}
data:
  source: digits  # the labels are not used: CD learns the pixels alone
  batch_size: 32
train:
  epochs: 10
  rule: {cd: {k: 1, rate: 0.1, momentum: 0.5, epochs_per_layer: 4}}
"""


def test_cd1_lowers_an_rbms_reconstruction_error_on_digits(tmp_path):
    bp = kb.load(STACK)
    model = kb.build(bp)
    x = _split(bp, model, "train")
    rbm1, rbm2 = model.get_layer("rbm1"), model.get_layer("rbm2")

    def error(layer, v):
        return reconstruction_error(
            v, *(w.numpy() for w in (layer.kernel, layer.hidden_bias, layer.visible_bias))
        )

    before = error(rbm1, x)
    history = fit_blueprint(model, bp, make_datasets(bp, seed=0, model=model), run_dir=tmp_path)
    after = error(rbm1, x)
    assert after < 0.5 * before, (before, after)
    logged = history.history["reconstruction_rbm1"]
    assert len(logged) == 4 and logged[-1] < logged[0]
    # Greedy: rbm1 alone for 4 epochs, then rbm2 alone for 4; then the run stops.
    assert len(history.history["reconstruction_rbm2"]) == 4
    assert [int(layer.epochs_trained.numpy()) for layer in (rbm1, rbm2)] == [4, 4]
    # The second RBM learns the first one's hidden probabilities (graph order): it
    # reconstructs them better than an untrained RBM (every p(v | h) near 0.5) does.
    h1 = np.asarray(rbm1(x))
    untrained = _mse(h1, 0.5)
    assert error(rbm2, h1) < 0.5 * untrained
    upper = history.history["reconstruction_rbm2"]
    assert upper[-1] < upper[0]


def test_an_rbm_alone_trains_and_evaluates_through_the_cli_without_compile(tmp_path, capsys):
    # No compile: section: contrastive divergence needs no loss or optimizer, and the run
    # is judged by the rule's own measure (each RBM's reconstruction error).
    blueprint = tmp_path / "dbn.yaml"
    blueprint.write_text(
        STACK.replace("epochs: 10", "epochs: 4").replace(
            "epochs_per_layer: 4", "epochs_per_layer: 2"
        )
    )
    run_dir = tmp_path / "run"
    assert main(["train", str(blueprint), "--run-dir", str(run_dir), "--quiet"]) == 0
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert set(saved) == {"train", "test"}
    assert set(saved["test"]) == {"reconstruction_rbm1", "reconstruction_rbm2"}
    capsys.readouterr()
    assert main(["evaluate", str(run_dir), "--json"]) == 0
    measured = json.loads(capsys.readouterr().out)
    assert measured["test"] == pytest.approx(saved["test"])
    # The measure is the deterministic up-down pass of the trained weights: recomputed here.
    bp = kb.load(blueprint)
    model = keras.models.load_model(run_dir / "model.keras")
    x = _split(bp, model, "test")
    rbm1 = model.get_layer("rbm1")
    expected = reconstruction_error(
        x, *(w.numpy() for w in (rbm1.kernel, rbm1.hidden_bias, rbm1.visible_bias))
    )
    assert saved["test"]["reconstruction_rbm1"] == pytest.approx(expected, rel=1e-5)


def test_backprop_without_compile_is_refused_before_a_run_directory_exists(tmp_path, capsys):
    blueprint = tmp_path / "mlp.yaml"
    blueprint.write_text(STACK.replace("RBM: {units: 32}", "Dense: {units: 32}").replace(
        "RBM: {units: 16}", "Dense: {units: 16}").replace(
        "  rule: {cd: {k: 1, rate: 0.1, momentum: 0.5, epochs_per_layer: 4}}\n", ""))  # fmt: skip
    run_dir = tmp_path / "run"
    assert main(["train", str(blueprint), "--run-dir", str(run_dir)]) != 0
    assert f"{blueprint}:1:1" in capsys.readouterr().err
    assert not run_dir.exists()


def test_cd_k_steps_and_momentum_are_used():
    x = _digits(256)
    rng = np.random.default_rng(0)
    w0 = rng.normal(0, 0.01, (64, 16))
    runs = {}
    for k, momentum in ((1, 0.0), (3, 0.0), (1, 0.9)):
        cd = ContrastiveDivergence(w0, np.zeros(16), np.zeros(64), k=k, momentum=momentum)
        cd.epoch(np.split(x, 8))
        runs[k, momentum] = cd.kernel.copy()
    assert not np.allclose(runs[1, 0.0], runs[3, 0.0])
    assert not np.allclose(runs[1, 0.0], runs[1, 0.9])


def test_cd_rule_needs_an_rbm_layer(tmp_path):
    bp = kb.load(STACK.replace("RBM: {units: 32}", "Dense: {units: 32}").replace(
        "RBM: {units: 16}", "Dense: {units: 16}"))  # fmt: skip
    model = kb.build(bp)
    with pytest.raises(BlueprintError, match="RBM layers"):
        fit_blueprint(model, bp, make_datasets(bp, seed=0, model=model), run_dir=tmp_path)


# -- pretraining an autoencoder as a DBN -----------------------------------------------

AUTOENCODER = """\
name: ae
inputs:
  pixels: {shape: [64]}
graph:
  - {name: enc1, Dense: {units: 32, activation: sigmoid}}
  - {name: enc2, Dense: {units: 8, activation: linear}}
  - {name: dec2, Dense: {units: 32, activation: sigmoid}}
  - {name: dec1, Dense: {units: 64, activation: sigmoid}}
compile:
  optimizer: adam
  loss: mse
"""


def _dataset(x: np.ndarray) -> tf.data.Dataset:
    return tf.data.Dataset.from_tensor_slices(({"pixels": x}, np.zeros(len(x)))).batch(32)


def test_rbm_pretraining_unrolls_each_rbm_into_its_decoder():
    model = kb.build(kb.load(AUTOENCODER))
    x = _digits(256)
    before = _mse(model.predict(x, verbose=0), x)
    spec = PretrainSpec(
        pairs=(("enc1", "dec1"), ("enc2", "dec2")), epochs=5, method="rbm", location=WHERE
    )
    results = pretrain_layerwise(model, spec, _dataset(x))
    for enc, dec in spec.pairs:
        np.testing.assert_array_equal(
            model.get_layer(dec).kernel.numpy(), model.get_layer(enc).kernel.numpy().T
        )
    assert [r["name"] for r in results] == ["enc1/dec1", "enc2/dec2"]
    for r in results:
        losses = r["history"]["reconstruction"]
        assert len(losses) == 5 and losses[-1] < losses[0]
    # The unrolled DBN already reconstructs far better than the random weights did.
    assert _mse(model.predict(x, verbose=0), x) < 0.7 * before


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("units: 64, activation: sigmoid", "units: 64, activation: relu"),  # decoder dec1
        ("1, Dense: {units: 32, activation: sigmoid", "1, Dense: {units: 32, activation: elu"),
    ],
)
def test_rbm_pretraining_refuses_units_an_rbm_does_not_have(old, new):
    assert old in AUTOENCODER
    model = kb.build(kb.load(AUTOENCODER.replace(old, new)))
    spec = PretrainSpec(pairs=(("enc1", "dec1"),), method="rbm", location=WHERE)
    with pytest.raises(BlueprintError) as err:
        pretrain_layerwise(model, spec, _dataset(_digits(64)))
    assert err.value.location == WHERE
    assert "sigmoid" in str(err.value)


def test_pretrain_method_is_read_and_checked_at_load():
    train = kb.load(
        AUTOENCODER + "train: {pretrain: {method: rbm, pairs: [[enc1, dec1]], cd_k: 3}}\n"
    ).train
    assert (train.pretrain.method, train.pretrain.cd_k) == ("rbm", 3)
    bp = kb.load("zoo:dbn_autoencoder")  # the run directory's plain copy keeps the method
    assert kb.load(plain.dump(bp)).train.pretrain == bp.train.pretrain
    assert bp.train.pretrain.momentum == 0.5
    with pytest.raises(BlueprintError) as err:
        kb.load(AUTOENCODER + "train: {pretrain: {method: rmb, pairs: [[enc1, dec1]]}}\n")
    assert "rbm" in str(err.value)
    assert (err.value.location.line, err.value.location.col) == (12, 28)


# -- the zoo's DBN autoencoder against PCA and against random weights -----------------

QUICK = ["train.epochs=5", "train.pretrain.epochs=5"]


def _pca_error(train: np.ndarray, test: np.ndarray, k: int) -> float:
    mean = train.mean(0)
    _, _, vt = np.linalg.svd(train - mean, full_matrices=False)
    basis = vt[:k].T
    return _mse(mean + (test - mean) @ basis @ basis.T, test)


def test_dbn_autoencoder_against_pca_and_random_weights(tmp_path, capsys):
    errors = {}
    for name, extra in (("dbn", []), ("random", ["train.pretrain=null"])):
        run_dir = tmp_path / name
        args = ["train", "zoo:dbn_autoencoder", "--run-dir", str(run_dir), "--quiet"]
        assert main([*args, *(f"--set={s}" for s in [*QUICK, *extra])]) == 0
        capsys.readouterr()
        assert main(["evaluate", str(run_dir), "--json"]) == 0
        errors[name] = json.loads(capsys.readouterr().out)["test"]["mse"]
    assert (tmp_path / "dbn" / "pretrain.json").is_file()
    bp = kb.load("zoo:dbn_autoencoder")
    model = kb.build(bp)
    errors["pca"] = _pca_error(_split(bp, model, "train"), _split(bp, model, "test"), 8)
    assert all(math.isfinite(v) and 0 < v < 0.2 for v in errors.values()), errors
    # Robust at any budget: the pretrained start is far ahead of the random one.
    assert errors["dbn"] < errors["random"], errors


# -- a linear autoencoder spans the principal subspace --------------------------------


def _principal_angles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The principal angles (degrees) between the column spaces of ``a`` and ``b``."""
    qa, _ = np.linalg.qr(a)
    qb, _ = np.linalg.qr(b)
    cosines = np.linalg.svd(qa.T @ qb, compute_uv=False)
    return np.degrees(np.arccos(np.clip(cosines, -1.0, 1.0)))


def test_a_linear_autoencoder_spans_the_first_principal_components():
    k = 4  # the digits' 4th and 5th variances differ well (11 % against 7 %)
    x = _digits(512)
    inputs = keras.Input((64,))
    decoder = keras.layers.Dense(64, name="decoder")
    model = keras.Model(inputs, decoder(keras.layers.Dense(k, name="code")(inputs)))
    model.compile(keras.optimizers.Adam(0.01), "mse")
    _, _, vt = np.linalg.svd(x - x.mean(0), full_matrices=False)
    pca = vt[:k].T
    untrained = _principal_angles(decoder.kernel.numpy().T, pca)
    model.fit(x, x, batch_size=64, epochs=200, verbose=0)
    angles = _principal_angles(decoder.kernel.numpy().T, pca)
    assert np.all(angles < 5.0), angles
    assert untrained.max() > 30.0, untrained  # the measure tells a random subspace apart
