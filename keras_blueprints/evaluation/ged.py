"""The generalised energy distance: how well a model's samples cover the right answers.

When an image has several right segmentations (the annotators' masks ``Y``), a
model that gives one answer cannot be judged by its distance to "the" mask. The
probabilistic U-Net (Kohl et al. 2018) is judged instead by the squared
generalised energy distance between the distribution of its samples ``S`` and
that of the annotators' masks, with ``d(a, b) = 1 - IoU(a, b)``::

    D^2_GED = 2 E[d(S, Y)] - E[d(S, S')] - E[d(Y, Y')]

The first term asks each sample to be near some annotator's mask; the second
rewards samples that differ from each other (a model that always says the same
thing gets 0 there); the third is the annotators' own disagreement, a constant.
It is 0 when the two distributions are equal and positive otherwise. The
expectations are means over all pairs, a sample paired with itself included, as
in the paper's code. Two empty masks are identical (IoU 1, distance 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["distance_matrix", "energy_distance", "mean_energy_distance"]


def distance_matrix(a: Any, b: Any) -> np.ndarray:
    """``1 - IoU`` between every mask of ``a`` and every mask of ``b``.

    Args:
        a: Binary masks, ``(n, ...)`` (any value above 0.5 is foreground).
        b: Binary masks, ``(m, ...)`` of the same per-mask shape.

    Returns:
        ``(n, m)`` distances in [0, 1].
    """
    a = np.asarray(a).reshape(len(a), -1) > 0.5
    b = np.asarray(b).reshape(len(b), -1) > 0.5
    intersection = a.astype(np.int64) @ b.astype(np.int64).T
    union = a.sum(1)[:, None] + b.sum(1)[None, :] - intersection
    iou = np.where(union > 0, intersection / np.maximum(union, 1), 1.0)
    return 1.0 - iou


def energy_distance(samples: Any, annotations: Any) -> dict[str, float]:
    """``D^2_GED`` between one image's samples and its annotators' masks, with its terms.

    Args:
        samples: The model's masks for the image, ``(n, ...)``.
        annotations: The annotators' masks, ``(m, ...)``.

    Returns:
        ``ged`` and its terms: ``cross`` (E d(S, Y)), ``diversity`` (E d(S, S')) and
        ``annotators`` (E d(Y, Y')).
    """
    cross = float(distance_matrix(samples, annotations).mean())
    diversity = float(distance_matrix(samples, samples).mean())
    spread = float(distance_matrix(annotations, annotations).mean())
    return {
        "ged": 2 * cross - diversity - spread,
        "cross": cross,
        "diversity": diversity,
        "annotators": spread,
    }


def mean_energy_distance(samples: Any, annotations: Any) -> dict[str, float]:
    """:func:`energy_distance` averaged over images.

    Args:
        samples: ``(images, n, ...)``: each image's samples.
        annotations: ``(images, m, ...)``: each image's annotators' masks.

    Returns:
        The mean of each term over the images.
    """
    terms = [energy_distance(s, y) for s, y in zip(samples, annotations, strict=True)]
    return {key: float(np.mean([t[key] for t in terms])) for key in terms[0]}
