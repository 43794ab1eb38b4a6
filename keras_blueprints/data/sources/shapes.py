"""``shapes``: images of filled circles, squares and triangles with their segmentation masks.

A small, generated segmentation task for U-Net: each image shows a few shapes
of random size, position and colour on a noisy background; the target says,
for every pixel, which kind of shape covers it (0 for the background). The
network must find edges (local) and tell a triangle from a square (wider
context): exactly what the skip connections and the contracting path of a
U-Net provide.
"""

from __future__ import annotations

from typing import Literal

from keras_blueprints._core.errors import BlueprintError, Plain
from keras_blueprints.data.examples import Examples
from keras_blueprints.data.registry import SourceContext, register_source

KINDS = ("circle", "square", "triangle")


@register_source("shapes")
def shapes(
    context: SourceContext,
    *,
    count: int = 512,
    classes: int = 3,
    shapes_per_image: int = 2,
    mask: Literal["auto", "ids", "binary", "one_hot"] = "auto",
    noise: float = 0.05,
    test_fraction: float = 0.2,
    validation_fraction: float = 0.0,
) -> Examples | None:
    """Images of filled shapes on a noisy background, and per-pixel masks.

    The image size and channels come from the blueprint's input ``[H, W, C]``
    (32 x 32 x 1 when free). Shape kinds, in order: circle, square, triangle;
    ``classes`` of them are drawn (1 to 3), a later shape covering an earlier one.

    Masks: ``ids`` (H, W, 1) integers, 0 background and k for kind k (for a
    softmax output of ``classes + 1`` channels and a sparse loss); ``binary``
    (H, W, 1) with 1 wherever a shape is (for a one-channel sigmoid output);
    ``one_hot`` (H, W, classes + 1) floats (for a non-sparse loss); ``auto``:
    binary when the blueprint's output layer has one channel (``filters: 1``),
    else ids.

    Args:
        context: The blueprint, the seed and the split asked.
        count: Number of images in all (before splitting).
        classes: Number of shape kinds drawn, 1 to 3.
        shapes_per_image: Shapes drawn on each image.
        mask: The form of the target (see above).
        noise: Standard deviation of the pixel noise.
        test_fraction: Share held out as the test split.
        validation_fraction: Share held out as the validation split (0: none).

    Returns:
        The split asked, or None (validation with ``validation_fraction`` 0).
    """
    import numpy as np

    from keras_blueprints.data.sources._util import output_units, single_input, split_examples

    spec = single_input(context, "shapes")
    if len(spec.shape) != 3:
        raise BlueprintError(
            f"source 'shapes' makes images, but input '{spec.name}' has shape {list(spec.shape)}",
            expected="an image input [height, width, channels]",
            received=Plain(str(list(spec.shape))),
        )
    if not 1 <= classes <= len(KINDS) or count < 1 or shapes_per_image < 1:
        raise BlueprintError(
            "source 'shapes' needs 1 to 3 classes, and at least one image and one shape each",
            received=Plain(
                f"classes={classes}, count={count}, shapes_per_image={shapes_per_image}"
            ),
        )
    height, width, channels = spec.shape[0] or 32, spec.shape[1] or 32, spec.shape[2] or 1
    rng = np.random.default_rng(context.seed)
    images, ids = draw(rng, count, height, width, channels, classes, shapes_per_image, noise)
    if mask == "auto":
        mask = "binary" if output_units(context) == 1 else "ids"
    if mask == "binary":
        target = (ids > 0).astype("int32")[..., None]
    elif mask == "one_hot":
        target = np.eye(classes + 1, dtype="float32")[ids]
    else:
        target = ids.astype("int32")[..., None]
    return split_examples(
        {spec.name: images},
        target,
        context,
        test_fraction=test_fraction,
        validation_fraction=validation_fraction,
        source="shapes",
    )


def draw(rng, count, height, width, channels, classes, per_image, noise):
    """Draws ``count`` images (float32 in [0, 1]) and their masks of class ids (uint8)."""
    import numpy as np

    rows, cols = np.mgrid[0:height, 0:width].astype("float32")
    images = np.empty((count, height, width, channels), "float32")
    masks = np.zeros((count, height, width), "uint8")
    smallest = min(height, width)
    for i in range(count):
        background = rng.uniform(0.0, 0.3, channels)
        image = np.broadcast_to(background, (height, width, channels)).copy()
        for _ in range(per_image):
            kind = int(rng.integers(0, classes))
            radius = rng.uniform(0.12, 0.25) * smallest
            cy = rng.uniform(radius, height - radius)
            cx = rng.uniform(radius, width - radius)
            inside = _inside(kind, rows - cy, cols - cx, radius)
            image[inside] = rng.uniform(0.6, 1.0, channels)
            masks[i][inside] = kind + 1
        image += rng.normal(0.0, noise, image.shape)
        images[i] = np.clip(image, 0.0, 1.0)
    return images, masks


def _inside(kind: int, dy, dx, radius: float):
    import numpy as np

    if KINDS[kind] == "circle":
        return dy * dy + dx * dx <= radius * radius
    if KINDS[kind] == "square":
        side = radius * 0.85  # about the circle's area
        return (np.abs(dy) <= side) & (np.abs(dx) <= side)
    # An upward triangle: below the two slanted edges, above the base.
    top, base = -radius, radius * 0.7
    half = (dy - top) / (base - top) * radius  # half-width grows downwards
    return (dy >= top) & (dy <= base) & (np.abs(dx) <= half)
