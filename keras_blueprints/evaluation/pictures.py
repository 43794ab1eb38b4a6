"""Turning one example into something ``imshow`` draws: a grey or RGB picture, or None."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["as_picture", "drawable"]


def drawable(example: np.ndarray) -> bool:
    """Whether one example is a picture: ``(H, W)``, ``(H, W, 1|3)``, or a square vector."""
    shape = np.shape(example)
    if len(shape) == 1:
        side = math.isqrt(shape[0])
        return side > 1 and side * side == shape[0]
    if len(shape) == 2:
        return min(shape) > 1
    return len(shape) == 3 and shape[-1] in (1, 3) and min(shape[:2]) > 1


def as_picture(example: np.ndarray) -> np.ndarray:
    """One example as a picture scaled to [0, 1]: a square vector becomes a square image.

    Args:
        example: A drawable example (see :func:`drawable`).

    Returns:
        ``(H, W)`` grey or ``(H, W, 3)`` RGB values in [0, 1].
    """
    picture = np.asarray(example, dtype=float)
    if picture.ndim == 1:
        side = math.isqrt(picture.shape[0])
        picture = picture.reshape(side, side)
    if picture.ndim == 3 and picture.shape[-1] == 1:
        picture = picture[..., 0]
    picture = np.nan_to_num(picture)
    low, high = picture.min(), picture.max()
    if low >= 0.0 and high <= 1.0:
        return picture  # already a picture: keep its own contrast (a faint digit stays faint)
    return (picture - low) / (high - low) if high > low else np.zeros_like(picture)
