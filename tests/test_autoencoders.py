"""Autoencoders: the dense, denoising and variational zoo entries and their custom layers."""

from __future__ import annotations

import textwrap

import keras
import numpy as np
import pytest

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError

ZOO = ("autoencoder_dense", "autoencoder_conv_denoising", "vae")
SPARSE = (
    "params.code_activation=relu",
    "params.code_regularizer={class_name: L1, config: {l1: 0.001}}",
)
CONTRACTIVE = ("graph.code={name: code, ContractiveDense: {units: 32, penalty: 0.01}}",)


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _images(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return _rng(seed).random(shape).astype("float32")  # intensities in [0, 1]


def _dense_rows(model) -> list[tuple[str, int, int]]:
    return [
        (layer.name, layer.units, layer.count_params())
        for layer in model.layers
        if hasattr(layer, "units")
    ]


# --- the zoo: encoder and decoder models -------------------------------------


@pytest.mark.parametrize("name", ZOO)
def test_decoder_of_encoder_is_the_model(name):
    models = kb.build_models(f"zoo:{name}", compile=False)
    assert list(models) == ["model", "encoder", "decoder"]
    model, encoder, decoder = models["model"], models["encoder"], models["decoder"]
    # Shared layers, hence shared weights: every weight of the model is in one half.
    halves = {id(w) for w in encoder.weights} | {id(w) for w in decoder.weights}
    assert halves == {id(w) for w in model.weights}
    assert sum(m.count_params() for m in (encoder, decoder)) == model.count_params()
    x = _images((3, *model.input.shape[1:]))
    code = encoder(x, training=False)
    z = code[-1] if isinstance(code, list | tuple) else code  # the VAE's encoder: [μ, log σ², z]
    np.testing.assert_allclose(decoder(z), model(x, training=False), atol=1e-6)
    # Changing a weight through the model changes the decoder: the same variable.
    last = model.get_layer("reconstruction")
    assert decoder.get_layer("reconstruction") is last
    last.bias.assign(last.bias + 1.0)
    np.testing.assert_allclose(decoder(z), model(x, training=False), atol=1e-6)


def test_dense_autoencoder_mirrors_its_encoder():
    models = kb.build_models("zoo:autoencoder_dense", compile=False)
    # (units, params): fan_in * units + units for each Dense.
    assert _dense_rows(models["model"]) == [
        ("encode1", 256, 784 * 256 + 256),  # 200,960
        ("encode2", 128, 256 * 128 + 128),  # 32,896
        ("code", 32, 128 * 32 + 32),  # 4,128
        ("decode1", 128, 32 * 128 + 128),  # 4,224
        ("decode2", 256, 128 * 256 + 256),  # 33,024
        ("reconstruction", 784, 256 * 784 + 784),  # 201,488
    ]
    assert models["model"].get_layer("reconstruction").get_config()["activation"] == "sigmoid"
    assert tuple(models["encoder"].output.shape) == (None, 32)
    assert [layer.name for layer in models["decoder"].layers] == [
        "latent",
        "decode1",
        "decode2",
        "reconstruction",
    ]


def test_dense_autoencoder_depth_is_data():
    model = kb.build(
        "zoo:autoencoder_dense",
        overrides=["params.units=[64, 32, 16]", "params.code=4", "params.pixels=100"],
        compile=False,
    )
    assert [(name, units) for name, units, _ in _dense_rows(model)] == [
        ("encode1", 64),
        ("encode2", 32),
        ("encode3", 16),
        ("code", 4),
        ("decode1", 16),
        ("decode2", 32),
        ("decode3", 64),
        ("reconstruction", 100),
    ]


def test_dense_autoencoder_compiles_with_binary_crossentropy():
    model = kb.build("zoo:autoencoder_dense", overrides=["params.units=[16]", "params.code=4"])
    x = _images((16, 784))
    history = model.fit(x, x, epochs=1, batch_size=8, verbose=0)
    reconstruction = model(x)
    expected = keras.losses.binary_crossentropy(x, reconstruction).numpy().mean()
    assert np.isfinite(history.history["loss"][0])
    measured = model.evaluate(x, x, verbose=0, return_dict=True)
    np.testing.assert_allclose(measured["loss"], expected, rtol=1e-4)
    # The reconstruction's squared error, the number the PCA baseline is compared with.
    squared = float(np.mean((np.asarray(reconstruction) - x) ** 2))
    np.testing.assert_allclose(measured["mse"], squared, rtol=1e-4)


# --- sparse: an L1 activity penalty on the code -------------------------------


def test_sparse_override_adds_an_l1_penalty_on_the_code():
    models = kb.build_models("zoo:autoencoder_dense", overrides=list(SPARSE), compile=False)
    model, encoder = models["model"], models["encoder"]
    code = model.get_layer("code")
    assert code.get_config()["activation"] == "relu"
    assert isinstance(code.activity_regularizer, keras.regularizers.L1)
    x = _images((4, 784))
    model(x)
    # Ω(h) = λ Σ|h_i| per example; Keras divides the batch's sum by the batch size.
    expected = 0.001 * np.abs(np.asarray(encoder(x))).sum() / 4
    assert len(model.losses) == 1
    np.testing.assert_allclose(float(model.losses[0]), expected, rtol=1e-5)


def test_plain_dense_autoencoder_has_no_extra_loss():
    model = kb.build("zoo:autoencoder_dense", compile=False)
    model(_images((2, 784)))
    assert model.losses == []


# --- contractive: the Frobenius norm of the encoder's Jacobian ----------------


def _contractive_layer(penalty: float = 0.1):
    from keras_blueprints.layers.autoencoder import ContractiveDense

    layer = ContractiveDense(4, penalty=penalty, bias_initializer="random_normal", name="cae")
    layer.build((None, 5))
    return layer


def test_contractive_penalty_equals_the_jacobian_norm():
    import tensorflow as tf

    layer = _contractive_layer(penalty=0.1)
    x = tf.constant(_rng(1).standard_normal((3, 5)).astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        h = layer(x)
    jacobian = tape.batch_jacobian(h, x)  # (batch, units, inputs): ∂h_j/∂x_i per example
    frobenius = tf.reduce_sum(tf.square(jacobian), axis=[1, 2])
    assert len(layer.losses) == 1
    np.testing.assert_allclose(
        float(layer.losses[0]), 0.1 * float(tf.reduce_mean(frobenius)), rtol=1e-5
    )
    # The output is the sigmoid code h = sigmoid(x W + b).
    kernel, bias = (np.asarray(w) for w in layer.weights)
    np.testing.assert_allclose(h, 1 / (1 + np.exp(-(np.asarray(x) @ kernel + bias))), rtol=1e-5)


def test_contractive_penalty_sums_positions_of_a_sequence():
    layer = _contractive_layer(penalty=1.0)
    x = _rng(2).standard_normal((2, 3, 5)).astype("float32")
    h = np.asarray(layer(x))
    assert h.shape == (2, 3, 4)
    kernel = np.asarray(layer.kernel)
    per_example = ((h * (1 - h)) ** 2 * (kernel**2).sum(axis=0)).sum(axis=(1, 2))
    np.testing.assert_allclose(float(layer.losses[0]), per_example.mean(), rtol=1e-5)


def test_contractive_override_of_the_dense_autoencoder_trains():
    models = kb.build_models("zoo:autoencoder_dense", overrides=list(CONTRACTIVE))
    model, encoder = models["model"], models["encoder"]
    assert type(model.get_layer("code")).__name__ == "ContractiveDense"
    assert model.count_params() == 476_720  # same shapes as the Dense code it replaces
    x = _images((16, 784))
    history = model.fit(x, x, epochs=1, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    h = np.asarray(encoder(x))
    assert ((h > 0) & (h < 1)).all()  # sigmoid units


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("{units: 0}", "Expected a positive integer for 'units'. Received: units=0"),
        ("{units: 4, penalty: -1}", "Expected a non-negative number for 'penalty'"),
    ],
)
def test_contractive_dense_checks_its_arguments(args, message):
    with pytest.raises(BlueprintError) as info:
        kb.build(f"inputs: {{x: [5]}}\ngraph:\n  - ContractiveDense: {args}\n")
    assert info.value.message.startswith("Keras could not create ContractiveDense")
    assert message in info.value.message


# --- denoising: noise while training only -------------------------------------


def _without_noise(model, x):
    """Runs every layer after the noise on the clean input (the network as if noise were gone)."""
    y = x
    for layer in model.layers[2:]:
        y = layer(y)
    return np.asarray(y)


@pytest.mark.parametrize("noise", ["gaussian", "masking"])
def test_denoising_noise_only_while_training(noise):
    model = kb.build(
        "zoo:autoencoder_conv_denoising",
        overrides=[f"params.noise={noise}", "params.noise_stddev=0.5", "params.mask_rate=0.5"],
        compile=False,
    )
    assert model.layers[1].name == f"noise_{noise}"
    x = _images((2, 28, 28, 1))
    clean = _without_noise(model, x)
    first, second = (np.asarray(model(x, training=False)) for _ in range(2))
    np.testing.assert_array_equal(first, second)  # deterministic
    np.testing.assert_allclose(first, clean, atol=1e-6)  # the noise is ignored
    np.testing.assert_allclose(model.predict(x, verbose=0), clean, atol=1e-6)
    noisy = np.asarray(model(x, training=True))
    assert np.abs(noisy - clean).max() > 1e-3
    assert np.abs(noisy - np.asarray(model(x, training=True))).max() > 1e-4  # fresh noise


def test_masking_noise_zeroes_without_rescaling():
    from keras_blueprints.layers.autoencoder import MaskingNoise

    layer = MaskingNoise(0.3, seed=7)
    x = np.full((50, 200), 0.5, "float32")
    out = np.asarray(layer(x, training=True))
    assert set(np.unique(out)) == {0.0, 0.5}  # destroyed or kept as is
    assert (out == 0).mean() == pytest.approx(0.3, abs=0.02)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)


def test_masking_noise_checks_its_rate():
    with pytest.raises(BlueprintError) as info:
        kb.build("inputs: {x: [4]}\ngraph:\n  - MaskingNoise: {rate: 1.5}\n")
    assert "Expected a rate in [0, 1). Received: rate=1.5" in info.value.message


def test_unknown_noise_is_refused():
    with pytest.raises(BlueprintError) as info:
        kb.load("zoo:autoencoder_conv_denoising", overrides=["params.noise=salt"])
    assert info.value.message == "parameter 'kind' of block 'corrupt' is not one of its choices"
    assert str(info.value.expected) == "one of: gaussian, masking"


def test_conv_denoising_shapes_and_counts():
    model = kb.build("zoo:autoencoder_conv_denoising", compile=False)
    rows = [
        (layer.name, tuple(layer.output.shape[1:]), layer.count_params()) for layer in model.layers
    ]
    assert rows == [
        ("image", (28, 28, 1), 0),
        ("noise_gaussian", (28, 28, 1), 0),
        ("enc_conv1", (28, 28, 32), 3 * 3 * 1 * 32 + 32),  # 320
        ("enc_pool1", (14, 14, 32), 0),
        ("enc_conv2", (14, 14, 64), 3 * 3 * 32 * 64 + 64),  # 18,496
        ("enc_pool2", (7, 7, 64), 0),
        ("code", (7, 7, 8), 3 * 3 * 64 * 8 + 8),  # 4,616
        ("dec_deconv1", (14, 14, 64), 3 * 3 * 8 * 64 + 64),  # 4,672
        ("dec_deconv2", (28, 28, 32), 3 * 3 * 64 * 32 + 32),  # 18,464
        ("reconstruction", (28, 28, 1), 3 * 3 * 32 * 1 + 1),  # 289
    ]


# --- variational: KL term, sampling, training, generation ---------------------


def _kl(mean: np.ndarray, log_var: np.ndarray) -> np.ndarray:
    """KL(N(μ, σ²) || N(0, I)) per example, by the closed form for diagonal Gaussians."""
    return -0.5 * (1 + log_var - mean**2 - np.exp(log_var)).sum(axis=-1)


def test_kl_term_matches_the_closed_form():
    from keras_blueprints.layers.autoencoder import KLDivergenceLoss

    mean = _rng(3).standard_normal((4, 3)).astype("float32")
    log_var = _rng(4).standard_normal((4, 3)).astype("float32")
    layer = KLDivergenceLoss(weight=0.5)
    out_mean, out_log_var = layer([mean, log_var])
    np.testing.assert_array_equal(out_mean, mean)  # passed through unchanged
    np.testing.assert_array_equal(out_log_var, log_var)
    # By hand, example 0: -½ Σ_j (1 + log var_j - μ_j² - var_j).
    by_hand = -0.5 * sum(
        1 + log_var[0, j] - mean[0, j] ** 2 - np.exp(log_var[0, j]) for j in range(3)
    )
    assert _kl(mean, log_var)[0] == pytest.approx(by_hand, rel=1e-6)
    np.testing.assert_allclose(float(layer.losses[0]), 0.5 * _kl(mean, log_var).mean(), rtol=1e-5)
    # The KL vanishes exactly when q(z|x) is the prior.
    layer([np.zeros((2, 3), "float32"), np.zeros((2, 3), "float32")])
    assert float(layer.losses[0]) == 0.0


def test_sampling_reparameterizes_while_training_and_returns_the_mean_otherwise():
    from keras_blueprints.layers.autoencoder import Sampling

    mean = np.full((20_000, 2), [1.0, -2.0], "float32")
    log_var = np.full((20_000, 2), np.log([0.25, 4.0]), "float32")  # standard deviations 0.5 and 2
    layer = Sampling(seed=3)
    np.testing.assert_array_equal(layer([mean, log_var]), mean)
    np.testing.assert_array_equal(layer([mean, log_var], training=False), mean)
    z = np.asarray(layer([mean, log_var], training=True))
    np.testing.assert_allclose(z.mean(axis=0), [1.0, -2.0], atol=0.05)
    np.testing.assert_allclose(z.std(axis=0), [0.5, 2.0], rtol=0.03)
    assert not np.array_equal(z, np.asarray(layer([mean, log_var], training=True)))
    always = Sampling(seed=3, sample_at_inference=True)
    assert np.asarray(always([mean, log_var])).std(axis=0) == pytest.approx([0.5, 2.0], rel=0.03)


def test_sampling_is_reproducible_with_a_seed():
    from keras_blueprints.layers.autoencoder import Sampling

    inputs = [np.zeros((3, 2), "float32"), np.zeros((3, 2), "float32")]
    first = Sampling(seed=11)(inputs, training=True)
    second = Sampling(seed=11)(inputs, training=True)
    np.testing.assert_array_equal(first, second)


def test_vae_adds_the_kl_of_its_encoder_to_the_losses():
    models = kb.build_models("zoo:vae", compile=False)
    model, encoder = models["model"], models["encoder"]
    assert [tuple(o.shape) for o in encoder.outputs] == [(None, 2)] * 3
    x = _images((5, 784))
    mean, log_var, z = (np.asarray(t) for t in encoder(x))
    np.testing.assert_array_equal(z, mean)  # inference: the code is the mean
    model(x)
    assert len(model.losses) == 1
    np.testing.assert_allclose(float(model.losses[0]), _kl(mean, log_var).mean() / 784, rtol=1e-4)


def test_vae_trains_one_epoch_with_a_finite_loss():
    model = kb.build("zoo:vae", overrides=["params.units=[64]", "params.seed=0"])
    x = _images((64, 784))
    history = model.fit(x, x, epochs=1, batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    # Training samples z: two training passes differ, inference passes do not.
    assert not np.allclose(model(x, training=True), model(x, training=True))
    np.testing.assert_array_equal(model(x), model(x))


def test_vae_decoder_generates_images_from_prior_samples():
    models = kb.build_models("zoo:vae", overrides=["params.latent=3"], compile=False)
    decoder = models["decoder"]
    assert tuple(decoder.input.shape) == (None, 3)
    z = _rng(5).standard_normal((6, 3)).astype("float32")  # z ~ N(0, I), the prior
    images = np.asarray(decoder.predict(z, verbose=0))
    assert images.shape == (6, 784)
    assert ((images >= 0) & (images <= 1)).all()  # Bernoulli probabilities per pixel
    assert np.abs(images[0] - images[1]).max() > 1e-4  # different codes, different images


def test_sampling_needs_mean_and_log_var():
    with pytest.raises(BlueprintError) as info:
        kb.build(
            textwrap.dedent(
                """
                inputs: {x: [4]}
                graph:
                  - name: z
                    Sampling: {}
                """
            )
        )
    assert info.value.message.startswith("Keras could not call Sampling 'z': Expected Sampling")
    assert (info.value.location.line, info.value.location.col) == (4, 5)


def test_custom_layer_arguments_are_checked_without_keras():
    with pytest.raises(BlueprintError) as info:
        kb.load("inputs: {x: [2], y: [2]}\ngraph:\n  - {from: [x, y], Sampling: {sead: 1}}\n")
    assert info.value.message == "'sead' is not an argument of Sampling"
    assert info.value.hint == "Did you mean 'seed'?"


def test_flops_of_the_custom_layers():
    from keras_blueprints.views.flops import model_flops

    report = model_flops(kb.build("zoo:vae", compile=False))
    costs = {row.name: row.flops for row in report.layers}
    assert report.unknown == ()
    assert (costs["kl"], costs["z"]) == (0, 0)  # identities at inference (z is the mean)
    contractive = kb.build("zoo:autoencoder_dense", overrides=list(CONTRACTIVE), compile=False)
    costs = {row.name: row.flops for row in model_flops(contractive).layers}
    assert costs["code"] == 2 * 128 * 32 + (1 + 4) * 32  # as a Dense: multiply-adds, bias, sigmoid
