"""Typed, frozen blueprint objects: what builders receive.

The top-level sections (``CompileSpec``, ``DataSpec``, ``TrainSpec``, ``TuneSpec``,
``RuntimeSpec``, ``PretrainSpec``) are declared in :mod:`keras_blueprints.resolve.specs`
and re-exported here on first use, so that blueprints without them load without pydantic.

A :class:`Blueprint` is fully resolved: parameters substituted, repeats
unrolled, YAML blocks expanded into named nodes, references checked, layer
arguments checked against their signatures. Builders never see YAML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from keras_blueprints._core.errors import BlueprintWarning, Location

if TYPE_CHECKING:
    from keras_blueprints.resolve.specs import (
        CompileSpec,
        DataSpec,
        PretrainSpec,
        RuntimeSpec,
        TrainSpec,
        TuneSpec,
    )

_SECTION_SPECS = (
    "CompileSpec",
    "DataSpec",
    "PretrainSpec",
    "RuntimeSpec",
    "TrainSpec",
    "TuneSpec",
)
"""The sections declared as validated models in :mod:`keras_blueprints.resolve.specs`."""

__all__ = [
    "Blueprint",
    "CallbackSpec",
    "CompileSpec",
    "DataSpec",
    "InputSpec",
    "NestedLayer",
    "Node",
    "PretrainSpec",
    "Ref",
    "RuntimeSpec",
    "SourceSpec",
    "SubModel",
    "TrainSpec",
    "TuneSpec",
    "freeze",
    "thaw",
]


def freeze(value: Any) -> Any:
    """Returns a deeply immutable copy: mappings become read-only, lists tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Inverse of :func:`freeze`: plain dicts and lists, as Keras expects them."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    if isinstance(value, NestedLayer):
        return value
    return value


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference to a node's output: ``enc``, ``enc.1`` or ``block.skip``.

    Attributes:
        node: The referenced node (or input) name.
        index: Output index or name for multi-output nodes, else None.
        location: Where the reference stands in the YAML.
    """

    node: str
    index: int | str | None = None
    location: Location = field(default=Location("<unknown>"), compare=False)

    def __str__(self) -> str:
        return self.node if self.index is None else f"{self.node}.{self.index}"


@dataclass(frozen=True, slots=True)
class NestedLayer:
    """A layer given as an argument of another (``Bidirectional.layer``, ``RNN.cell``).

    Attributes:
        type: Canonical layer name.
        args: Its constructor arguments (frozen).
        location: Where it stands in the YAML.
    """

    type: str
    args: Mapping[str, Any]
    location: Location = field(default=Location("<unknown>"), compare=False)


@dataclass(frozen=True, slots=True)
class InputSpec:
    """A model input.

    Attributes:
        name: Input name (also the Keras input's name).
        shape: Shape without the batch dimension; None for a free dimension.
        dtype: Keras dtype name.
        batch_size: Fixed batch size, or None.
        sparse: Whether the input is a sparse tensor.
        location: Where it is declared.
    """

    name: str
    shape: tuple[int | None, ...]
    dtype: str = "float32"
    batch_size: int | None = None
    sparse: bool = False
    location: Location = field(default=Location("<unknown>"), compare=False)


@dataclass(frozen=True, slots=True)
class Node:
    """One resolved node of the graph: a layer, a Python block, or a shared layer.

    Attributes:
        name: Unique name; for layers, the Keras layer's name.
        kind: ``"layer"``, ``"block"`` (a registered Python block) or ``"share"``.
        type: Canonical layer or block name (for ``share``: the shared layer's type).
        args: Constructor (or block) arguments, frozen.
        inputs: Positional inputs.
        call_inputs: Keyword tensor inputs of the call (``initial_state``, ``mask``...).
        share: For ``kind == "share"``: the node whose layer is reused.
        location: Where the node stands in the YAML.
        arg_locations: Where each argument's value stands.
        context: Where in the structure (``in block 'down3'``), for messages.
    """

    name: str
    kind: str
    type: str
    args: Mapping[str, Any]
    inputs: tuple[Ref, ...]
    call_inputs: Mapping[str, Ref | tuple[Ref, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    share: str | None = None
    location: Location = field(default=Location("<unknown>"), compare=False)
    arg_locations: Mapping[str, Location] = field(
        default_factory=lambda: MappingProxyType({}), compare=False
    )
    context: str | None = field(default=None, compare=False)

    def refs(self) -> tuple[Ref, ...]:
        """Every reference the node reads, positional and keyword."""
        out = list(self.inputs)
        for value in self.call_inputs.values():
            out.extend(value if isinstance(value, tuple) else [value])
        return tuple(out)


@dataclass(frozen=True, slots=True)
class SubModel:
    """A further model built from the same layers (``models:``), e.g. an encoder or a decoder.

    Attributes:
        name: The model's name.
        inputs: ``(input name, node reference)`` pairs: each becomes a fresh
            ``keras.Input`` of the node's shape, fed where the node's output was.
        outputs: Its outputs.
        nodes: The nodes replayed (sharing the main model's layers), in build order;
            empty when the inputs are the main model's own inputs (the model is
            then cut from the main graph as it is).
        location: Where it is declared.
    """

    name: str
    inputs: tuple[tuple[str, Ref], ...]
    outputs: tuple[Ref, ...]
    nodes: tuple[str, ...]
    location: Location = field(default=Location("<unknown>"), compare=False)


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A data source: a registered source name and its checked arguments.

    Attributes:
        kind: The source's registered name (``digits``, ``npz``, ``csv``...).
        args: Its keyword arguments, defaults filled in, frozen.
        location: Where it stands in the YAML.
    """

    kind: str
    args: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    location: Location = field(default=Location("<unknown>"), compare=False)


@dataclass(frozen=True, slots=True)
class CallbackSpec:
    """One entry of ``train.callbacks``: a registered callback and its checked arguments.

    Attributes:
        name: The callback's registered name.
        args: Its keyword arguments, defaults filled in, frozen.
        location: Where it stands.
    """

    name: str
    args: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    location: Location = field(default=Location("<unknown>"), compare=False)


@dataclass(frozen=True, slots=True)
class Blueprint:
    """A resolved, validated blueprint, ready for a builder.

    Attributes:
        name: The model's name.
        description: Free text.
        inputs: Model inputs.
        nodes: Graph nodes in a valid build order.
        outputs: The model outputs (references to nodes).
        output_names: The name of each output (the node names).
        compile: The compile section, or None.
        models: Further models sharing the layers (encoder, decoder...), from ``models:``.
        params: Parameter values after substitution.
        source: The file (or ``<string>``) it was loaded from.
        document: The composed document before resolution (for tools that
            re-resolve it, such as tuning); not used by builders.
        data: The ``data:`` section, or None.
        train: The ``train:`` section, or None.
        tune: The ``tune:`` section, or None.
        runtime: The ``runtime:`` section, or None.
        sections: Other top-level sections, frozen (for later stages).
        limits: The parameter and data budgets it was loaded under
            (:class:`~keras_blueprints._core.limits.Limits`), which the builder holds to too.
        warnings: What loads but is most likely a mistake (a parameter nothing uses),
            located; ``blueprint validate`` prints them.
    """

    name: str
    inputs: tuple[InputSpec, ...]
    nodes: tuple[Node, ...]
    outputs: tuple[Ref, ...]
    output_names: tuple[str, ...]
    compile: CompileSpec | None = None
    models: tuple[SubModel, ...] = ()
    description: str = ""
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    source: str = "<string>"
    document: Any = field(default=None, compare=False, repr=False)
    data: DataSpec | None = None
    train: TrainSpec | None = None
    tune: TuneSpec | None = None
    runtime: RuntimeSpec | None = None
    sections: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    limits: Any = field(default=None, compare=False, repr=False)
    warnings: tuple[BlueprintWarning, ...] = field(default=(), compare=False, repr=False)

    def node(self, name: str) -> Node:
        """Returns the node called ``name``.

        Raises:
            KeyError: No such node.
        """
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    @property
    def location(self) -> Location:
        """The blueprint's file."""
        return Location(self.source)


def __getattr__(name: str) -> Any:
    """The section specs, imported from :mod:`keras_blueprints.resolve.specs` on first use."""
    if name in _SECTION_SPECS:
        from keras_blueprints.resolve import specs

        return getattr(specs, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
