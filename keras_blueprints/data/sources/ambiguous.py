"""``ambiguous_shapes``: images that several simulated annotators segment differently.

A segmentation task where more than one answer is right, for the probabilistic
U-Net (zoo:prob_unet). Every image shows one clear shape and one faint one on a
noisy background. ``annotators`` simulated experts draw a binary mask each, and
they disagree the way real ones do:

* **what counts**: annotator ``a`` marks the faint shape only when its contrast
  exceeds the annotator's own threshold (thresholds spread evenly from
  ``0.1`` to ``0.4``), so a very faint shape is marked by nobody, a clear one by
  everybody, and one in between by some of them. Nothing in the image says
  *which* annotator drew a mask: given the image, the mask is a random draw;
* **where the edge is**: each annotator draws every shape slightly larger or
  smaller than it is (a radius scaled by ``1 - spread`` ... ``1 + spread``).

The training split holds every image once per annotator (image, that
annotator's mask), so each epoch sees every annotator's answer, as the paper's
training on LIDC draws one of the four radiologists' masks per image. The
validation and test splits do the same; :func:`annotations` gives all the
masks of each image at once, for measuring how well a model's samples cover
the annotators' variety (``keras_blueprints.evaluation.ged``).

The model may have a second image-shaped input (``mask_input``, default the
input named ``mask``): it receives the same mask as the target, for the
posterior net of the probabilistic U-Net, which sees the answer while training.
"""

from __future__ import annotations

from typing import Annotated, Any

from keras_blueprints._core.errors import BlueprintError, Plain
from keras_blueprints.data.examples import Examples
from keras_blueprints.data.registry import SourceContext, register_source
from keras_blueprints.loading.valuetypes import Bound, NonNegative, PositiveInt

Annotators = Annotated[int, Bound("an integer from 1 to 16", minimum=1, maximum=16)]
Spread = Annotated[float, Bound("a number in [0, 0.5]", minimum=0, maximum=0.5)]

THRESHOLDS = (0.1, 0.4)
"""The range of the annotators' contrast thresholds for marking the faint shape."""


@register_source("ambiguous_shapes")
def ambiguous_shapes(
    context: SourceContext,
    *,
    count: PositiveInt = 400,
    annotators: Annotators = 4,
    spread: Spread = 0.12,
    noise: NonNegative = 0.05,
    mask_input: str = "mask",
    test_fraction: float = 0.2,
    validation_fraction: float = 0.1,
) -> Examples | None:
    """Images with one clear and one faint shape, and every annotator's binary mask.

    The image size comes from the blueprint's image input ``[H, W, 1]`` (32 x 32
    when free). Each split holds ``annotators`` examples per image.

    Args:
        context: The blueprint, the seed and the split asked.
        count: Number of images in all (before splitting).
        annotators: Simulated annotators, each drawing one mask per image (1 to 16).
        spread: How much the annotators' outlines differ: radii scaled from
            ``1 - spread`` to ``1 + spread`` (0 to 0.5).
        noise: Standard deviation of the pixel noise.
        mask_input: The input that receives the mask too (the posterior net's),
            when the blueprint has it.
        test_fraction: Share of the images held out as the test split.
        validation_fraction: Share of the images held out as the validation split.

    Returns:
        The split asked, or None (a split whose fraction is 0).
    """
    import numpy as np

    from keras_blueprints.data.sources._util import split_examples

    image_input, extra = _inputs(context, mask_input)
    if count < 1 or not 1 <= annotators <= 16 or not 0 <= spread <= 0.5:
        raise BlueprintError(
            "source 'ambiguous_shapes' needs at least one image, 1 to 16 annotators and a"
            " spread from 0 to 0.5",
            received=Plain(f"count={count}, annotators={annotators}, spread={spread}"),
        )
    height, width = image_input.shape[0] or 32, image_input.shape[1] or 32
    images, masks = annotations(
        np.random.default_rng(context.seed), count, height, width, annotators, spread, noise
    )
    chosen = split_examples(
        {image_input.name: images},
        masks,
        context,
        test_fraction=test_fraction,
        validation_fraction=validation_fraction,
        source="ambiguous_shapes",
    )
    if chosen is None:
        return None
    # One example per (image, annotator): the image repeated, each annotator's mask.
    shown = np.repeat(np.asarray(chosen.x[image_input.name]), annotators, axis=0)
    drawn = np.asarray(chosen.y).reshape(-1, height, width, 1)
    x = {image_input.name: shown}
    if extra is not None:
        x[extra] = drawn.astype("float32")
    return Examples.from_arrays(x, drawn)


def _inputs(context: SourceContext, mask_input: str) -> tuple[Any, str | None]:
    """The image input, and the name of the input that receives the mask (or None)."""
    inputs = {spec.name: spec for spec in context.blueprint.inputs}
    if mask_input in inputs and len(inputs) == 2:
        extra: str | None = mask_input
        (image,) = (spec for name, spec in inputs.items() if name != mask_input)
    elif len(inputs) == 1:
        extra, (image,) = None, inputs.values()
    else:
        raise BlueprintError(
            "source 'ambiguous_shapes' feeds an image input, and a mask input named"
            f" '{mask_input}' when there is one",
            expected=f"one image input, or an image input and '{mask_input}'",
            received=Plain(", ".join(inputs) or "no inputs"),
        )
    if len(image.shape) != 3 or image.shape[2] not in (1, None):
        raise BlueprintError(
            f"source 'ambiguous_shapes' makes grey images, but input '{image.name}' has shape"
            f" {list(image.shape)}",
            expected="an image input [height, width, 1]",
            received=Plain(str(list(image.shape))),
        )
    return image, extra


def annotations(
    rng: Any, count: int, height: int, width: int, annotators: int, spread: float, noise: float
) -> tuple[Any, Any]:
    """Draws images and every annotator's mask of each.

    Args:
        rng: A NumPy ``Generator``.
        count: Number of images.
        height: Image height.
        width: Image width.
        annotators: Masks per image.
        spread: Radii scaled from ``1 - spread`` to ``1 + spread`` across annotators.
        noise: Standard deviation of the pixel noise.

    Returns:
        ``(images, masks)``: float32 ``(count, H, W, 1)`` in [0, 1], and int32
        ``(count, annotators, H, W, 1)`` of 0 and 1.
    """
    import numpy as np

    rows, cols = np.mgrid[0:height, 0:width].astype("float32")
    smallest = min(height, width)
    scales = 1.0 + np.linspace(-spread, spread, annotators) if annotators > 1 else np.ones(1)
    thresholds = np.linspace(*THRESHOLDS, annotators) if annotators > 1 else np.full(1, 0.25)
    images = np.empty((count, height, width, 1), "float32")
    masks = np.zeros((count, annotators, height, width, 1), "int32")
    for i in range(count):
        background = rng.uniform(0.0, 0.2)
        image = np.full((height, width), background, "float32")
        contrasts = (rng.uniform(0.6, 0.8), rng.uniform(0.0, 0.5))  # clear, faint
        for contrast in contrasts:
            radius = rng.uniform(0.12, 0.2) * smallest
            cy = rng.uniform(radius * 1.2, height - radius * 1.2)
            cx = rng.uniform(radius * 1.2, width - radius * 1.2)
            distance = np.sqrt((rows - cy) ** 2 + (cols - cx) ** 2)
            image[distance <= radius] = background + contrast
            for a in range(annotators):
                if contrast > thresholds[a]:
                    masks[i, a, ..., 0] |= distance <= radius * scales[a]
        image += rng.normal(0.0, noise, image.shape)
        images[i, ..., 0] = np.clip(image, 0.0, 1.0)
    return images, masks
