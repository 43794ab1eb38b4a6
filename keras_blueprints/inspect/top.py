"""The examples that activate each feature map most, over a data set (Zeiler & Fergus 2014).

One batched forward pass over the data keeps, for every feature map of each chosen layer,
the ``top`` examples with the highest activation anywhere in that map, and where (the argmax
position). :func:`unit_fields` says which input pixels the unit at that position sees, so the
example's deconvnet projection and the image can both be cropped to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from keras_blueprints.views.receptive import receptive_fields

__all__ = ["TopHits", "UnitFields", "crop", "top_activations", "unit_fields"]


@dataclass(frozen=True)
class TopHits:
    """The strongest examples of every feature map of one layer, strongest first.

    Attributes:
        values: (top, channels): the example's highest activation in the map.
        indices: (top, channels): the example's row in the data.
        positions: (top, channels, 2): the (row, column) of that activation in the map.
    """

    values: np.ndarray
    indices: np.ndarray
    positions: np.ndarray

    def strongest_maps(self, count: int) -> list[int]:
        """The ``count`` channels with the highest activations (ties: the lower channel)."""
        order = np.argsort(-self.values[0], kind="stable")
        return [int(c) for c in order[:count]]


def top_activations(
    model: Any,
    images: np.ndarray,
    layer_names: list[str],
    *,
    top: int = 9,
    batch_size: int = 64,
) -> dict[str, TopHits]:
    """Runs ``model`` over ``images`` in batches; keeps each map's ``top`` examples.

    An example counts once per map, with its highest activation in that map. Equal
    activations keep the example that comes first.

    Args:
        model: The trained model.
        images: The data (n, h, w, c).
        layer_names: The Keras layers whose feature maps are ranked.
        top: Examples kept per map (at most n).
        batch_size: Examples per forward pass.

    Returns:
        Layer name -> :class:`TopHits`.
    """
    inner = keras.Model(model.inputs[0], [model.get_layer(n).output for n in layer_names])
    kept: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for start in range(0, len(images), batch_size):
        batch = np.asarray(images[start : start + batch_size], "float32")
        outputs = inner(batch, training=False)
        if not isinstance(outputs, (list, tuple)):  # one output comes back bare
            outputs = [outputs]
        for name, fmap in zip(layer_names, outputs, strict=True):
            fmap = np.asarray(fmap)
            n, h, w, channels = fmap.shape
            flat = fmap.reshape(n, h * w, channels)
            where = flat.argmax(axis=1)
            values = np.take_along_axis(flat, where[:, None, :], axis=1)[:, 0]
            rows = np.broadcast_to(np.arange(start, start + n)[:, None], values.shape)
            pos = np.stack(np.unravel_index(where, (h, w)), axis=-1)
            if name in kept:  # earlier examples first, so a stable sort keeps them on ties
                old = kept[name]
                values = np.concatenate([old[0], values])
                rows = np.concatenate([old[1], rows])
                pos = np.concatenate([old[2], pos])
            order = np.argsort(-values, axis=0, kind="stable")[:top]
            kept[name] = (
                np.take_along_axis(values, order, axis=0),
                np.take_along_axis(rows, order, axis=0),
                np.take_along_axis(pos, order[..., None], axis=0),
            )
    return {name: TopHits(*kept[name]) for name in layer_names}


@dataclass(frozen=True)
class UnitFields:
    """Where the units of one layer look in the input, per spatial dimension.

    Attributes:
        offset: The first pixel seen by unit (0, 0); negative inside the padding.
        jump: Input pixels between neighbouring units.
        size: Input pixels one unit sees.
    """

    offset: tuple[int, int]
    jump: tuple[float, float]
    size: tuple[int, int]

    def box(self, position: tuple[int, int]) -> tuple[int, int, int, int]:
        """The pixels seen by the unit at ``position``: (top, left, bottom, right).

        Bottom and right are exclusive; the box may reach past the image's edges.
        """
        top = round(self.offset[0] + position[0] * self.jump[0])
        left = round(self.offset[1] + position[1] * self.jump[1])
        return top, left, top + self.size[0], left + self.size[1]


def unit_fields(model: Any, layers: list[Any], layer_name: str) -> UnitFields:
    """The receptive fields of the units of ``layer_name``, placed in the input.

    The size and the jump of each layer come from :func:`receptive_fields`; the offset
    of the first unit's field is each padding's leading part (ZeroPadding2D's top and
    left; a "same" window's floor(total / 2), as TensorFlow pads) times the jump below it.

    Args:
        model: The model (its receptive fields).
        layers: The deconvnet's chain, from :func:`~.deconvnet.chain_layers`.
        layer_name: The layer of the units.

    Returns:
        Their offset, jump and size.
    """
    fields = receptive_fields(model)
    shape: tuple[Any, ...] = (1, *model.inputs[0].shape[1:])
    offset = [0.0, 0.0]
    jump: tuple[float, ...] = (1.0, 1.0)
    for layer in layers:
        kind = type(layer).__name__
        if kind == "ZeroPadding2D":
            (top, _), (left, _) = layer.padding
            offset = [offset[0] - top * jump[0], offset[1] - left * jump[1]]
        elif kind in ("Conv2D", "MaxPooling2D") and layer.padding == "same":
            window = layer.kernel_size if kind == "Conv2D" else layer.pool_size
            dilation = layer.dilation_rate if kind == "Conv2D" else (1, 1)
            for d in (0, 1):
                size, stride = shape[1 + d], layer.strides[d]
                span = (window[d] - 1) * dilation[d] + 1
                total = max((math.ceil(size / stride) - 1) * stride + span - size, 0)
                offset[d] -= total // 2 * jump[d]
        shape = tuple(layer.compute_output_shape(shape))
        jump = fields[layer.name].jump
        if layer.name == layer_name:
            break
    size = fields[layer_name].size or (shape[1], shape[2])
    return UnitFields((round(offset[0]), round(offset[1])), (jump[0], jump[1]), (size[0], size[1]))


def crop(array: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """``array`` (h, w, c) inside ``box``, zeros where the box reaches past its edges."""
    top, left, bottom, right = box
    out = np.zeros((bottom - top, right - left, array.shape[-1]), array.dtype)
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(bottom, array.shape[0]), min(right, array.shape[1])
    if r1 > r0 and c1 > c0:
        out[r0 - top : r1 - top, c0 - left : c1 - left] = array[r0:r1, c0:c1]
    return out
