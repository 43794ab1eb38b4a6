"""Drawing the methods' arrays as PNG grids (matplotlib, Agg)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["grid", "top_grid"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _show(ax: Any, tile: np.ndarray) -> None:
    """Draws one tile (2-D, or 3-D with 1 or 3 channels; others averaged) on ``ax``."""
    if tile.ndim == 3 and tile.shape[-1] == 1:
        tile = tile[..., 0]
    if tile.ndim == 3 and tile.shape[-1] != 3:
        tile = tile.mean(axis=-1)
    ax.imshow(tile, cmap=None if tile.ndim == 3 else "viridis")


def grid(tiles: list[np.ndarray], path: str | Path, titles: list[str] | None = None) -> int:
    """Writes ``tiles`` (2-D, or 3-D with 1 or 3 channels) as one PNG; returns the tile count."""
    plt = _pyplot()
    n = len(tiles)
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.6 * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            _show(ax, tiles[i])
            if titles:
                ax.set_title(titles[i], fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return n


def top_grid(
    left: list[list[np.ndarray]],
    right: list[list[np.ndarray]],
    path: str | Path,
    *,
    row_labels: list[str],
    titles: tuple[str, str] = ("projections", "image patches"),
    heading: str = "",
) -> tuple[int, int]:
    """Writes two blocks of tiles side by side, one row per feature map, as one PNG.

    Args:
        left: Per row, the tiles of the left block (the deconvnet projections).
        right: Per row, as many tiles for the right block (the image patches).
        path: The PNG written.
        row_labels: One label per row, written at its left.
        titles: The blocks' titles, above their first row.
        heading: The figure's title.

    Returns:
        The grid's rows and columns (a blank column parts the blocks).
    """
    plt = _pyplot()
    rows, half = len(left), max((len(r) for r in left), default=0)
    cols = 2 * half + 1
    width, height = 0.8 * cols + 0.3, 0.8 * rows + 0.5
    fig, axes = plt.subplots(rows, cols, figsize=(width, height), squeeze=False)
    fig.subplots_adjust(left=0.3 / width, right=0.995, bottom=0.02 / height,
                        top=1 - 0.5 / height, wspace=0.06, hspace=0.06)  # fmt: skip
    for r in range(rows):
        for k, ax in enumerate(axes[r]):
            ax.axis("off")
            block, i = (left[r], k) if k < half else (right[r], k - half - 1)
            if k != half and i < len(block):
                _show(ax, block[i])
        axes[r, 0].text(-0.08, 0.5, row_labels[r], transform=axes[r, 0].transAxes,
                        ha="right", va="center", rotation=90, fontsize=7)  # fmt: skip
    if rows and half:
        axes[0, 0].set_title(titles[0], fontsize=8, loc="left")
        axes[0, half + 1].set_title(titles[1], fontsize=8, loc="left")
    if heading:
        fig.suptitle(heading, fontsize=9, y=1 - 0.05 / height, va="top")
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return rows, cols
