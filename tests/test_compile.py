"""The ``compile:`` section: optimizers, clipping, learning-rate schedules, losses and metrics."""

from __future__ import annotations

import inspect
import math
import re
from pathlib import Path

import keras
import numpy as np
import pytest
import yaml

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError, Location
from keras_blueprints.builders.compile import (
    make_optimizer,
    make_schedule,
    schedule_classes,
)
from keras_blueprints.resolve.schema import CompileSpec, freeze
from keras_blueprints.training import schedules

SPEC = CompileSpec(location=Location("net.yaml", 12, 3))

# Optimizers that wrap others need them as arguments; every other optimizer
# builds from its defaults. A new Keras wrapper fails the test until listed here.
WRAPPER_ARGS = {
    "LossScaleOptimizer": {"inner_optimizer": {"SGD": {"learning_rate": 0.1}}},
    "MultiOptimizer": {"optimizer_map": {"default": "adam", "hidden/.*": "sgd"}},
}


def _keras_classes(module, base, abstract: str) -> list[str]:
    return sorted(
        name
        for name, obj in vars(module).items()
        if inspect.isclass(obj) and issubclass(obj, base) and name not in (abstract,)
    )


OPTIMIZERS = _keras_classes(keras.optimizers, keras.optimizers.Optimizer, "Optimizer")
KERAS_SCHEDULES = _keras_classes(
    keras.optimizers.schedules,
    keras.optimizers.schedules.LearningRateSchedule,
    "LearningRateSchedule",
)


def _tiny_model(kernel: float = 1.0) -> keras.Model:
    inputs = keras.Input((2,), name="x")
    hidden = keras.layers.Dense(
        3, kernel_initializer=keras.initializers.Constant(kernel), name="hidden"
    )(inputs)
    outputs = keras.layers.Dense(1, kernel_initializer="ones", name="out")(hidden)
    return keras.Model(inputs, outputs)


def _yaml(optimizer: str, loss: str = "mse") -> str:
    return (
        "name: tiny\n"
        "inputs:\n"
        "  x: {shape: [2]}\n"
        "graph:\n"
        "  - name: out\n"
        "    Dense: {units: 1}\n"
        "compile:\n"
        f"  optimizer: {optimizer}\n"
        f"  loss: {loss}\n"
    )


# --- every optimizer ---------------------------------------------------------


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_keras_optimizer_builds_and_takes_a_step(name):
    optimizer = make_optimizer(name, freeze(WRAPPER_ARGS.get(name, {})), SPEC)
    assert type(optimizer).__name__ == name
    model = _tiny_model()
    model.compile(optimizer=optimizer, loss="mse")
    x = np.array([[1.0, 2.0], [0.5, -1.0]], "float32")
    y = np.array([[0.0], [1.0]], "float32")
    before = [w.copy() for w in model.get_weights()]
    model.train_on_batch(x, y)
    assert int(optimizer.iterations) == 1
    changed = [not np.allclose(a, b) for a, b in zip(before, model.get_weights(), strict=True)]
    assert any(changed), f"{name} did not move any weight"


@pytest.mark.parametrize(
    ("written", "cls"),
    [
        ("adam", "Adam"),
        ("rmsprop", "RMSprop"),
        ("adamw", "AdamW"),
        ("schedule_free_adamw", "ScheduleFreeAdamW"),
        ("Nadam", "Nadam"),
    ],
)
def test_optimizers_are_named_by_identifier_class_or_snake_case(written, cls):
    assert type(make_optimizer(written, {}, SPEC)).__name__ == cls


def test_sgd_arguments_reach_keras():
    optimizer = make_optimizer(
        "SGD", freeze({"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}), SPEC
    )
    assert (optimizer.momentum, optimizer.nesterov) == (0.9, True)
    assert math.isclose(float(optimizer.learning_rate), 0.05, rel_tol=1e-6)


def test_unknown_optimizer_suggests_the_closest():
    with pytest.raises(BlueprintError) as info:
        make_optimizer("Adamm", {}, SPEC)
    assert str(info.value).startswith("net.yaml:12:3: error: 'Adamm' is not a Keras optimizer.")
    assert "Did you mean 'Adam'?" in str(info.value)


def test_multi_optimizer_routes_variables_by_path():
    optimizer = make_optimizer("MultiOptimizer", freeze(WRAPPER_ARGS["MultiOptimizer"]), SPEC)
    model = _tiny_model()
    model.compile(optimizer=optimizer, loss="mse")
    model.train_on_batch(np.ones((2, 2), "float32"), np.zeros((2, 1), "float32"))
    hidden_kernel = model.get_layer("hidden").kernel
    out_kernel = model.get_layer("out").kernel
    routed = optimizer._optimizer_map  # the OptimizerMap built from the YAML mapping
    assert type(routed(hidden_kernel)).__name__ == "SGD"
    assert type(routed(out_kernel)).__name__ == "Adam"
    assert sorted(type(o).__name__ for o in optimizer.optimizers) == ["Adam", "SGD"]


# --- gradient clipping ---------------------------------------------------------


def _one_clipped_step(clip: str) -> tuple[np.ndarray, float]:
    """One SGD step (rate 0.1) of Dense(1) on x = [3, 4], y = 0, weights 1, bias 0."""
    inputs = keras.Input((2,))
    outputs = keras.layers.Dense(1, kernel_initializer="ones", name="d")(inputs)
    model = keras.Model(inputs, outputs)
    optimizer = make_optimizer("SGD", freeze({"learning_rate": 0.1, clip: 1.0}), SPEC)
    model.compile(optimizer=optimizer, loss="mse")
    model.train_on_batch(np.array([[3.0, 4.0]], "float32"), np.zeros((1, 1), "float32"))
    kernel, bias = model.get_layer("d").get_weights()
    return kernel[:, 0], float(bias[0])


def test_clipping_by_value_norm_and_global_norm():
    # prediction 7, d(loss)/d(prediction) = 2 * 7 = 14: the kernel's gradient is
    # 14 * x = [42, 56] (norm 70), the bias' 14.
    g_kernel, g_bias = np.array([42.0, 56.0]), 14.0
    kernel, bias = _one_clipped_step("clipvalue")  # each component to [-1, 1]
    np.testing.assert_allclose(kernel, [0.9, 0.9], rtol=1e-5)
    assert math.isclose(bias, -0.1, rel_tol=1e-5)
    kernel, bias = _one_clipped_step("clipnorm")  # each variable's gradient to norm 1
    np.testing.assert_allclose(kernel, 1 - 0.1 * g_kernel / 70.0, rtol=1e-5)
    assert math.isclose(bias, -0.1, rel_tol=1e-5)
    kernel, bias = _one_clipped_step("global_clipnorm")  # all gradients together to norm 1
    total = math.sqrt(70.0**2 + g_bias**2)
    np.testing.assert_allclose(kernel, 1 - 0.1 * g_kernel / total, rtol=1e-5)
    assert math.isclose(bias, -0.1 * g_bias / total, rel_tol=1e-4)


def test_two_ways_of_clipping_are_refused_at_the_compile_section():
    text = _yaml("{SGD: {learning_rate: 0.1, clipnorm: 1.0, global_clipnorm: 5.0}}")
    with pytest.raises(BlueprintError) as info:
        kb.build(text)
    message = str(info.value)
    assert message.startswith(
        "<string>:8:3: error: an optimizer clips gradients one way only, "
        "but clipnorm and global_clipnorm are both given."
    )
    assert "Received: clipnorm=1.0, global_clipnorm=5.0." in message


def test_clipping_of_a_wrapped_optimizer_is_checked_too():
    args = freeze({"inner_optimizer": {"SGD": {"clipvalue": 1.0, "clipnorm": 1.0}}})
    with pytest.raises(BlueprintError, match="clipnorm and clipvalue are both given"):
        make_optimizer("LossScaleOptimizer", args, SPEC)


# --- learning-rate schedules -----------------------------------------------------

COSINE = {"CosineDecay": {"initial_learning_rate": 1.0, "decay_steps": 8}}

# (YAML value, [(step, rate computed by hand)]) per schedule class.
GOLDEN = {
    "ExponentialDecay": (
        {"ExponentialDecay": {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5}},
        [(0, 0.1), (10, 0.05), (20, 0.025), (5, 0.1 * 0.5**0.5)],
    ),
    "CosineDecay": (COSINE, [(0, 1.0), (4, 0.5), (2, 0.5 * (1 + math.cos(math.pi / 4))), (8, 0)]),
    "CosineDecayRestarts": (
        # Periods of 10, then 20 steps (t_mul 2); each restarts at the initial rate.
        {"cosine_decay_restarts": {"initial_learning_rate": 0.1, "first_decay_steps": 10}},
        [(0, 0.1), (5, 0.05), (10, 0.1), (20, 0.05), (30, 0.1)],
    ),
    "PiecewiseConstantDecay": (
        {"PiecewiseConstantDecay": {"boundaries": [10, 20], "values": [0.1, 0.01, 0.001]}},
        [(0, 0.1), (10, 0.1), (11, 0.01), (20, 0.01), (21, 0.001)],
    ),
    "InverseTimeDecay": (
        {"InverseTimeDecay": {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 1}},
        [(0, 0.1), (10, 0.05), (30, 0.025)],
    ),
    "PolynomialDecay": (
        {"polynomial_decay": {"initial_learning_rate": 0.1, "decay_steps": 10}},
        [(0, 0.1), (5, 0.1 - 0.5 * (0.1 - 1e-4)), (10, 1e-4), (50, 1e-4)],
    ),
    "StepDecay": (
        {"StepDecay": {"initial_learning_rate": 0.8, "step_size": 3, "factor": 0.5}},
        [(0, 0.8), (2, 0.8), (3, 0.4), (6, 0.2), (8, 0.2), (9, 0.1)],
    ),
    "TriangularCyclic": (
        {
            "triangular_cyclic": {
                "base_learning_rate": 0.1,
                "max_learning_rate": 0.5,
                "step_size": 4,
            }
        },
        [(0, 0.1), (2, 0.3), (4, 0.5), (6, 0.3), (8, 0.1), (12, 0.5), (13, 0.4)],
    ),
    "LinearWarmup": (
        {"LinearWarmup": {"warmup_steps": 4, "after": COSINE}},
        # 0 -> 1 over 4 steps, then the cosine starts its own clock at step 4.
        [(0, 0.0), (1, 0.25), (3, 0.75), (4, 1.0), (8, 0.5), (12, 0.0)],
    ),
}


def test_every_schedule_class_is_offered_and_has_golden_values():
    offered = set(schedule_classes())
    assert offered == set(KERAS_SCHEDULES) | {"StepDecay", "TriangularCyclic", "LinearWarmup"}
    assert set(GOLDEN) == offered


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_schedule_golden_values(name):
    value, points = GOLDEN[name]
    schedule = make_schedule(freeze(value), SPEC)
    assert type(schedule).__name__ == name
    got = [float(schedule(step)) for step, _ in points]
    np.testing.assert_allclose(got, [rate for _, rate in points], rtol=1e-5, atol=1e-7)


def test_triangular2_halves_the_amplitude_every_cycle():
    args = {"base_learning_rate": 0.1, "max_learning_rate": 0.5, "step_size": 4}
    schedule = schedules.TriangularCyclic(**args, mode="triangular2")
    # Peaks at steps 4, 12, 20: 0.1 + 0.4, 0.1 + 0.4 / 2, 0.1 + 0.4 / 4.
    np.testing.assert_allclose(
        [float(schedule(s)) for s in (4, 8, 12, 16, 20, 22)],
        [0.5, 0.1, 0.3, 0.1, 0.2, 0.15],
        rtol=1e-5,
    )


def test_warmup_to_a_constant_with_a_start():
    schedule = make_schedule(
        freeze({"LinearWarmup": {"warmup_steps": 10, "after": 0.5, "start": 0.1}}), SPEC
    )
    np.testing.assert_allclose(
        [float(schedule(s)) for s in (0, 5, 10, 1000)], [0.1, 0.3, 0.5, 0.5], rtol=1e-6
    )


@pytest.mark.parametrize("name", sorted(schedules.CUSTOM_SCHEDULES))
def test_custom_schedules_round_trip_their_config(name):
    value, points = GOLDEN[name]
    schedule = make_schedule(freeze(value), SPEC)
    config = schedule.get_config()
    again = type(schedule).from_config(config)
    assert again.get_config() == config
    generic = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert type(generic) is type(schedule)
    for step, rate in points:
        assert math.isclose(float(again(step)), rate, rel_tol=1e-5, abs_tol=1e-7)
        assert math.isclose(float(generic(step)), rate, rel_tol=1e-5, abs_tol=1e-7)


def test_a_scheduled_optimizer_follows_its_schedule_during_fit():
    text = _yaml(
        "{SGD: {momentum: 0.9, nesterov: true, clipnorm: 1.0, learning_rate: "
        "{StepDecay: {initial_learning_rate: 0.8, step_size: 2, factor: 0.5}}}}"
    )
    model = kb.build(text)
    optimizer = model.optimizer
    model.fit(np.ones((6, 2), "float32"), np.zeros((6, 1), "float32"), batch_size=2, verbose=0)
    assert int(optimizer.iterations) == 3
    assert math.isclose(float(optimizer.learning_rate), 0.4, rel_tol=1e-6)  # 0.8 * 0.5 ** 1


@pytest.mark.parametrize("name", sorted(schedules.CUSTOM_SCHEDULES))
def test_models_trained_with_custom_schedules_reload_from_keras_files(name, tmp_path):
    value, _ = GOLDEN[name]
    flow = yaml.safe_dump({"SGD": {"learning_rate": value}}, default_flow_style=True).strip()
    model = kb.build(_yaml(flow))
    x = np.array([[1.0, 2.0], [3.0, -1.0]], "float32")
    model.fit(x, np.ones((2, 1), "float32"), verbose=0)  # Keras saves optimizers of trained models
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    schedule = loaded.optimizer._learning_rate
    assert type(schedule).__name__ == name
    assert schedule.get_config() == model.optimizer._learning_rate.get_config()
    assert int(loaded.optimizer.iterations) == 1
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_unknown_schedule_suggests_the_closest_name_at_the_schedule_at_load():
    text = _yaml("{SGD: {learning_rate: {CosineDecayRestart: {initial_learning_rate: 0.1}}}}")
    with pytest.raises(BlueprintError) as info:
        kb.load(text)  # refused at load (the vocabulary), where the name is written
    message = str(info.value)
    assert message.startswith(
        "<string>:8:37: error: 'CosineDecayRestart' is not a learning-rate schedule."
    )
    assert "Did you mean 'CosineDecayRestarts'?" in message


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        (
            {"StepDecay": {"initial_learning_rate": 0.1, "step_size": 0}},
            "schedule StepDecay: Expected a positive integer for 'step_size'. Received: "
            "step_size=0",
        ),
        (
            {
                "TriangularCyclic": {
                    "base_learning_rate": 0.5,
                    "max_learning_rate": 0.1,
                    "step_size": 2,
                }
            },
            "schedule TriangularCyclic: Expected 0 <= base_learning_rate <= max_learning_rate",
        ),
        (
            {
                "TriangularCyclic": {
                    "base_learning_rate": 0.1,
                    "max_learning_rate": 0.5,
                    "step_size": 2,
                    "mode": "exp_range",
                }
            },
            "schedule TriangularCyclic: Expected 'mode' to be one of triangular, triangular2",
        ),
        (
            {"ExponentialDecay": {"initial_learning_rate": 0.1}},
            "schedule ExponentialDecay: ",
        ),
        (
            {"PiecewiseConstantDecay": {"boundaries": [10], "values": [0.1]}},
            "schedule PiecewiseConstantDecay: ",
        ),
        (
            {"LinearWarmup": {"warmup_steps": 10, "after": {"StepDecay": {"step_size": 2}}}},
            "schedule StepDecay: ",
        ),
    ],
)
def test_bad_schedule_arguments_are_refused(value, detail):
    with pytest.raises(BlueprintError) as info:
        make_schedule(freeze(value), SPEC)
    assert str(info.value).startswith("net.yaml:12:3: error: Keras refused the arguments of ")
    assert detail in str(info.value)


def test_a_learning_rate_written_1e_3_is_a_number():
    # YAML 1.1 reads 1e-3 (no dot) as a string.
    model = kb.build(_yaml("{adam: {learning_rate: 1e-3}}"))
    assert math.isclose(float(model.optimizer.learning_rate), 0.001, rel_tol=1e-6)


def test_a_learning_rate_must_be_a_number_or_a_schedule():
    with pytest.raises(BlueprintError, match="a learning rate is a number or a schedule"):
        make_schedule(freeze([0.1, 0.2]), SPEC)


# --- losses and metrics ----------------------------------------------------------

# (loss, targets): the targets each loss expects from a 3-unit softmax output.
LOSSES = {
    "mse": np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], "float32"),
    "mae": np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], "float32"),
    "huber": np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], "float32"),
    "log_cosh": np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], "float32"),
    "binary_crossentropy": np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], "float32"),
    "categorical_crossentropy": np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], "float32"),
    "sparse_categorical_crossentropy": np.array([1, 0]),
    "kl_divergence": np.array([[0.2, 0.7, 0.1], [0.6, 0.2, 0.2]], "float32"),
    "categorical_hinge": np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], "float32"),
    "poisson": np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], "float32"),
}


def _softmax_model() -> keras.Model:
    inputs = keras.Input((2,))
    outputs = keras.layers.Dense(3, activation="softmax", name="probs")(inputs)
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_losses_by_identifier(loss):
    from keras_blueprints.builders.compile import compile_model

    model = _softmax_model()
    compile_model(model, CompileSpec(optimizer="sgd", loss=loss, location=SPEC.location), ["probs"])
    x = np.array([[1.0, -1.0], [0.5, 2.0]], "float32")
    y = LOSSES[loss]
    expected = float(np.mean(keras.losses.get(loss)(y, model(x))))
    assert math.isclose(model.evaluate(x, y, verbose=0), expected, rel_tol=1e-5)


def test_loss_class_with_arguments_and_metrics():
    text = (
        "name: reg\n"
        "inputs:\n"
        "  x: {shape: [1]}\n"
        "graph:\n"
        "  - name: out\n"
        "    Dense: {units: 1, kernel_initializer: ones, use_bias: false}\n"
        "compile:\n"
        "  optimizer: sgd\n"
        "  loss: {Huber: {delta: 0.5}}\n"
        "  metrics: [mae, {MeanSquaredError: {name: sq}}]\n"
    )
    model = kb.build(text)
    # Predictions 3 and 0.25 for targets 1 and 0: errors 2 and 0.25.
    # Huber(δ = 0.5): δ(|e| - δ/2) = 0.875 beyond δ, e²/2 = 0.03125 within
    # (the default δ = 1 would give 1.5 for the first).
    result = model.evaluate(
        np.array([[3.0], [0.25]], "float32"),
        np.array([[1.0], [0.0]], "float32"),
        verbose=0,
        return_dict=True,
    )
    assert math.isclose(result["loss"], (0.875 + 0.03125) / 2, rel_tol=1e-6)
    assert math.isclose(result["mae"], (2 + 0.25) / 2, rel_tol=1e-6)
    assert math.isclose(result["sq"], (4 + 0.0625) / 2, rel_tol=1e-6)


def test_unknown_loss_suggests_the_closest():
    with pytest.raises(BlueprintError) as info:
        kb.build(_yaml("adam", loss="sparse_categorical_crossentropi"))
    assert "'sparse_categorical_crossentropi' is not a Keras loss" in str(info.value)
    assert "Did you mean 'sparse_categorical_crossentropy'?" in str(info.value)


# --- docs/optimization.md: its examples are real ---------------------------------

DOC = Path(__file__).resolve().parents[1] / "docs" / "optimization.md"
FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
TINY_GRAPH = (
    "name: tiny\ninputs:\n  x: {shape: [2]}\ngraph:\n  - name: out\n    Dense: {units: 1}\n"
)


def _doc_blocks(lang: str) -> list[str]:
    return [text for found, text in FENCE.findall(DOC.read_text()) if found == lang]


@pytest.mark.parametrize("index", range(len(_doc_blocks("yaml"))))
def test_the_yaml_examples_of_the_optimization_guide_build(index):
    text = _doc_blocks("yaml")[index]
    if text.startswith("# fragment"):
        assert isinstance(yaml.safe_load(text), dict)
        return
    whole = text if text.startswith("name:") else TINY_GRAPH + text
    model = kb.build(whole)
    assert model.optimizer is not None
    assert int(model.optimizer.iterations) == 0


def test_the_errors_shown_in_the_optimization_guide_are_the_real_ones(tmp_path, monkeypatch):
    shown = [line for block in _doc_blocks("text") for line in block.splitlines()]
    causes = [
        "{SGD: {learning_rate: {cosine_decay_restart: {initial_learning_rate: 0.1}}}}",
        "{SGD: {learning_rate: {StepDecay: {initial_learning_rate: 0.1, step_size: 0}}}}",
        "{SGD: {learning_rate: 0.1, clipnorm: 1.0, clipvalue: 0.5}}",
    ]
    monkeypatch.chdir(tmp_path)
    real = []
    for cause in causes:
        (tmp_path / "net.yaml").write_text(_yaml(cause))
        with pytest.raises(BlueprintError) as info:
            kb.build("net.yaml")
        real.extend(str(info.value).splitlines())
    assert sorted(shown) == sorted(real)
