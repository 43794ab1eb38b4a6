"""Receptive fields: how much of the input each layer's unit sees, and how far apart.

A unit of a convolution with kernel ``k`` sees ``k`` positions of its input; each of
those saw ``r`` positions of the image, spaced ``j`` apart (the layer's *jump*, the
product of the strides below it). So, layer by layer::

    r_out = r_in + (k - 1) * dilation * j_in        j_out = j_in * stride

Pooling is the same with its pool size. The receptive field grows linearly with
depth and multiplies its growth at every stride: this is why deep networks of 3x3
convolutions (VGG) see as far as shallow ones with large kernels, and why the later
layers of a CNN respond to whole objects. A merge (``Add``, ``Concatenate``) takes the
largest field of its inputs; upsampling divides the jump; ``Flatten``, global pooling
and the dense layers after them see the whole input (``global``). Padding shifts a
field but does not change its size, so it is not counted; neither are layers that act
on each position alone (activations, batch normalization, 1x1 convolutions add 0).

The numbers are read from a built model (its layers' kernel sizes, strides and dilation
rates), per spatial dimension; a model whose input has no spatial dimension (a vector)
has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keras_blueprints._compat.keras import functional_graph, nodes_in_order

__all__ = ["Field", "receptive_fields"]


@dataclass(frozen=True)
class Field:
    """The receptive field of a tensor, per spatial dimension.

    Attributes:
        size: Input positions one unit sees along each spatial dimension; None: all.
        jump: Input positions between neighbouring units (the effective stride).
    """

    size: tuple[int, ...] | None
    jump: tuple[float, ...]

    def __str__(self) -> str:
        if self.size is None:
            return "global"
        size = "x".join(str(s) for s in self.size)
        jump = "x".join(f"{j:g}" for j in self.jump)
        return f"{size} / {jump}"


_GLOBAL = ("Flatten", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
           "GlobalAveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
           "GlobalMaxPooling3D")  # fmt: skip


def receptive_fields(model: Any) -> dict[str, Field]:
    """The receptive field of each layer's output, by layer name.

    Args:
        model: A built functional (or Sequential) Keras model.

    Returns:
        Layer name -> :class:`Field` of its (last) call's output; layers whose input has
        no spatial dimension are left out.
    """
    graph = functional_graph(model)
    if graph is None:
        return {}
    fields: dict[int, Field] = {}
    out: dict[str, Field] = {}
    for node in nodes_in_order(graph):
        layer = node.operation
        inputs = [fields.get(id(t)) for t in node.input_tensors]
        if not node.input_tensors:  # an Input: one position, step 1
            tensor = node.output_tensors[0]
            dims = len(tensor.shape) - 2
            if dims > 0:
                fields[id(tensor)] = out[layer.name] = Field((1,) * dims, (1.0,) * dims)
            continue
        known = [f for f in inputs if f is not None]
        if not known:
            continue
        field = _through(layer, known)
        for tensor in node.output_tensors:
            fields[id(tensor)] = field
        out[layer.name] = field
    return out


def _through(layer: Any, fields: list[Field]) -> Field:
    """The field of a layer's output from its inputs' fields."""
    name = type(layer).__name__
    if len(fields) > 1:  # a merge: the widest field, the coarsest step
        if any(f.size is None for f in fields):
            return Field(None, fields[0].jump)
        sizes = [f.size for f in fields if f.size is not None]
        return Field(
            tuple(max(s[i] for s in sizes) for i in range(len(sizes[0]))),
            tuple(max(f.jump[i] for f in fields) for i in range(len(fields[0].jump))),
        )
    field = fields[0]
    if field.size is None or name in _GLOBAL:
        return Field(None, field.jump)
    dims = len(field.size)
    config = layer.get_config()
    if name.endswith("Transpose"):
        kernel = _per_dim(config.get("kernel_size"), dims)
        strides = _per_dim(config.get("strides"), dims)
        jump = tuple(j / s for j, s in zip(field.jump, strides, strict=True))
        size = tuple(r + (k - 1) * j for r, k, j in zip(field.size, kernel, jump, strict=True))
        return Field(tuple(round(s) for s in size), jump)
    if "kernel_size" in config or "pool_size" in config:
        window = _per_dim(config.get("kernel_size") or config.get("pool_size"), dims)
        strides = _per_dim(config.get("strides") or window, dims)
        dilation = _per_dim(config.get("dilation_rate", 1), dims)
        size = tuple(
            round(r + (k - 1) * d * j)
            for r, k, d, j in zip(field.size, window, dilation, field.jump, strict=True)
        )
        jump = tuple(j * s for j, s in zip(field.jump, strides, strict=True))
        return Field(size, jump)
    if name.startswith("UpSampling"):
        factor = _per_dim(config.get("size", 2), dims)
        return Field(field.size, tuple(j / f for j, f in zip(field.jump, factor, strict=True)))
    return field


def _per_dim(value: Any, dims: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * dims
    values = tuple(int(v) for v in value)
    return values if len(values) == dims else (values[0],) * dims
