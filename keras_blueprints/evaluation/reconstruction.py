"""Autoencoders: reconstructions beside their inputs, the PCA baseline, the latent space.

The course's questions about an autoencoder, each answered by a file:

* Does it reconstruct? ``reconstructions.png``: inputs, targets (when they differ:
  a denoising autoencoder's clean images) and reconstructions; the mean squared
  error in ``evaluation.json``.
* Does it beat PCA? A linear autoencoder with a code of k units, trained on the
  squared error, learns the span of the first k principal components (Baldi &
  Hornik, 1989), so PCA with k components is the baseline a non-linear one must
  beat: fitted on the training inputs, it reconstructs the same test inputs, and
  both errors are recorded side by side.
* What did the code learn? ``codes.png``: the test set's codes (a VAE's means),
  in two dimensions (the first two principal components of the codes when there
  are more), coloured by class when the data knows it. ``latent_grid.png``: the
  decoder's outputs over a grid of codes, which is where a VAE differs from a
  plain autoencoder: its codes fill the space, so every point of the grid decodes
  to a plausible digit, while a plain autoencoder's grid has holes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from keras_blueprints.evaluation.pictures import as_picture

__all__ = [
    "CODES_PNG",
    "LATENT_GRID_PNG",
    "RECONSTRUCTIONS_PNG",
    "latent_grid",
    "pca_reconstruction",
    "plot_codes",
    "plot_latent_grid",
    "plot_reconstructions",
    "two_dimensions",
]

RECONSTRUCTIONS_PNG = "reconstructions.png"
CODES_PNG = "codes.png"
LATENT_GRID_PNG = "latent_grid.png"


def pca_reconstruction(train: np.ndarray, inputs: np.ndarray, components: int) -> np.ndarray:
    """Reconstructs ``inputs`` from their first ``components`` principal components.

    Args:
        train: ``(n, ...)`` training inputs the components are fitted on.
        inputs: ``(m, ...)`` inputs to reconstruct (same shape per example).
        components: The code size k (at most the number of values per example).

    Returns:
        The reconstructions, shaped like ``inputs``.
    """
    flat = train.reshape(len(train), -1).astype("float64")
    mean = flat.mean(axis=0)
    _, _, vt = np.linalg.svd(flat - mean, full_matrices=False)
    basis = vt[: max(1, min(components, vt.shape[0]))]
    centred = inputs.reshape(len(inputs), -1).astype("float64") - mean
    return (centred @ basis.T @ basis + mean).reshape(inputs.shape)


def two_dimensions(codes: np.ndarray) -> tuple[np.ndarray, str]:
    """The codes in two dimensions: themselves, or their first two principal components.

    Returns:
        ``(points (n, 2), how)``; ``how`` says which, for the axes.
    """
    flat = codes.reshape(len(codes), -1).astype("float64")
    if flat.shape[1] == 2:
        return flat, "code"
    if flat.shape[1] == 1:
        return np.concatenate([flat, np.zeros_like(flat)], axis=1), "code"
    centred = flat - flat.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T, "principal component of the codes"


def latent_grid(codes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A ``size`` x ``size`` grid of codes spanning the test codes' first two dimensions.

    The grid runs from the 5th to the 95th percentile of each of the first two code
    values; the others are held at their median.

    Returns:
        ``(grid codes (size * size, d), first-axis values, second-axis values)``.
    """
    flat = codes.reshape(len(codes), -1)
    first = np.linspace(*np.percentile(flat[:, 0], [5, 95]), size)
    second = (
        np.linspace(*np.percentile(flat[:, 1], [5, 95]), size)
        if flat.shape[1] > 1
        else np.zeros(size)
    )
    grid = np.repeat(np.median(flat, axis=0)[None], size * size, axis=0)
    rows, cols = np.meshgrid(second[::-1], first, indexing="ij")  # the top row: high values
    grid[:, 0] = cols.ravel()
    if flat.shape[1] > 1:
        grid[:, 1] = rows.ravel()
    return grid.astype("float32"), first, second


def plot_reconstructions(
    inputs: np.ndarray,
    targets: np.ndarray | None,
    reconstructions: np.ndarray,
    path: Path,
    title: str = "Reconstructions",
) -> Path:
    """Draws inputs, targets (when they differ) and reconstructions, one column each.

    Returns:
        The path.
    """
    from keras_blueprints.callbacks._plots import new_figure, save_figure

    rows = [("input", inputs)]
    if targets is not None:
        rows.append(("target", targets))
    rows.append(("reconstruction", reconstructions))
    n = len(inputs)
    figure = new_figure(1.3 * n + 1.2, 1.4 * len(rows) + 0.5)
    figure.suptitle(title)
    axes = figure.subplots(len(rows), n, squeeze=False)
    for r, (name, pictures) in enumerate(rows):
        for i in range(n):
            ax = axes[r][i]
            ax.imshow(as_picture(pictures[i]), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_ylabel(name, fontsize=9)
    return save_figure(figure, path)


def plot_codes(codes: np.ndarray, tags: np.ndarray | None, path: Path, title: str) -> Path:
    """Scatters the codes in two dimensions, coloured by class when ``tags`` are given.

    Returns:
        The path.
    """
    from keras_blueprints.callbacks._plots import new_figure, save_figure

    points, how = two_dimensions(codes)
    figure = new_figure(6.0, 5.0)
    ax = figure.add_subplot()
    if tags is None:
        ax.scatter(points[:, 0], points[:, 1], s=6, alpha=0.7)
    else:
        shown = ax.scatter(points[:, 0], points[:, 1], c=tags, cmap="tab10", s=6, alpha=0.8)
        legend = ax.legend(*shown.legend_elements(), title="class", fontsize=7, loc="best")
        ax.add_artist(legend)
    ax.set(xlabel=f"first {how}", ylabel=f"second {how}", title=title)
    return save_figure(figure, path)


def plot_latent_grid(
    pictures: np.ndarray, size: int, first: Any, second: Any, path: Path, title: str
) -> Path:
    """Tiles the decoded grid, the first code value left to right, the second bottom to top.

    Returns:
        The path.
    """
    from keras_blueprints.callbacks._plots import new_figure, save_figure

    tiles = [as_picture(p) for p in pictures]
    height, width = tiles[0].shape[:2]
    canvas = np.zeros((size * height, size * width, *tiles[0].shape[2:]))
    for k, tile in enumerate(tiles):
        r, c = divmod(k, size)
        canvas[r * height : (r + 1) * height, c * width : (c + 1) * width] = tile
    figure = new_figure(7.0, 7.0)
    ax = figure.add_subplot()
    ax.imshow(canvas, cmap="gray", vmin=0, vmax=1)
    ax.set_xticks([(c + 0.5) * width for c in range(size)], [f"{v:.1f}" for v in first])
    ax.set_yticks([(r + 0.5) * height for r in range(size)], [f"{v:.1f}" for v in second[::-1]])
    ax.tick_params(labelsize=6)
    ax.set(xlabel="first code value", ylabel="second code value", title=title)
    return save_figure(figure, path)
