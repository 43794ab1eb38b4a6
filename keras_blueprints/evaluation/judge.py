"""Choosing the judgement from the task and writing it to ``RUN_DIR/evaluation/``.

The task is read from the model's output and the data's targets, never from the
blueprint's name:

* one class per example (integer labels or one-hot rows): **classification**
  (:mod:`.classification`);
* a class per pixel (an output ``(n, H, W, C)`` with masks of class ids of the same
  size, not the input itself): **segmentation** (:mod:`.segmentation`);
* a token per step (an output ``(n, T, V)`` with ``(n, T)`` token ids, or one-hot):
  **sequences** (:mod:`.sequences`);
* targets shaped like the input and the output (the input itself, or a clean
  version of it): **reconstruction** (:mod:`.reconstruction`).

Anything else is not judged (no file is written).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from keras_blueprints._core.files import atomic_write_json
from keras_blueprints.evaluation import classification, reconstruction, segmentation, sequences
from keras_blueprints.evaluation.pictures import drawable

__all__ = ["EVALUATION_FILE", "MAX_EXAMPLES", "JudgeContext", "judge"]

EVALUATION_FILE = "evaluation.json"
MAX_EXAMPLES = 4096
"""Examples judged at most (the first ones of the split): the memory is bounded."""
KEPT_INPUTS = 256
"""Inputs kept for pictures and decoding (the first ones)."""
SAMPLES = 8
"""Examples drawn or written as samples."""
GRID = 12
"""Codes per side of a latent grid."""


@dataclass(frozen=True)
class JudgeContext:
    """What a judgement may use beyond the model and the split.

    Attributes:
        classes: The names of the class ids, when the data named them.
        models: The blueprint's models by name (``encoder``, ``decoder``,
            ``decoder_step``...), sharing the judged model's weights.
        train: The training data, batched and unshuffled (the PCA baseline is fitted
            on it), or None.
        tags: The class id of each example of the judged split, when the targets are
            something else (an autoencoder's digits), or None.
    """

    classes: tuple[str, ...] | None = None
    models: Mapping[str, Any] = field(default_factory=dict)
    train: Any = None
    tags: Any = None


def judge(
    model: Any,
    dataset: Any,
    out_dir: str | Path,
    split: str = "test",
    *,
    context: JudgeContext | None = None,
) -> dict | None:
    """Judges ``model`` on ``dataset`` and writes the pictures and ``evaluation.json``.

    Args:
        model: A trained single-output ``keras.Model``.
        dataset: Batches of ``(inputs, targets)``, in a fixed order.
        out_dir: The folder to write to (``RUN_DIR/evaluation``).
        split: The name of the data split, recorded in the JSON.
        context: Class names, the blueprint's other models, training data, tags.

    Returns:
        What ``evaluation.json`` holds, or None when no judgement fits the task
        (nothing is written then).
    """
    context = context or JudgeContext()
    seen = _run(model, dataset)
    if seen is None:
        return None
    out = Path(out_dir)
    for task in (_classification, _segmentation, _sequences, _reconstruction):
        found = task(seen, out, split, context)
        if found is not None:
            result = {"task": found.pop("task"), "split": split, "examples": seen.count, **found}
            atomic_write_json(out / EVALUATION_FILE, result)
            return result
    return None


@dataclass
class _Seen:
    """The model run over (the first ``MAX_EXAMPLES`` of) a split."""

    y: np.ndarray
    predicted: np.ndarray
    head: Any  # the first KEPT_INPUTS inputs, as the model takes them
    inputs: np.ndarray | None  # every input, when the model has one shaped like its targets

    @property
    def count(self) -> int:
        return len(self.y)


def _run(model: Any, dataset: Any) -> _Seen | None:
    import tensorflow as tf

    targets, predictions, heads, inputs = [], [], [], []
    kept = total = 0
    for batch in dataset:
        if not isinstance(batch, tuple | list) or len(batch) < 2:
            return None
        x, y = batch[0], batch[1]
        if isinstance(y, dict | list | tuple):
            return None
        # A plain call, not predict_on_batch: under a tf.distribute strategy that one
        # returns every replica's outputs for the batch.
        predicted = model(x, training=False)
        if isinstance(predicted, dict | list | tuple):
            return None
        y, predicted = np.asarray(y), np.asarray(predicted)
        if len(y) != len(predicted):
            return None
        targets.append(y)
        predictions.append(predicted)
        if kept < KEPT_INPUTS:
            take = KEPT_INPUTS - kept
            heads.append(tf.nest.map_structure(lambda t, n=take: np.asarray(t)[:n], x))
            kept += min(take, len(y))
        if not isinstance(x, dict | list | tuple) and tuple(np.shape(x)) == y.shape:
            inputs.append(np.asarray(x))
        total += len(y)
        if total >= MAX_EXAMPLES:
            break
    if not targets:
        return None
    head = tf.nest.map_structure(lambda *parts: np.concatenate(parts), *heads)
    everything = np.concatenate(inputs)[:MAX_EXAMPLES] if len(inputs) == len(targets) else None
    return _Seen(
        np.concatenate(targets)[:MAX_EXAMPLES],
        np.concatenate(predictions)[:MAX_EXAMPLES],
        head,
        everything,
    )


# -- classification ------------------------------------------------------------------------


def _classification(seen: _Seen, out: Path, split: str, context: JudgeContext) -> dict | None:
    labels = _class_labels(seen.y, seen.predicted)
    if labels is None:
        return None
    y_prob = seen.predicted
    classes = y_prob.shape[-1] if y_prob.shape[-1] > 1 else 2
    y_pred = y_prob.argmax(-1) if y_prob.shape[-1] > 1 else (y_prob[:, 0] > 0.5).astype(int)
    matrix = classification.confusion_matrix(labels, y_pred, classes)
    names = list(context.classes) if context.classes and len(context.classes) == classes else None
    classification.plot_confusion(
        matrix, out / classification.CONFUSION_PNG, f"Confusion matrix ({split})", names=names
    )
    return {
        "task": "classification",
        **({"classes": names} if names else {}),
        "confusion_matrix": matrix.tolist(),
        **classification.per_class_scores(matrix),
    }


def _class_labels(y_true: np.ndarray, y_prob: np.ndarray) -> np.ndarray | None:
    """Integer labels when the task is classification (one label per example), else None."""
    if y_prob.ndim != 2:
        return None
    if y_true.ndim == 2 and y_true.shape == y_prob.shape and y_prob.shape[-1] > 1:
        if not np.all((y_true == 0) | (y_true == 1)) or not np.all(y_true.sum(-1) == 1):
            return None
        return y_true.argmax(-1)
    flat = y_true.reshape(len(y_true), -1)
    if flat.shape[1] != 1:
        return None
    labels = flat[:, 0]
    if not np.all(labels == np.round(labels)):
        return None
    labels = labels.astype(int)
    limit = y_prob.shape[-1] if y_prob.shape[-1] > 1 else 2
    if labels.min(initial=0) < 0 or labels.max(initial=0) >= limit:
        return None
    return labels


# -- segmentation --------------------------------------------------------------------------


def _segmentation(seen: _Seen, out: Path, split: str, context: JudgeContext) -> dict | None:
    y, predicted = seen.y, seen.predicted
    if predicted.ndim != 4 or y.ndim not in (3, 4) or y.shape[1:3] != predicted.shape[1:3]:
        return None
    classes = predicted.shape[-1] if predicted.shape[-1] > 1 else 2
    if y.ndim == 4 and y.shape[-1] not in (1, predicted.shape[-1]):
        return None
    # Masks hold class ids (or one-hot rows); an image with grey levels is a
    # reconstruction's target, and so is the input itself (an autoencoder of binary images).
    if not np.all(y == np.round(y)) or (seen.inputs is not None and np.array_equal(seen.inputs, y)):
        return None
    true_ids = segmentation.mask_ids(y, classes)
    predicted_ids = segmentation.mask_ids(predicted, classes)
    if true_ids.min(initial=0) < 0 or true_ids.max(initial=0) >= classes:
        return None
    matrix = segmentation.pixel_confusion(true_ids, predicted_ids, classes)
    found = segmentation.scores(matrix)
    images = _images_like(seen.head, y.shape[1:3])
    if images is not None:
        n = min(SAMPLES // 2, len(images))
        segmentation.plot_masks(
            images[:n],
            true_ids[:n],
            predicted_ids[:n],
            classes,
            out / segmentation.MASKS_PNG,
            f"Masks ({split})",
        )
    names = list(context.classes) if context.classes and len(context.classes) == classes else None
    return {"task": "segmentation", **({"classes": names} if names else {}), **found}


def _images_like(head: Any, size: tuple[int, ...]) -> np.ndarray | None:
    """The model's image input of the given height and width, if it has one."""
    parts = head.values() if isinstance(head, dict) else head
    if not isinstance(head, dict | list | tuple):
        parts = [head]
    for part in parts:
        array = np.asarray(part)
        if array.ndim == 4 and array.shape[1:3] == tuple(size) and array.shape[-1] in (1, 3):
            return array
    return None


# -- sequences -----------------------------------------------------------------------------


def _sequences(seen: _Seen, out: Path, split: str, context: JudgeContext) -> dict | None:
    y, predicted = seen.y, seen.predicted
    if predicted.ndim != 3 or predicted.shape[-1] < 2:
        return None
    if y.shape == predicted.shape[:2] and np.all(y == np.round(y)):
        true_ids = y.astype(int)
    elif y.shape == predicted.shape and np.all((y == 0) | (y == 1)):
        true_ids = y.argmax(-1)
    else:
        return None
    forced = predicted.argmax(-1)
    result: dict[str, Any] = {"task": "sequences", **sequences.accuracies(true_ids, forced)}
    decoded = sequences.decode_samples(dict(context.models), seen.head, true_ids[:KEPT_INPUTS])
    if decoded is not None:
        decoded_scores = sequences.accuracies(true_ids[: len(decoded)], decoded)
        result["decoded"] = {"examples": len(decoded), **decoded_scores}
    n = min(SAMPLES, len(true_ids))
    result["samples"] = [
        {
            "target": true_ids[i].tolist(),
            "forced": forced[i].tolist(),
            **({"decoded": decoded[i].tolist()} if decoded is not None else {}),
        }
        for i in range(n)
    ]
    shown = None if decoded is None else decoded[:n]
    sequences.samples_text(true_ids[:n], forced[:n], shown, out / sequences.SAMPLES_TXT)
    return result


# -- reconstruction ------------------------------------------------------------------------


def _reconstruction(seen: _Seen, out: Path, split: str, context: JudgeContext) -> dict | None:
    y, predicted, inputs = seen.y, seen.predicted, seen.inputs
    if inputs is None or predicted.shape != y.shape or not np.issubdtype(y.dtype, np.floating):
        return None
    error = float(np.mean((predicted - y) ** 2))
    result: dict[str, Any] = {
        "task": "reconstruction",
        "mse": error,
        "mae": float(np.mean(np.abs(predicted - y))),
    }
    n = min(SAMPLES, len(y))
    pictured = drawable(y[0])
    if pictured:
        denoising = not np.allclose(inputs[:n], y[:n])
        reconstruction.plot_reconstructions(
            inputs[:n],
            y[:n] if denoising else None,
            predicted[:n],
            out / reconstruction.RECONSTRUCTIONS_PNG,
            f"Reconstructions ({split})",
        )
    try:
        _latent_space(result, seen, out, split, context, pictured)
    except Exception as exc:  # the codes are extra: the reconstruction's judgement stands
        result["latent_space_error"] = f"{type(exc).__name__}: {exc}"
    return result


def _latent_space(
    result: dict, seen: _Seen, out: Path, split: str, context: JudgeContext, pictured: bool
) -> None:
    """The PCA baseline, the codes and the latent grid, when the blueprint has an encoder."""
    y, inputs, error = seen.y, seen.inputs, result["mse"]
    encoder = context.models.get("encoder")
    if encoder is None:
        return
    codes = _first_output(encoder.predict(inputs, batch_size=256, verbose=0))
    size = int(np.prod(codes.shape[1:]))
    train = _train_inputs(context.train, inputs.shape[1:])
    if train is not None and size < int(np.prod(inputs.shape[1:])):
        baseline = reconstruction.pca_reconstruction(train, inputs, size)
        result["pca"] = {
            "components": size,
            "mse": float(np.mean((baseline - y) ** 2)),
            "autoencoder_mse": error,
        }
    tags = None if context.tags is None else np.asarray(context.tags)[: len(codes)]
    if tags is not None and len(tags) != len(codes):
        tags = None
    reconstruction.plot_codes(
        codes, tags, out / reconstruction.CODES_PNG, f"Codes of the {split} examples"
    )
    result["code_size"] = size
    decoder = context.models.get("decoder")
    if decoder is not None and pictured and _takes_codes(decoder, codes):
        grid, first, second = reconstruction.latent_grid(codes.reshape(len(codes), -1), GRID)
        pictures = _first_output(decoder.predict(grid, batch_size=256, verbose=0))
        reconstruction.plot_latent_grid(
            pictures,
            GRID,
            first,
            second,
            out / reconstruction.LATENT_GRID_PNG,
            "Decoded from a grid of codes" + (" (others at their median)" if size > 2 else ""),
        )


def _first_output(value: Any) -> np.ndarray:
    return np.asarray(value[0] if isinstance(value, list | tuple) else value)


def _takes_codes(decoder: Any, codes: np.ndarray) -> bool:
    """Whether the decoder takes the codes, and they are vectors.

    A grid over the maps of a convolutional code (two values varied among hundreds)
    would show little.
    """
    inputs = decoder.inputs
    return (
        codes.ndim == 2
        and len(inputs) == 1
        and tuple(inputs[0].shape[1:]) == tuple(codes.shape[1:])
    )


def _train_inputs(train: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    """Up to ``MAX_EXAMPLES`` training inputs shaped ``shape``, for the PCA baseline."""
    if train is None:
        return None
    parts, total = [], 0
    for batch in train:
        x = batch[0] if isinstance(batch, tuple | list) else batch
        if isinstance(x, dict | list | tuple) or tuple(np.shape(x)[1:]) != tuple(shape):
            return None
        parts.append(np.asarray(x))
        total += len(parts[-1])
        if total >= MAX_EXAMPLES:
            break
    return np.concatenate(parts)[:MAX_EXAMPLES] if parts else None
