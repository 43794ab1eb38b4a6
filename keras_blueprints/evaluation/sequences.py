"""Sequence models: token and sequence accuracy, and decoded samples against their targets.

Teacher-forced predictions (the decoder fed the true previous token, as in
training) give the token accuracy Keras reports. A sequence counts as right only
when every one of its tokens is. When the blueprint has an ``encoder`` and a
``decoder_step`` model, the samples are also *decoded*: the decoder fed its own
previous prediction, one token at a time (greedy), as it runs in use. The gap
between the two accuracies is the exposure bias the course describes: an early
mistake puts the decoder in states it never met in training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["SAMPLES_TXT", "accuracies", "decode_samples", "samples_text"]

SAMPLES_TXT = "samples.txt"


def accuracies(true_ids: np.ndarray, predicted_ids: np.ndarray) -> dict[str, float]:
    """Token accuracy (every token) and sequence accuracy (every token of a row right).

    Args:
        true_ids: ``(n, T)`` target token ids.
        predicted_ids: ``(n, T)`` predicted token ids.

    Returns:
        ``{"token_accuracy", "sequence_accuracy"}``.
    """
    right = np.asarray(true_ids) == np.asarray(predicted_ids)
    return {
        "token_accuracy": float(right.mean()),
        "sequence_accuracy": float(right.all(axis=1).mean()),
    }


def decode_samples(models: dict[str, Any], x: Any, true_ids: np.ndarray) -> np.ndarray | None:
    """Greedy decoding of the samples with the blueprint's encoder and one-step decoder.

    The start token is the first token of the decoder's teacher-forced input in the
    data, and the end token the last token of the targets when every row ends with
    the same one.

    Args:
        models: The blueprint's models by name (``encoder``, ``decoder_step``).
        x: The samples' inputs, by input name.
        true_ids: ``(n, T)`` their target ids (their length bounds the decoding).

    Returns:
        ``(n, T)`` decoded ids, or None when the blueprint cannot decode alone.
    """
    encoder, step = models.get("encoder"), models.get("decoder_step")
    if encoder is None or step is None or not isinstance(x, dict):
        return None
    from keras_blueprints.export.decode import greedy_decode

    sources = [t.name.split(":")[0] for t in encoder.inputs]
    teacher = [name for name in x if name not in sources]
    if len(sources) != 1 or sources[0] not in x or len(teacher) != 1:
        return None
    prefix = np.asarray(x[teacher[0]])
    first = prefix[:, 0]
    starts = first.argmax(-1) if first.ndim == 2 else first
    if len(set(np.asarray(starts).tolist())) != 1:
        return None
    ends = set(np.asarray(true_ids)[:, -1].tolist())
    decoded = greedy_decode(
        encoder,
        step,
        np.asarray(x[sources[0]]),
        start_token=int(starts[0]),
        end_token=int(next(iter(ends))) if len(ends) == 1 else None,
        max_length=true_ids.shape[1],
    )
    return np.asarray(decoded)[:, : true_ids.shape[1]]


def samples_text(
    true_ids: np.ndarray, forced: np.ndarray, decoded: np.ndarray | None, path: Path
) -> Path:
    """Writes the samples, one block each: target, teacher-forced and decoded tokens.

    A token that differs from the target's is starred.

    Returns:
        The path.
    """
    from keras_blueprints._core.files import atomic_write_text

    def line(ids: Any, truth: Any) -> str:  # a wrong token is starred
        return "".join(
            f"{int(t):>3}{' ' if t == want else '*'}" for t, want in zip(ids, truth, strict=False)
        )

    blocks = []
    for i, truth in enumerate(true_ids):
        rows = [f"sample {i}", "  target   " + "".join(f"{int(t):>3} " for t in truth)]
        rows.append("  forced   " + line(forced[i], truth))
        if decoded is not None:
            rows.append("  decoded  " + line(decoded[i], truth))
        blocks.append("\n".join(rows))
    atomic_write_text(Path(path), "\n\n".join(blocks) + "\n")
    return Path(path)
