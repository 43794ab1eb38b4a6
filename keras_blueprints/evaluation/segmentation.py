"""Segmentation: IoU and Dice per class from the pixels, and masks drawn over the images.

For class c, with TP, FP and FN counted over every pixel of the split,
IoU = TP / (TP + FP + FN) (the Jaccard index) and Dice = 2 TP / (2 TP + FP + FN)
(the F1 score of the pixels). Dice weighs the overlap twice, so it is never below
IoU: Dice = 2 IoU / (1 + IoU). A class absent from both the truth and the
prediction has neither (``null`` in the JSON) and is left out of the means.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from keras_blueprints.evaluation.pictures import as_picture

__all__ = ["MASKS_PNG", "mask_ids", "pixel_confusion", "plot_masks", "scores"]

MASKS_PNG = "masks.png"


def mask_ids(values: np.ndarray, classes: int) -> np.ndarray:
    """Class ids per pixel, shape ``(n, H, W)``, from masks or predicted scores.

    Args:
        values: ``(n, H, W)`` ids, ``(n, H, W, 1)`` ids or sigmoid scores (thresholded
            at 0.5), or ``(n, H, W, C)`` one-hot masks or softmax scores (argmax).
        classes: Number of classes (2 for a one-channel mask).

    Returns:
        Integer ids in ``0 .. classes - 1``.
    """
    values = np.asarray(values)
    if values.ndim == 3:
        return values.astype(int)
    if values.shape[-1] == 1:
        one = values[..., 0]
        if classes == 2:
            return (one > 0.5).astype(int)
        return np.rint(one).astype(int)
    return values.argmax(-1)


def pixel_confusion(true_ids: np.ndarray, predicted_ids: np.ndarray, classes: int) -> np.ndarray:
    """Counts of (true class, predicted class) over every pixel.

    Returns:
        An integer ``(classes, classes)`` array: row = true class, column = prediction.
    """
    flat = np.asarray(true_ids, int).ravel() * classes + np.asarray(predicted_ids, int).ravel()
    return np.bincount(flat, minlength=classes * classes).reshape(classes, classes)


def scores(matrix: np.ndarray) -> dict[str, Any]:
    """IoU and Dice per class, their means over the classes present, and pixel accuracy.

    Args:
        matrix: A pixel confusion matrix (rows = true classes).

    Returns:
        ``{"iou", "dice", "mean_iou", "mean_dice", "pixel_accuracy", "pixels"}``; a class
        absent from truth and prediction is None.
    """
    tp = np.diag(matrix).astype(float)
    fp = matrix.sum(axis=0) - tp
    fn = matrix.sum(axis=1) - tp
    union = tp + fp + fn
    iou = [float(t / u) if u else None for t, u in zip(tp, union, strict=True)]
    dice = [float(2 * t / (t + u)) if u else None for t, u in zip(tp, union, strict=True)]
    present = [v for v in iou if v is not None]
    present_dice = [v for v in dice if v is not None]
    total = matrix.sum()
    return {
        "iou": iou,
        "dice": dice,
        "mean_iou": float(np.mean(present)) if present else None,
        "mean_dice": float(np.mean(present_dice)) if present_dice else None,
        "pixel_accuracy": float(tp.sum() / total) if total else None,
        "pixels": matrix.sum(axis=1).astype(int).tolist(),
    }


def plot_masks(
    images: np.ndarray,
    true_ids: np.ndarray,
    predicted_ids: np.ndarray,
    classes: int,
    path: Path,
    title: str = "Masks",
) -> Path:
    """Draws each image beside its true and predicted masks, with that image's IoU.

    Args:
        images: ``(n, H, W, C)`` images (C = 1 or 3), any range (scaled per image).
        true_ids: ``(n, H, W)`` true class ids.
        predicted_ids: ``(n, H, W)`` predicted class ids.
        classes: Number of classes (the masks' colour range).
        path: The PNG to write (atomically).
        title: The figure's title.

    Returns:
        The path.
    """
    from keras_blueprints.callbacks._plots import new_figure, save_figure

    n = len(images)
    figure = new_figure(7.5, 2.4 * n + 0.4)
    figure.suptitle(title)
    axes = figure.subplots(n, 3, squeeze=False)
    for i in range(n):
        one = pixel_confusion(true_ids[i], predicted_ids[i], classes)
        found = scores(one)["mean_iou"]
        panels = (
            (as_picture(images[i]), "image", "gray"),
            (true_ids[i], "true mask", "viridis"),
            (predicted_ids[i], f"predicted (IoU {found:.2f})" if found is not None else "predicted",
             "viridis"),
        )  # fmt: skip
        for ax, (picture, name, cmap) in zip(axes[i], panels, strict=True):
            limits = {} if name == "image" else {"vmin": 0, "vmax": max(classes - 1, 1)}
            ax.imshow(picture, cmap=cmap, interpolation="nearest", **limits)
            ax.set_title(name, fontsize=9)
            ax.axis("off")
    return save_figure(figure, path)
