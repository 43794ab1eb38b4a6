"""Drawing the methods' arrays as PNG grids (matplotlib, Agg)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

__all__ = ["grid"]


def grid(tiles: list[np.ndarray], path: str | Path, titles: list[str] | None = None) -> int:
    """Writes ``tiles`` (2-D, or 3-D with 1 or 3 channels) as one PNG; returns the tile count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(tiles)
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.6 * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            tile = tiles[i]
            if tile.ndim == 3 and tile.shape[-1] == 1:
                tile = tile[..., 0]
            if tile.ndim == 3 and tile.shape[-1] != 3:
                tile = tile.mean(axis=-1)
            ax.imshow(tile, cmap=None if tile.ndim == 3 else "viridis")
            if titles:
                ax.set_title(titles[i], fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return n
