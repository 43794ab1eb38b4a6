"""Every identifier a blueprint writes is checked at load, located at the value, without Keras.

Activations, initializers, regularizers, constraints, enumerated layer arguments,
the compile section's optimizer, schedule, losses and metrics, and the monitored
metrics, each refused at its exact line and column with the closest valid name.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import run_cli_isolated

import keras_blueprints as kb
from keras_blueprints import catalog
from keras_blueprints._core.errors import BlueprintError, BlueprintErrors
from keras_blueprints.catalog import vocabulary
from keras_blueprints.loading import zoo
from keras_blueprints.resolve.identifiers import argument_kind

REPO_ROOT = Path(__file__).resolve().parent.parent


def _text(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def errors_of(text: str) -> list[BlueprintError]:
    with pytest.raises(BlueprintError) as info:
        kb.load(_text(text))
    err = info.value
    return list(err.errors) if isinstance(err, BlueprintErrors) else [err]


def located(err: BlueprintError) -> tuple[int, int]:
    return err.location.line, err.location.col


def position_of(text: str, word: str) -> tuple[int, int]:
    """The 1-based line and column where ``word`` is first written in ``text``."""
    for number, line in enumerate(_text(text).splitlines(), start=1):
        if word in line:
            return number, line.index(word) + 1
    raise AssertionError(f"{word!r} is not in the text")


def only_error(text: str) -> BlueprintError:
    errors = errors_of(text)
    assert len(errors) == 1, [e.format() for e in errors]
    return errors[0]


# --- the vocabulary --------------------------------------------------------------------


def test_every_kind_has_its_names_and_aliases():
    assert vocabulary.accepts("activations", "relu")
    assert vocabulary.accepts("initializers", "glorot_uniform")
    assert vocabulary.accepts("initializers", "GlorotUniform")
    assert vocabulary.accepts("regularizers", "l2")
    assert vocabulary.accepts("constraints", "max_norm")
    assert vocabulary.accepts("losses", "mse")
    assert vocabulary.accepts("metrics", "acc")
    assert vocabulary.accepts("optimizers", "schedule_free_adamw")
    assert vocabulary.accepts("learning_rate_schedules", "cosine_decay_restarts")
    assert vocabulary.accepts("learning_rate_schedules", "LinearWarmup")  # ours
    assert not vocabulary.accepts("activations", "softmx")
    assert not vocabulary.accepts("losses", "Dense")
    assert set(vocabulary.KINDS) == {
        "activations",
        "initializers",
        "regularizers",
        "constraints",
        "losses",
        "metrics",
        "optimizers",
        "learning_rate_schedules",
    }


def test_enumerations():
    assert vocabulary.enumeration("padding") == ("causal", "same", "valid")
    assert "channels_first" in vocabulary.enumeration("data_format")
    assert "bilinear" in vocabulary.enumeration("interpolation")
    assert "concat" in vocabulary.enumeration("merge_mode")
    assert "sum_over_batch_size" in vocabulary.enumeration("reduction")
    assert "mixed_float16" in vocabulary.enumeration("dtype")
    assert vocabulary.enumeration("units") is None


@pytest.mark.parametrize(
    ("argument", "kind"),
    [
        ("activation", "activations"),
        ("recurrent_activation", "activations"),
        ("kernel_initializer", "initializers"),
        ("moving_variance_initializer", "initializers"),
        ("activity_regularizer", "regularizers"),
        ("bias_constraint", "constraints"),
        ("units", None),
        ("padding", None),
    ],
)
def test_argument_kind(argument, kind):
    assert argument_kind(argument) == kind


def test_every_default_of_a_checked_argument_is_in_the_vocabulary():
    """Keras' own defaults pass the checks: the vocabulary is not narrower than Keras."""
    refused = []
    for signature in [*catalog.keras_layers().values(), *catalog.builtin_layers().values()]:
        for param in signature.params:
            if not isinstance(param.default, str) or param.default == catalog.OBJECT_DEFAULT:
                continue
            kind = argument_kind(param.name)
            if kind is not None:
                ok = vocabulary.accepts(kind, param.default)
            elif vocabulary.enumeration(param.name) is not None:
                ok = param.default.lower() in vocabulary.enumeration(param.name)
            else:
                continue
            if not ok:
                refused.append(f"{signature.name}.{param.name}={param.default!r}")
    assert refused == []


# --- layer arguments -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "wrong", "right", "what"),
    [
        ("activation", "softmx", "softmax", "a Keras activation"),
        ("kernel_initializer", "glorot_unifrom", "glorot_uniform", "a Keras initializer"),
        ("kernel_initializer", "GlorotUnifrom", "GlorotUniform", "a Keras initializer"),
        ("kernel_regularizer", "l1_l3", "l1_l2", "a Keras regularizer"),
        ("kernel_constraint", "max_nrom", "max_norm", "a Keras constraint"),
        ("padding", "sme", "same", "a value of Conv2D's 'padding'"),
        ("data_format", "channels_lats", "channels_last", "a value of Conv2D's 'data_format'"),
        ("dtype", "flaot32", "float32", "a value of Conv2D's 'dtype'"),
    ],
)
def test_a_layer_argument_is_checked_at_its_value(argument, wrong, right, what):
    text = f"""
        inputs: {{x: [8, 8, 1]}}
        graph:
          - Conv2D:
              filters: 4
              kernel_size: 3
              {argument}: {wrong}
        """
    err = only_error(text)
    assert located(err) == position_of(text, wrong)
    assert err.message == f"'{wrong}' is not {what}"
    assert err.hint.startswith(f"Did you mean '{right}'?")


@pytest.mark.parametrize(
    ("layer", "argument", "wrong", "right"),
    [
        ("UpSampling2D", "interpolation", "bilinaer", "bilinear"),
        ("LSTM", "recurrent_activation", "sigmod", "sigmoid"),
    ],
)
def test_other_enumerated_and_identifier_arguments(layer, argument, wrong, right):
    text = f"""
        inputs: {{x: [8, 8, 1]}}
        graph:
          - {layer}: {{{argument}: {wrong}{", units: 3" if layer == "LSTM" else ""}}}
        """
    err = only_error(text)
    assert located(err) == position_of(text, wrong)
    assert err.hint.startswith(f"Did you mean '{right}'?")


def test_merge_mode_of_a_bidirectional_layer():
    text = """
        inputs: {x: [5, 3]}
        graph:
          - Bidirectional:
              layer: {LSTM: {units: 4}}
              merge_mode: concatenate
        """
    err = only_error(text)
    assert located(err) == position_of(text, "concatenate")
    assert err.message == "'concatenate' is not a value of Bidirectional's 'merge_mode'"


def test_a_nested_layer_is_checked_too():
    text = """
        inputs: {x: [5, 3]}
        graph:
          - Bidirectional:
              layer: {LSTM: {units: 4, activation: tahn}}
        """
    err = only_error(text)
    assert located(err) == position_of(text, "tahn")
    assert err.hint.startswith("Did you mean 'tanh'?")


def test_the_class_name_config_form_is_checked_by_its_class_name():
    text = """
        inputs: {x: [4]}
        graph:
          - Dense:
              units: 2
              kernel_initializer: {class_name: GlorotUnifrom, config: {seed: 1}}
        """
    err = only_error(text)
    assert located(err) == position_of(text, "GlorotUnifrom")
    assert err.hint.startswith("Did you mean 'GlorotUniform'?")
    kb.load(
        _text(
            """
            inputs: {x: [4]}
            graph:
              - Dense:
                  units: 2
                  kernel_initializer: {class_name: GlorotUniform, config: {seed: 1}}
                  kernel_regularizer: {class_name: L2, config: {l2: 0.01}}
            """
        )
    )


def test_independent_wrong_values_are_reported_together():
    text = """
        inputs: {x: [8, 8, 1]}
        graph:
          - Conv2D: {filters: 4, kernel_size: 3, padding: sme, activation: rlu}
          - Dense: {units: 2, activation: softmx}
        """
    errors = errors_of(text)
    assert [located(e) for e in errors] == [
        position_of(text, word) for word in ("sme", "rlu", "softmx")
    ]


def test_keras_accepts_these_spellings_so_the_check_does_too():
    kb.load(
        _text(
            """
            inputs: {x: [8, 8, 1]}
            graph:
              - Conv2D: {filters: 4, kernel_size: 3, padding: SAME, data_format: channels_last}
              - Flatten: {}
              - Dense: {units: 2, activation: null, kernel_initializer: he_normal}
              - Dense: {units: 2, dtype: mixed_float16, bias_initializer: Zeros}
            """
        )
    )


def test_a_value_from_an_expression_is_checked_where_the_expression_is_written():
    text = """
        params: {act: softmx}
        inputs: {x: [4]}
        graph:
          - Dense: {units: 2, activation: "${act}"}
        """
    err = only_error(text)
    assert located(err) == position_of(text, '"${act}"')
    assert err.hint.startswith("Did you mean 'softmax'?")
    kb.load(_text(text.replace("softmx", "softmax")))


def test_a_search_space_of_valid_names_loads():
    blueprint = kb.load(
        _text(
            """
            inputs: {x: [4]}
            graph:
              - Dense: {units: 2, activation: {choice: [relu, tanh, softmax]}}
            """
        )
    )
    assert blueprint.nodes


def test_an_object_registered_with_keras_is_accepted():
    import keras

    name = "vocabulary_test_activation"

    def activation(x):
        return x

    activation.__name__ = name
    custom = keras.saving.get_custom_objects()
    keras.saving.register_keras_serializable(package="vocabulary_tests")(activation)
    try:
        kb.load(_text(f"inputs: {{x: [4]}}\ngraph:\n  - Dense: {{units: 2, activation: {name}}}\n"))
        with pytest.raises(BlueprintError, match="Did you mean 'vocabulary_test_activation'"):
            kb.load(
                _text(f"inputs: {{x: [4]}}\ngraph:\n  - Dense: {{units: 2, activation: {name}x}}\n")
            )
    finally:
        custom.pop(f"vocabulary_tests>{name}", None)


# --- compile ---------------------------------------------------------------------------

GRAPH = """
inputs: {x: [4]}
graph:
  - name: out
    Dense: {units: 3, activation: softmax}
"""


@pytest.mark.parametrize(
    ("line", "word", "message", "hint"),
    [
        ("  optimizer: adamm", "adamm", "'adamm' is not a Keras optimizer", "'adam'"),
        ("  optimizer: {Adamm: {}}", "Adamm", "'Adamm' is not a Keras optimizer", "'Adam'"),
        (
            "  loss: sparse_categorical_crossentopy",
            "sparse_categorical_crossentopy",
            "'sparse_categorical_crossentopy' is not a Keras loss",
            "'sparse_categorical_crossentropy'",
        ),
        (
            "  loss: {CategoricalCrossentopy: {from_logits: true}}",
            "CategoricalCrossentopy",
            "'CategoricalCrossentopy' is not a Keras loss",
            "'CategoricalCrossentropy'",
        ),
        ("  metrics: [accuracy, aucc]", "aucc", "'aucc' is not a Keras metric", "'auc'"),
        ("  weighted_metrics: [maee]", "maee", "'maee' is not a Keras metric", "'mae'"),
        (
            "  loss: {MeanSquaredError: {reduction: summ}}",
            "summ",
            "'summ' is not a value of MeanSquaredError's 'reduction'",
            "'sum'",
        ),
        (
            "  optimizer: {sgd: {learning_rate: {CosineDecai: {}}}}",
            "CosineDecai",
            "'CosineDecai' is not a learning-rate schedule",
            "'CosineDecay'",
        ),
        (
            "  optimizer: {sgd: {learning_rate: {LinearWarmup: {after: {StepDecai: {}}}}}}",
            "StepDecai",
            "'StepDecai' is not a learning-rate schedule",
            "'StepDecay'",
        ),
        (
            "  optimizer: {LossScaleOptimizer: {inner_optimizer: adamm}}",
            "adamm",
            "'adamm' is not a Keras optimizer",
            "'adam'",
        ),
    ],
)
def test_compile_names_are_checked_at_their_value(line, word, message, hint):
    text = GRAPH + f"compile:\n{line}\n"
    (err,) = errors_of(text)
    assert located(err) == position_of(text, word)
    assert err.message == message
    assert err.hint.startswith(f"Did you mean {hint}?")


def test_compile_aliases_and_shorthands_load():
    kb.load(
        _text(GRAPH)
        + "compile:\n"
        + "  optimizer: {Adam: {learning_rate: 1e-3}}\n"
        + "  loss: {out: mse}\n"
        + "  metrics: [acc, mae, AUC, {Precision: {}}]\n"
    )


# --- monitored metrics -----------------------------------------------------------------

COMPILED = GRAPH + "compile: {optimizer: adam, loss: mse, metrics: [accuracy]}\n"


@pytest.mark.parametrize(
    ("section", "wrong", "right"),
    [
        ("train: {monitor: val_acc}", "val_acc", "val_accuracy"),
        (
            "train:\n  callbacks:\n    - early_stopping: {monitor: val_acuracy}",
            "val_acuracy",
            "val_accuracy",
        ),
        ("tune: {objective: val_los}", "val_los", "val_loss"),
    ],
)
def test_a_monitored_metric_must_be_one_the_model_logs(section, wrong, right):
    text = COMPILED + section + "\n"
    (err,) = errors_of(text)
    assert located(err) == position_of(text, wrong)
    assert err.message == f"'{wrong}' is not a metric this model logs"
    assert err.hint.startswith(f"Did you mean '{right}'?")


def test_a_metric_logged_by_its_own_name_is_accepted():
    kb.load(_text(COMPILED) + "train: {monitor: val_accuracy}\n")
    logged_as_written = COMPILED.replace("[accuracy]", "[acc]")
    kb.load(_text(logged_as_written) + "train: {monitor: val_acc}\n")
    kb.load(_text(COMPILED) + "train: {monitor: learning_rate}\n")  # logged by a callback


@pytest.mark.parametrize(
    "compile_section",
    [
        "compile: {optimizer: adam, loss: mse, metrics: [{Precision: {name: prec}}]}",
        "compile: {optimizer: adam, loss: mse, metrics: [AUC]}",
        "compile: {optimizer: adam, loss: mse, metrics: [mae], weighted_metrics: [mae]}",
    ],
)
def test_a_monitor_is_not_refused_when_the_logged_names_are_not_certain(compile_section):
    # A metric written as a class logs a name of its own (``prec``, ``auc``).
    kb.load(_text(GRAPH) + compile_section + "\ntrain: {monitor: val_prec}\n")
    kb.load(_text(GRAPH) + compile_section + "\ntrain: {monitor: val_auc}\n")


def test_a_monitor_of_a_model_with_several_outputs_is_left_to_the_run():
    kb.load(
        _text(
            """
            inputs: {x: [4]}
            graph:
              - {name: a, Dense: {units: 2}}
              - {name: b, Dense: {units: 2}, from: x}
            outputs: [a, b]
            compile: {optimizer: adam, loss: mse, metrics: {a: [mae], b: [mae]}}
            train: {monitor: val_a_mae}
            """
        )
    )


# --- the issue's example, on the command line ------------------------------------------

ISSUE_EXAMPLE = """\
name: mistakes
inputs:
  image: {shape: [28, 28, 1]}
graph:
  - Conv2D: {filters: 8, kernel_size: 3, kernel_initializer: glorot_unifrom}
  - Flatten: {}
  - Dense: {units: 10, activation: softmx}
compile:
  optimizer: adamm
  loss: sparse_categorical_crossentopy
"""


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "keras_blueprints", "validate", "--no-build", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=env,
    )


def _error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in (result.stdout + result.stderr).splitlines() if ": error: " in line]


def test_the_issue_example_is_refused_by_validate_no_build(tmp_path):
    path = tmp_path / "mistakes.yaml"
    path.write_text(ISSUE_EXAMPLE)
    result = _validate(path)
    assert result.returncode == 2
    # The graph's mistakes and the compile section's, in one run, in order.
    assert _error_lines(result) == [
        f"{path}:5:62: error: 'glorot_unifrom' is not a Keras initializer.",
        f"{path}:7:36: error: 'softmx' is not a Keras activation.",
        f"{path}:9:14: error: 'adamm' is not a Keras optimizer.",
        f"{path}:10:9: error: 'sparse_categorical_crossentopy' is not a Keras loss.",
    ]
    assert "Did you mean 'sparse_categorical_crossentropy'?" in result.stdout + result.stderr
    # The graph fixed, the compile section's mistakes remain, alone.
    path.write_text(
        ISSUE_EXAMPLE.replace("glorot_unifrom", "glorot_uniform").replace("softmx", "softmax")
    )
    result = _validate(path)
    assert result.returncode == 2
    assert _error_lines(result) == [
        f"{path}:9:14: error: 'adamm' is not a Keras optimizer.",
        f"{path}:10:9: error: 'sparse_categorical_crossentopy' is not a Keras loss.",
    ]


def test_validate_no_build_checks_the_vocabulary_without_tensorflow(tmp_path):
    path = tmp_path / "mistakes.yaml"
    path.write_text(ISSUE_EXAMPLE)
    status, heavy, _ = run_cli_isolated(["validate", "--no-build", str(path)])
    assert (status, heavy) == (2, [])
    path.write_text(_text(COMPILED) + "train: {monitor: val_accuracy}\n")
    status, heavy, _ = run_cli_isolated(["validate", "--no-build", str(path)])
    assert (status, heavy) == (0, [])


@pytest.mark.parametrize("name", zoo.names())
def test_every_zoo_blueprint_still_loads(name):
    assert kb.load(f"zoo:{name}").nodes
