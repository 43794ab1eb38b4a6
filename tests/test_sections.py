"""The top-level sections, each declared once (resolve/specs.py): checks, errors, schema."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError, BlueprintErrors, Location
from keras_blueprints.resolve.schema import CompileSpec as CompileReExported
from keras_blueprints.resolve.schema import TrainSpec as ReExported
from keras_blueprints.resolve.specs import (
    SECTIONS,
    CompileSpec,
    DataSpec,
    PretrainSpec,
    RuntimeSpec,
    TrainSpec,
    TuneSpec,
)
from keras_blueprints.views.jsonschema import blueprint_schema, model_schema

HEAD = """\
inputs: {x: [64]}
graph:
  - {name: hidden, Dense: {units: 8, activation: relu}}
  - {name: out, Dense: {units: 10, activation: softmax}}
"""
FIRST = HEAD.count("\n") + 1  # the line of the first section after HEAD


def load(text: str, overrides=()) -> kb.Blueprint:
    return kb.load(HEAD + textwrap.dedent(text).lstrip("\n"), overrides)


def errors_of(text: str) -> list[BlueprintError]:
    with pytest.raises(BlueprintError) as info:
        load(text)
    err = info.value
    return list(err.errors) if isinstance(err, BlueprintErrors) else [err]


# -- the models check their values on construction --------------------------------------


@pytest.mark.parametrize(
    ("spec", "values"),
    [
        (TrainSpec, {"epochs": -3}),
        (TrainSpec, {"epochs": 0}),
        (TrainSpec, {"epochs": True}),  # no coercion: a flag is not a count
        (TrainSpec, {"seed": -1}),
        (TrainSpec, {"monitor": ""}),
        (TrainSpec, {"callbacks": ["learning_curves"]}),  # entries are checked CallbackSpecs
        (TrainSpec, {"epoch": 3}),  # unknown field
        (DataSpec, {"batch_size": 0}),
        (DataSpec, {"validation": 1.5}),
        (DataSpec, {"label_noise": 1.0}),
        (DataSpec, {"shuffle": "yes"}),
        (DataSpec, {"cache": 1}),
        (TuneSpec, {"tuner": "genetic"}),
        (TuneSpec, {"direction": "up"}),
        (TuneSpec, {"factor": 1}),
        (TuneSpec, {"max_trials": "3"}),
        (RuntimeSpec, {"strategy": "parallel"}),
        (RuntimeSpec, {"jit_compile": "yes"}),
        (RuntimeSpec, {"strategy": "one_device", "devices": ("/gpu:0", "/gpu:1")}),
        (RuntimeSpec, {"devices": ("/gpu:0",)}),  # the default strategy takes no devices
        (PretrainSpec, {"pairs": ()}),
        (PretrainSpec, {"pairs": (("enc", "dec"),), "noise": -0.1}),
        (CompileSpec, {"optimizer": 3}),
        (CompileSpec, {"optimizer": {"adam": 0.1}}),  # arguments are a mapping
        (CompileSpec, {"optimizer": {"adam": {}, "sgd": {}}}),  # one optimizer
        (CompileSpec, {"optimizer_args": ["learning_rate", 0.1]}),
        (CompileSpec, {"steps_per_execution": 0}),
        (CompileSpec, {"jit_compile": "maybe"}),
        (CompileSpec, {"run_eagerly": 1}),
        (CompileSpec, {"auto_scale_loss": "yes"}),
        (CompileSpec, {"learning_rate": 0.1}),  # unknown field
        (CompileSpec, {"extra": {"jit_compile": True}}),  # keywords are fields of their own
    ],
)
def test_a_spec_refuses_bad_values_on_construction(spec, values):
    with pytest.raises(ValueError):
        spec(**values)


def test_the_specs_are_frozen_and_their_defaults_are_declared_once():
    spec = TrainSpec()
    with pytest.raises(ValueError):
        spec.epochs = 3
    assert (spec.epochs, spec.seed, spec.deterministic, spec.callbacks) == (10, 0, True, ())
    assert load("train: {}\n").train == spec  # the reader's defaults are the model's
    assert (DataSpec().batch_size, DataSpec().shuffle) == (32, 1024)
    assert ReExported is TrainSpec  # resolve.schema re-exports the declared models


def test_equality_ignores_where_a_section_was_written():
    here, there = Location("a.yaml", 3, 1), Location("b.yaml", 9, 5)
    assert TrainSpec(epochs=2, location=here) == TrainSpec(epochs=2, location=there)
    assert hash(TrainSpec(epochs=2, location=here)) == hash(TrainSpec(epochs=2, location=there))
    assert TrainSpec(epochs=2) != TrainSpec(epochs=3)


def test_the_tuning_direction_defaults_from_the_objective():
    assert TuneSpec(objective="val_accuracy").direction == "max"
    assert TuneSpec().direction == "min"
    assert TuneSpec(objective="val_accuracy", direction="min").direction == "min"


def test_the_compile_spec_takes_the_optimizer_as_written_or_split():
    written = CompileSpec(optimizer={"adam": {"learning_rate": 0.1}}, loss="mse")
    split = CompileSpec(optimizer="adam", optimizer_args={"learning_rate": 0.1}, loss="mse")
    assert written == split
    assert (written.optimizer, dict(written.optimizer_args)) == ("adam", {"learning_rate": 0.1})
    assert CompileSpec(optimizer={"adam": None}).optimizer_args == {}
    assert CompileSpec() == CompileSpec(optimizer="rmsprop")
    with pytest.raises(ValueError):
        written.loss = "mae"
    with pytest.raises(TypeError):  # frozen deeply: YAML mappings become read-only
        written.optimizer_args["learning_rate"] = 1.0
    assert CompileReExported is CompileSpec


def test_the_compile_spec_passes_on_only_the_keywords_given():
    assert dict(CompileSpec().extra) == {}
    spec = CompileSpec(jit_compile=False, steps_per_execution=4)
    assert dict(spec.extra) == {"jit_compile": False, "steps_per_execution": 4}
    assert dict(spec.model_copy(update={"jit_compile": True}).extra)["jit_compile"] is True
    bp = load("compile: {loss: mse, run_eagerly: true, weighted_metrics: [accuracy]}\n")
    assert dict(bp.compile.extra) == {"run_eagerly": True, "weighted_metrics": ("accuracy",)}
    assert bp.compile.loss == "mse"


def test_every_compile_keyword_is_a_field_of_the_model():
    core = ("optimizer", "loss", "metrics", "loss_weights")
    extra = ("jit_compile", "steps_per_execution", "run_eagerly", "weighted_metrics")
    assert CompileSpec.yaml_keys() == (*core, *extra, "auto_scale_loss")
    assert CompileSpec.extra_keys() == (*extra, "auto_scale_loss")
    assert "optimizer_args" in CompileSpec.model_fields  # filled from 'optimizer'


# -- the reader locates each refused value in the YAML -----------------------------------


@pytest.mark.parametrize(
    ("text", "col", "message", "received"),
    [
        ("data: {source: digits, batch_size: 0}", 36, "'batch_size' must be a positive integer", 0),
        ("data: {source: digits, cache: 2}", 31, "'cache' must be true or false", 2),
        ("data: {label_noise: 1.5}", 21, "'label_noise' must be a fraction", 1.5),
        ("train: {seed: -1}", 15, "'seed' must be a non-negative integer", -1),
        ("train: {monitor: 3}", 18, "'monitor' names a logged metric", 3),
        ("train: {pretrain: {pairs: [[hidden, out]], noise: -1}}", 51, "'noise' is a standard"
         " deviation", -1),
        ("tune: {factor: 1}", 16, "Hyperband's 'factor' must be at least 2", 1),
        ("tune: {max_trials: '3'}", 20, "'max_trials' must be a positive integer", "3"),
        ("runtime: {jit_compile: maybe}", 24, "'jit_compile' is true, false or auto", "maybe"),
        ("runtime: {virtual_cpus: 0}", 25, "'virtual_cpus' must be a positive integer", 0),
        ("compile: {steps_per_execution: 0}", 32, "'steps_per_execution' must be a positive"
         " integer", 0),
        ("compile: {loss: mse, jit_compile: maybe}", 35, "'jit_compile' is true, false or auto",
         "maybe"),
        ("compile: {optimizer: [adam]}", 22, "an optimizer is a name or a one-key mapping of name"
         " to arguments", ["adam"]),
        ("compile: {optimizer: {adam: 0.1}}", 29, "the arguments of an optimizer must be a"
         " mapping", 0.1),
    ],
)  # fmt: skip
def test_a_refused_value_is_told_at_its_place(text, col, message, received):
    (err,) = errors_of(text + "\n")
    assert err.message == message
    assert (err.location.line, err.location.col) == (FIRST, col)
    assert err.received == received


@pytest.mark.parametrize(
    ("text", "col", "name", "suggestion"),
    [
        ("tune: {tuner: bayesan}", 15, "bayesan", "bayesian"),
        ("tune: {direction: maximum}", 19, "maximum", "max"),
        ("runtime: mirored", 10, "mirored", "mirrored"),
        ("tune: {max_trails: 3}", 8, "max_trails", "max_trials"),
        ("runtime: {stratgy: mirrored}", 11, "stratgy", "strategy"),
        ("data: {source: digits, batchsize: 8}", 24, "batchsize", "batch_size"),
        ("train: {pretrain: {pairs: [[hidden, out]], epoch: 2}}", 44, "epoch", "epochs"),
        ("compile: {optimiser: adam}", 11, "optimiser", "optimizer"),
        ("compile: {loss: {outt: mse}}", 18, "outt", "out"),
    ],
)
def test_an_unknown_name_or_choice_says_did_you_mean(text, col, name, suggestion):
    (err,) = errors_of(text + "\n")
    assert err.message.startswith(f"'{name}' is not a")
    assert (err.location.line, err.location.col) == (FIRST, col)
    assert err.hint.startswith(f"Did you mean '{suggestion}'?")


def test_a_check_across_fields_is_told_at_the_field():
    (err,) = errors_of("runtime: {strategy: one_device, devices: [a, b]}\n")
    assert err.message == "the one_device strategy takes one device"
    assert (err.location.line, err.location.col) == (FIRST, 42)
    assert err.received == ["a", "b"]
    (err,) = errors_of("runtime: {devices: /gpu:0}\n")
    assert err.message.startswith("'devices' applies to the one_device and mirrored")
    assert (err.location.line, err.location.col) == (FIRST, 11)  # at the key


def test_every_sections_errors_are_told_together():
    errs = errors_of("tune: {tuner: x, max_trials: 0, seed: -2, epochz: 1}\n")
    assert sorted(e.location.col for e in errs) == [15, 30, 39, 43]


def test_expressions_and_search_spaces_are_resolved_before_the_checks():
    bp = load(
        """
        params: {n: 3}
        train: {epochs: '${n * 2}', seed: {int: [0, 9], default: 4}}
        tune: {max_trials: '${n}'}
        """
    )
    assert (bp.train.epochs, bp.train.seed, bp.tune.max_trials) == (6, 4, 3)
    (err,) = errors_of("params: {n: 0}\ntrain: {epochs: '${n}'}\n")
    assert err.message == "'epochs' must be a positive integer"


def test_null_stands_for_the_default():
    bp = load("train: {epochs: null, steps_per_epoch: null}\ntune: {max_trials: null}\n")
    assert (bp.train.epochs, bp.train.steps_per_epoch, bp.tune.max_trials) == (10, None, 10)


# -- the editor's JSON Schema is derived from the models ---------------------------------


def _object(section: dict) -> dict:
    """A section's object schema (data and runtime may also be written as one string)."""
    return next(s for s in section.get("anyOf", [section]) if s.get("type") == "object")


def _without_notes(schema: dict) -> dict:
    return {k: v for k, v in schema.items() if k not in ("description", "default")}


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_every_sections_schema_is_derived_from_its_model(name):
    spec = SECTIONS[name]
    own = model_schema(spec)
    assert set(own["properties"]) == set(spec.model_json_schema()["properties"])
    assert set(own["properties"]) == set(spec.model_fields) - {"location"}
    section = _object(blueprint_schema()["properties"][name])
    assert section["additionalProperties"] is False
    assert set(section["properties"]) == set(own["properties"])
    for key, prop in section["properties"].items():
        expected = _without_notes(own["properties"][key])
        if "properties" in prop:  # a nested section (train.pretrain)
            assert set(prop["properties"]) == set(_object(expected)["properties"])
            continue
        derived, *also = prop["anyOf"]
        assert derived == expected
        assert also == [{"$ref": "#/$defs/expression"}, {"$ref": "#/$defs/searchSpace"}]
        assert prop["description"]


def test_the_compile_sections_schema_is_derived_from_its_model():
    own = model_schema(CompileSpec)
    assert tuple(own["properties"]) == CompileSpec.yaml_keys()  # not location, optimizer_args
    section = blueprint_schema()["properties"]["compile"]
    assert section["additionalProperties"] is False
    assert section["description"] == CompileSpec.summary
    assert tuple(section["properties"]) == CompileSpec.yaml_keys()
    for key, prop in section["properties"].items():
        derived, *also = prop["anyOf"]
        assert derived == _without_notes(own["properties"][key])
        assert also == [{"$ref": "#/$defs/expression"}, {"$ref": "#/$defs/searchSpace"}]
        assert prop["description"]
    assert section["properties"]["optimizer"]["description"].endswith('Default: "rmsprop".')
    steps = section["properties"]["steps_per_execution"]["anyOf"][0]
    assert {"type": "integer", "minimum": 1} in steps["anyOf"]


def test_the_schema_tells_each_fields_default():
    tune = _object(blueprint_schema()["properties"]["tune"])
    assert tune["properties"]["max_trials"]["description"].endswith("Default: 10.")
    assert tune["properties"]["tuner"]["description"].endswith('Default: "random".')


# -- pydantic stays off the path of blueprints without these sections --------------------


def test_a_blueprint_without_the_sections_loads_without_pydantic():
    code = (
        "import sys\nimport keras_blueprints as kb\n"
        f"kb.load({HEAD!r})\n"
        "print(sorted(m for m in ('pydantic', 'keras', 'tensorflow') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"
