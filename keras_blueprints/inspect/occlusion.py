"""Occlusion sensitivity (Zeiler & Fergus 2014): a grey square slides over the image."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["occlusion_map"]


def occlusion_map(
    model: Any, image: np.ndarray, label: int, *, size: int = 4, stride: int = 2, grey: float = 0.5
) -> np.ndarray:
    """The probability of class ``label`` with the square at each position.

    Args:
        model: A classifier ending in softmax.
        image: One input (h, w, c).
        label: The class whose probability is read.
        size: The square's side in pixels.
        stride: Its step in pixels.
        grey: The square's value.

    Returns:
        A (rows, cols) array of probabilities.
    """
    h, w = image.shape[:2]
    rows = list(range(0, max(h - size, 0) + 1, stride))
    cols = list(range(0, max(w - size, 0) + 1, stride))
    batch = np.repeat(image[None], len(rows) * len(cols), axis=0).astype("float32")
    k = 0
    for r in rows:
        for c in cols:
            batch[k, r : r + size, c : c + size] = grey
            k += 1
    probs = np.asarray(model.predict(batch, verbose=0))[:, label]
    return probs.reshape(len(rows), len(cols))
