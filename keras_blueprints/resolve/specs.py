"""The top-level sections (data, train, tune, runtime, compile), each declared once.

Each section is one frozen, validated pydantic model: its fields are the section's
keys (less those the reader fills: :meth:`SectionSpec.yaml_keys`), their defaults
the section's defaults, their constraints and validators its checks. Everything
else is derived from the model: the YAML reader
(:func:`keras_blueprints.resolve.training.read_section`), the editor's JSON Schema
(:mod:`keras_blueprints.views.jsonschema`) and the defaults the trainer falls back on
(``TrainSpec()``). Constructing a spec with a bad value raises, from YAML or from
Python alike.

A field's :class:`Says` tells the reader how to word a refused value, in the
project's error formula (what, expected, received), so that the message does not
depend on pydantic's wording.

This module imports pydantic (about 0.1 s); :mod:`keras_blueprints.resolve.schema`
re-exports its classes lazily, so that loading a blueprint without these sections
does not pay for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    InstanceOf,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema, WithJsonSchema

from keras_blueprints._core.errors import UNKNOWN, Location
from keras_blueprints.resolve.schema import CallbackSpec, SourceSpec, freeze

__all__ = [
    "EDITOR_REF",
    "SECTIONS",
    "STRATEGIES",
    "TUNERS",
    "CompileSpec",
    "DataSpec",
    "PretrainSpec",
    "Refusal",
    "RuleSpec",
    "RuntimeSpec",
    "Says",
    "SectionSpec",
    "TrainSpec",
    "TuneSpec",
]

Tuner = Literal["random", "grid", "bayesian", "hyperband"]
Strategy = Literal["default", "one_device", "mirrored", "multi_worker", "tpu"]
TUNERS: tuple[str, ...] = get_args(Tuner)
STRATEGIES: tuple[str, ...] = get_args(Strategy)


@dataclass(frozen=True)
class Says:
    """How a refused value of a field is told (``{key}`` stands for the field's name).

    Attributes:
        message: What is wrong, e.g. ``'{key}' must be a positive integer``.
        expected: What would be accepted, or None when the message says it.
    """

    message: str
    expected: str | None = None


class Refusal(ValueError):
    """A check across fields failed: raised by a section's validator, located by the reader.

    Attributes:
        key: The field whose value is at fault.
        message: What is wrong.
        at_key: Locate the error at the key rather than at its value.
        received: What was found instead, or None.
        hint: How to fix it, or None.
    """

    def __init__(
        self,
        key: str,
        message: str,
        *,
        at_key: bool = False,
        received: object = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.key = key
        self.message = message
        self.at_key = at_key
        self.received = received
        self.hint = hint


# -- the value types, with the words that tell a refused value -------------------------

Count = Annotated[int, Field(ge=1), Says("'{key}' must be a positive integer")]
Count0 = Annotated[int, Field(ge=0), Says("'{key}' must be a non-negative integer")]
OptionalCount = Annotated[int | None, Field(ge=1), Says("'{key}' must be a positive integer")]
Flag = Annotated[bool, Says("'{key}' must be true or false")]
Metric = Annotated[
    str, Field(min_length=1), Says("'{key}' names a logged metric", expected="e.g.  val_loss")
]
OptionalMetric = Annotated[
    str | None,
    Field(min_length=1),
    Says("'{key}' names a logged metric", expected="e.g.  val_loss"),
]
EDITOR_REF = "x-editor-ref"
"""A JSON Schema keyword standing for a ``$ref`` to a definition of the editor's schema
(a data source, a callback: generated from their registries); pydantic resolves every
``$ref`` itself, so the views turn this one into the reference."""
Source = Annotated[InstanceOf[SourceSpec], WithJsonSchema({EDITOR_REF: "source"})]
Split = Annotated[
    Annotated[float, Field(gt=0, lt=1)] | Source | None,
    Says("'{key}' must be a fraction or a data source", expected="a number in (0, 1), or a source"),
]
Choice = Says("")
"""The mark of a ``Literal`` field: a refused value is an unknown name ("Did you mean")."""

_SECTION_CONFIG = ConfigDict(
    frozen=True, extra="forbid", strict=True, hide_input_in_errors=True, defer_build=True
)
"""Frozen, no unknown keys, no coercion (``"3"`` is not 3, ``true`` not 1); a model's
validator is built on its first use (a blueprint rarely has every section)."""


class SectionSpec(BaseModel):
    """A top-level section: frozen, validated on construction, located in the YAML.

    Two specs are equal when their values are, wherever they were written
    (``location`` is not compared), as a blueprint dumped and loaded again is equal.
    """

    model_config = _SECTION_CONFIG
    summary: ClassVar[str] = ""
    """What the section is for (the JSON Schema's description)."""

    location: SkipJsonSchema[InstanceOf[Location]] = Field(default=UNKNOWN, repr=False)
    """Where the section stands."""

    @classmethod
    def yaml_keys(cls) -> tuple[str, ...]:
        """The keys the section's YAML mapping may have.

        They are its fields less those left out of its JSON Schema, which are not
        written as keys of their own (``location``; ``compile``'s ``optimizer_args``,
        written inside ``optimizer``).

        Returns:
            The keys, in the order the fields are declared.
        """
        return tuple(
            key
            for key, field in cls.model_fields.items()
            if not any(isinstance(m, SkipJsonSchema) for m in field.metadata)
        )

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, k) for k in type(self).model_fields if k != "location")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), _hashable(self._values())))


def _hashable(value: Any) -> Any:
    """``value`` with its read-only mappings (arguments) as sorted items."""
    if isinstance(value, Mapping):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, tuple):
        return tuple(_hashable(v) for v in value)
    return value


class DataSpec(SectionSpec):
    """The ``data:`` section: where training, validation and test examples come from."""

    summary: ClassVar[str] = (
        "Where training, validation and test examples come from, and how they are batched"
        " (blueprint train)."
    )

    source: Source | None = Field(
        None, description="The training data (null: it must come from --data)."
    )
    validation: Split = Field(
        None, description="A fraction of the training data held out, or a separate source."
    )
    test: Split = Field(None, description="A fraction held out, or a source.")
    batch_size: Count = Field(32, description="Examples per batch.")
    shuffle: Annotated[
        Count0,
        BeforeValidator(lambda value: 0 if value is False else value),
        WithJsonSchema({"type": ["integer", "boolean"], "minimum": 0}),
    ] = Field(1024, description="Shuffle buffer size for the training data (0 or false: off).")
    cache: Flag = Field(
        True, description="Cache the decoded examples in memory after the first epoch."
    )
    label_noise: Annotated[
        float, Field(ge=0, lt=1), Says("'{key}' must be a fraction", expected="a number in [0, 1)")
    ] = Field(
        0.0,
        description="Share of training labels replaced by a random other class (integer labels).",
    )


NAMED = {
    "anyOf": [
        {"type": "string"},
        {
            "type": "object",
            "minProperties": 1,
            "maxProperties": 1,
            "additionalProperties": {"type": ["object", "null"]},
        },
    ]
}
"""The JSON Schema of a name or ``{name: {arguments}}``."""


@dataclass(frozen=True)
class RuleSpec:
    """``train.rule``: the training rule's registered name and its checked arguments.

    Attributes:
        name: The rule (``backprop``: Keras' fit).
        args: Its keyword arguments, frozen (the reader fills in the defaults).
    """

    name: str = "backprop"
    args: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def of(cls, value: Any) -> Any:
        """``NAME`` or ``{NAME: {arguments}}`` as a spec (anything else as it is, to be refused)."""
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, Mapping) and len(value) == 1:
            ((name, args),) = value.items()
            if isinstance(name, str) and isinstance(args, Mapping | None):
                return cls(name, freeze(args or {}))
        return value

    def __hash__(self) -> int:
        return hash((self.name, _hashable(self.args)))


NodeName = Annotated[str, Field(min_length=1)]


class PretrainSpec(SectionSpec):
    """``train.pretrain``: greedy layer-wise pretraining of a stacked autoencoder."""

    summary: ClassVar[str] = "Greedy layer-wise pretraining of a stacked autoencoder."

    pairs: Annotated[
        tuple[tuple[NodeName, NodeName], ...],
        Field(min_length=1),
        Says(
            "'pretrain' needs 'pairs': (encoder layer, decoder layer) node names, outermost first",
            expected="e.g.  pairs: [[enc1, dec1], [enc2, dec2]]",
        ),
    ] = Field(description="(encoder layer, decoder layer) node names, outermost pair first.")
    epochs: Count = Field(5, description="Epochs for each pair.")
    noise: Annotated[
        float, Field(ge=0), Says("'{key}' is a standard deviation", expected="a number >= 0")
    ] = Field(
        0.0,
        description="Standard deviation of Gaussian noise added to each pair's input (0: none).",
    )
    loss: Annotated[str, Says("'{key}' names a Keras loss")] = Field(
        "mse", description="The reconstruction loss (method autoencoder)."
    )
    method: Annotated[Literal["autoencoder", "rbm"], Choice] = Field(
        "autoencoder",
        description="autoencoder (each pair fitted by backprop) or rbm (each encoder an RBM"
        " trained by contrastive divergence, its decoder the transpose: a DBN unrolled).",
    )
    cd_k: Count = Field(1, description="Gibbs steps of contrastive divergence CD-k (method rbm).")
    learning_rate: Annotated[
        float, Field(gt=0), Says("'{key}' must be a positive number", expected="a number > 0")
    ] = Field(0.1, description="Learning rate of contrastive divergence (method rbm).")
    momentum: Annotated[
        float, Field(ge=0, lt=1), Says("'{key}' must be a fraction", expected="a number in [0, 1)")
    ] = Field(0.0, description="Momentum of contrastive divergence (method rbm).")


class TrainSpec(SectionSpec):
    """The ``train:`` section: how ``blueprint train`` fits the model."""

    summary: ClassVar[str] = "How blueprint train fits the model."

    epochs: Count = Field(10, description="Number of epochs.")
    seed: Count0 = Field(
        0,
        description="Seed of every random generator (weights, shuffling, dropout, generated data).",
    )
    steps_per_epoch: OptionalCount = Field(
        None, description="Batches per epoch (null: the whole training set)."
    )
    monitor: OptionalMetric = Field(
        None,
        description="Metric picking the best checkpoint (val_loss, or loss if no validation).",
    )
    deterministic: Flag = Field(
        True,
        description="Make TensorFlow's ops deterministic (same seed, same machine: same metrics).",
    )
    callbacks: Annotated[
        tuple[InstanceOf[CallbackSpec], ...],
        WithJsonSchema({"type": "array", "items": {EDITOR_REF: "callback"}}),
    ] = Field((), description="Callbacks, in order.")
    pretrain: PretrainSpec | None = Field(
        None, description="Layer-wise pretraining before fitting, or null."
    )
    rule: Annotated[
        InstanceOf[RuleSpec],
        BeforeValidator(lambda value: RuleSpec.of(value)),
        Says(
            "a training rule is a name or a one-key mapping of name to arguments",
            expected="e.g.  perceptron  or  {hebbian: {rate: 0.1}}",
        ),
        WithJsonSchema(NAMED),
    ] = Field(
        default_factory=lambda: RuleSpec(),
        description="How the weights learn: backprop (Keras' fit, the default), or a rule such"
        " as hebbian, perceptron, hopfield, fixed; a name or {name: {arguments}}.",
    )


class TuneSpec(SectionSpec):
    """The ``tune:`` section: how ``blueprint tune`` searches the blueprint's spaces."""

    summary: ClassVar[str] = "How blueprint tune searches the blueprint's search spaces."

    tuner: Annotated[Tuner, Choice] = Field("random", description="The search strategy.")
    objective: Metric = Field("val_loss", description="The logged metric to optimise.")
    direction: Annotated[Literal["min", "max"], Choice] = Field(
        "min", description="min or max (default: from the metric's name)."
    )
    max_trials: Count = Field(10, description="Trials at most (random, grid, bayesian).")
    executions_per_trial: Count = Field(
        1, description="Models trained per trial (their objective is averaged)."
    )
    epochs: OptionalCount = Field(
        None, description="Epochs per trial (random, grid, bayesian; default: train.epochs)."
    )
    max_epochs: Count = Field(10, description="Hyperband's largest number of epochs for one model.")
    factor: Annotated[int, Field(ge=2), Says("Hyperband's '{key}' must be at least 2")] = Field(
        3, description="Hyperband's reduction factor."
    )
    patience: OptionalCount = Field(
        None, description="Early stopping inside a trial (epochs without improvement), or null."
    )
    seed: Count0 = Field(0, description="The search's seed.")

    @model_validator(mode="before")
    @classmethod
    def _direction_from_the_objective(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("direction") is None:
            from keras_blueprints.resolve.directions import default_direction

            objective = data.get("objective", "val_loss")
            if isinstance(objective, str):
                data = {**data, "direction": default_direction(objective)}
        return data


class RuntimeSpec(SectionSpec):
    """The ``runtime:`` section: where and how the model runs (tf.distribute, precision, XLA)."""

    summary: ClassVar[str] = "Where the model runs: a tf.distribute strategy, mixed precision, XLA."

    strategy: Annotated[Strategy, Choice] = Field(
        "default", description="The tf.distribute strategy."
    )
    devices: Annotated[
        tuple[Annotated[str, Field(min_length=1)], ...],
        Field(min_length=1),
        Says("'{key}' lists device names", expected='e.g.  ["/gpu:0", "/gpu:1"]'),
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"type": "string"}, "minItems": 1},
                ]
            }
        ),
    ] = Field(
        (),
        description='one_device or mirrored: e.g. ["/gpu:0", "/gpu:1"] (none: strategy\'s choice).',
    )
    tpu: Annotated[
        str | None,
        Field(min_length=1),
        Says("'{key}' is the TPU resolver's address", expected="a non-empty string"),
    ] = Field(
        None, description="The TPU resolver's address (tpu strategy), or null for the default."
    )
    virtual_cpus: OptionalCount = Field(
        None, description="Split the CPU into this many logical devices before TensorFlow starts."
    )
    scale_batch_size: Flag = Field(
        False, description="Multiply the batch size by the number of replicas."
    )
    mixed_precision: Flag = Field(
        False, description="Compute in float16 (GPU) or bfloat16 (TPU, CPU) with float32 variables."
    )
    jit_compile: Annotated[
        bool | Literal["auto"],
        Says("'{key}' is true, false or auto", expected="true, false or auto"),
    ] = Field("auto", description="XLA: true, false or auto (Keras' choice).")

    @model_validator(mode="after")
    def _devices_fit_the_strategy(self) -> RuntimeSpec:
        if self.strategy == "one_device" and len(self.devices) > 1:
            raise Refusal(
                "devices",
                "the one_device strategy takes one device",
                received=list(self.devices),
                hint="Use strategy: mirrored to train on several devices.",
            )
        if self.devices and self.strategy not in ("one_device", "mirrored"):
            raise Refusal(
                "devices",
                "'devices' applies to the one_device and mirrored strategies,"
                f" not to {self.strategy}",
                at_key=True,
            )
        return self


Frozen = Annotated[Any, AfterValidator(freeze)]
"""Any YAML value, kept deeply immutable (mappings read-only, lists tuples)."""
OptionalFlag = Annotated[bool | None, Says("'{key}' must be true or false")]


class CompileSpec(SectionSpec):
    """The ``compile:`` section: how ``build`` compiles the model.

    The YAML names the optimizer with its arguments (``optimizer: {adam:
    {learning_rate: 0.001}}``); the model keeps the name in ``optimizer`` and the
    arguments in ``optimizer_args``, and takes either form. The other
    ``Model.compile`` keywords (``jit_compile``, ``steps_per_execution``...) are fields
    of their own, passed to Keras together as :attr:`extra`, only those given.
    Losses and metrics are named as Keras names them (checked by the builder,
    which imports Keras); the resolver checks per-output settings against the outputs.
    """

    summary: ClassVar[str] = "How the model is compiled."

    optimizer: Annotated[
        str,
        Says(
            "an optimizer is a name or a one-key mapping of name to arguments",
            expected="e.g.  adam  or  {adam: {learning_rate: 0.001}}",
        ),
        WithJsonSchema(NAMED),
    ] = Field("rmsprop", description="An optimizer name, or {name: {arguments}}.")
    optimizer_args: SkipJsonSchema[Annotated[Mapping[Any, Any], AfterValidator(freeze)]] = Field(
        default_factory=lambda: MappingProxyType({}),
        description="The optimizer's arguments (written inside 'optimizer').",
    )
    loss: Frozen = Field(None, description="A loss name, or a mapping of output name to loss.")
    metrics: Frozen = Field(
        None, description="Metric names, or a mapping of output name to metrics."
    )
    loss_weights: Frozen = Field(None, description="Per-output loss weights.")
    jit_compile: Annotated[
        bool | Literal["auto"] | None,
        Says("'{key}' is true, false or auto", expected="true, false or auto"),
    ] = Field(None, description="XLA: true, false or auto (default: Keras' choice).")
    steps_per_execution: OptionalCount = Field(
        None, description="Batches run in one call of the compiled step (default: 1)."
    )
    run_eagerly: OptionalFlag = Field(
        None, description="Run the model eagerly, for debugging (default: false)."
    )
    weighted_metrics: Frozen = Field(
        None, description="Metrics weighted by the sample weights, as 'metrics'."
    )
    auto_scale_loss: OptionalFlag = Field(
        None, description="Scale the loss under mixed precision (default: true)."
    )

    @model_validator(mode="before")
    @classmethod
    def _optimizer_with_its_arguments(cls, data: Any) -> Any:
        """``optimizer: {name: {arguments}}`` (as written) -> the name and its arguments."""
        if not isinstance(data, dict) or not isinstance(data.get("optimizer"), Mapping):
            return data
        value = data["optimizer"]
        if len(value) != 1 or "optimizer_args" in data:
            raise Refusal(
                "optimizer",
                "an optimizer is a name or a one-key mapping of name to arguments",
                received=value,
            )
        ((name, args),) = value.items()
        return {**data, "optimizer": name, "optimizer_args": {} if args is None else args}

    @property
    def extra(self) -> Mapping[str, Any]:
        """The further ``Model.compile`` keywords that were given, by name."""
        given = {key: getattr(self, key) for key in self.extra_keys()}
        return MappingProxyType({k: v for k, v in given.items() if v is not None})

    @classmethod
    def extra_keys(cls) -> tuple[str, ...]:
        """The further ``Model.compile`` keywords a ``compile:`` section may give.

        Returns:
            Its YAML keys other than the optimizer, the loss, the metrics and the loss
            weights, in the order the fields are declared.
        """
        return tuple(k for k in cls.yaml_keys() if k not in _COMPILE_CORE)


_COMPILE_CORE = ("optimizer", "loss", "metrics", "loss_weights")

SECTIONS: dict[str, type[SectionSpec]] = {
    "data": DataSpec,
    "train": TrainSpec,
    "tune": TuneSpec,
    "runtime": RuntimeSpec,
}
"""The top-level sections declared here whose YAML keys are all their fields, by their
YAML key (``compile``, whose optimizer is written with its arguments, is read with the
model's outputs at hand: :func:`keras_blueprints.resolve.sections.resolve_compile`)."""
