"""``digits``: scikit-learn's bundled handwritten digits (no download), shaped to the blueprint.

1,797 real 8x8 grey images of the digits 0-9 (about 180 per class), from
the UCI optical recognition data set, shipped inside scikit-learn. Small enough
to train an MLP or LeNet-5 in seconds on a CPU, real enough that the learning
curves, overfitting and regularisation behave as they do on larger data.
"""

from __future__ import annotations

from typing import Literal

from keras_blueprints._core.errors import BlueprintError, Plain
from keras_blueprints.data.examples import Examples
from keras_blueprints.data.registry import SourceContext, register_source

DIGITS_TOTAL = 1797


@register_source("digits")
def digits(
    context: SourceContext,
    *,
    image_size: int | None = None,
    layout: Literal["auto", "flat", "image", "tokens"] = "auto",
    target: Literal["labels", "inputs"] = "labels",
    test_fraction: float = 0.2,
    validation_fraction: float = 0.0,
) -> Examples | None:
    """Handwritten digits 0-9 (scikit-learn's 1,797 8x8 images), pixels scaled to [0, 1].

    The images adapt to the blueprint's single input: a vector input ``[64]``
    gets the flat 64 pixels (``[k*k]``: resized to k x k, then flattened); an
    image input ``[H, W, C]`` gets images resized (bilinear) to H x W, with
    C = 1 (grey) or 3 (the grey replicated). ``zoo:lenet5`` thus reads the
    digits at 32 x 32, as LeNet-5 read MNIST digits padded to 32 x 32.
    ``layout: tokens`` gives each image as a sequence of 64 token ids, the
    pixels' raw intensities 0-16 (a vocabulary of 17), for an integer input
    ``[64]`` (``zoo:transformer_encoder_classifier``).

    The splits are stratified (each keeps the ten classes' proportions) and
    seeded by the run's seed.

    Args:
        context: The blueprint, the seed and the split asked.
        image_size: Resize the images to this size (default: the input's).
        layout: ``flat`` vectors, ``image`` arrays (H, W, C), ``tokens`` (64 intensity ids
            0-16, for an integer input ``[64]``), or ``auto`` (from the input's rank).
        target: ``labels`` (class ids 0-9) or ``inputs`` (y = x, for autoencoders).
        test_fraction: Share of the 1,797 images held out as the test split.
        validation_fraction: Share held out as the validation split (0: none).

    Returns:
        The split asked, or None (validation with ``validation_fraction`` 0).
    """
    from sklearn.datasets import load_digits

    from keras_blueprints.data.sources._util import single_input, split_examples

    spec = single_input(context, "digits")
    data = load_digits()
    images = (data.images / 16.0).astype("float32")  # pixel counts 0..16 -> [0, 1]
    labels = data.target.astype("int32")
    shape = tuple(spec.shape)
    if layout == "auto":
        layout = "flat" if len(shape) == 1 else "image"
    if layout == "tokens":
        pixels = _tokens(data.images, shape, spec)
    elif layout == "flat":
        pixels = _flat(images, shape, image_size, spec.name)
    else:
        pixels = _images(images, shape, image_size, spec.name)
    y = pixels if target == "inputs" else labels
    return split_examples(
        {spec.name: pixels},
        y,
        context,
        test_fraction=test_fraction,
        validation_fraction=validation_fraction,
        stratify=labels,
        source="digits",
        tags=labels if target == "inputs" else None,
    )


def _resize(images, size: tuple[int, int]):
    import numpy as np

    if tuple(images.shape[1:3]) == size:
        return images
    import tensorflow as tf

    resized = tf.image.resize(images, size, method="bilinear").numpy()
    return np.clip(resized, 0.0, 1.0).astype("float32")


def _flat(images, shape: tuple, image_size: int | None, name: str):
    if len(shape) != 1:
        raise _layout_error(name, shape, "flat", "a vector input such as [64]")
    if image_size is None:
        width = shape[0] or 64
        image_size = round(width**0.5)
        if image_size * image_size != width:
            raise BlueprintError(
                f"source 'digits' cannot fill input '{name}' of shape {list(shape)}",
                expected="a vector of k*k pixels, e.g. [64] (8 x 8) or [784] (28 x 28)",
                received=Plain(f"{width} features"),
                hint="set the input's size to a square number, or use another source",
            )
    out = _resize(images[..., None], (image_size, image_size))
    return out.reshape(len(out), -1)


def _tokens(images, shape: tuple, spec):
    if len(shape) != 1 or shape[0] not in (64, None):
        raise _layout_error(spec.name, shape, "tokens", "a sequence input [64] of token ids")
    dtype = spec.dtype if "int" in spec.dtype else "int32"
    return images.reshape(len(images), 64).astype(dtype)  # intensities 0..16


def _images(images, shape: tuple, image_size: int | None, name: str):
    import numpy as np

    if len(shape) != 3:
        raise _layout_error(name, shape, "image", "an image input [height, width, channels]")
    height, width, channels = shape
    if image_size is not None:
        height = width = image_size
    size = (height or width or 8, width or height or 8)
    channels = channels or 1
    if channels not in (1, 3):
        raise BlueprintError(
            f"source 'digits' cannot fill input '{name}' with {channels} channels",
            expected="1 (grey) or 3 (grey replicated to RGB) channels",
            received=Plain(str(list(shape))),
        )
    out = _resize(images[..., None], size)
    return np.repeat(out, channels, axis=-1) if channels == 3 else out


def _layout_error(name: str, shape: tuple, layout: str, expected: str) -> BlueprintError:
    return BlueprintError(
        f"source 'digits' with layout '{layout}' cannot fill input '{name}'",
        expected=expected,
        received=Plain(f"shape {list(shape)}"),
        hint="set layout: auto to follow the input's rank",
    )
