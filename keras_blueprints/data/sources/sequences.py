"""``sequences``: generated sequence-to-sequence tasks (reverse, sort, copy) for encoder-decoders.

The token conventions are those of ``zoo:seq2seq_lstm``,
``zoo:seq2seq_gru_bidirectional`` and
:func:`keras_blueprints.export.decode.greedy_decode`: a vocabulary of V
tokens holds the symbols ``0 .. V-3``, the start token ``V-2`` and the end
token ``V-1``. For a source ``x1 .. xL`` and its answer ``y1 .. yL``:

* input ``source``: ``x1 .. xL`` (one-hot, ``[L, V]``, or token ids ``[L]``);
* input ``target``: the answer shifted right, ``<start> y1 .. yL`` (teacher forcing);
* labels: ``y1 .. yL <end>``, token ids (``sparse_categorical_crossentropy``).

Reversal is the task Sutskever et al. (2014) found easier when the source is
read backwards; copying tests the bottleneck alone; sorting needs the whole
source before the first output token.
"""

from __future__ import annotations

from typing import Literal

from keras_blueprints._core.errors import BlueprintError, Plain
from keras_blueprints.data.examples import Examples
from keras_blueprints.data.registry import SourceContext, register_source


@register_source("sequences")
def sequences(
    context: SourceContext,
    *,
    task: Literal["reverse", "sort", "copy"] = "reverse",
    count: int = 1000,
    length: int | None = None,
    vocabulary: int | None = None,
    test_fraction: float = 0.2,
    validation_fraction: float = 0.0,
) -> Examples | None:
    """Random token sequences and their answers (reversed, sorted or copied), teacher-forced.

    The blueprint has two inputs: the source and the decoder's input (named
    ``source`` and ``target``, else the first and the second). Each is one-hot
    (a float input ``[length, V]``) or token ids (an integer input ``[length]``).
    The vocabulary V comes from the one-hot inputs' last axis (or ``vocabulary``),
    the length from the source's first axis (or ``length``, default 10).

    Args:
        context: The blueprint, the seed and the split asked.
        task: ``reverse``, ``sort`` (ascending) or ``copy``.
        count: Number of sequence pairs in all (before splitting).
        length: Source length, when the input's is free (default 10).
        vocabulary: Number of tokens V (symbols, start and end), when the inputs don't say.
        test_fraction: Share held out as the test split.
        validation_fraction: Share held out as the validation split (0: none).

    Returns:
        The split asked, or None (validation with ``validation_fraction`` 0).
    """
    import numpy as np

    from keras_blueprints.data.sources._util import split_examples

    source, target = _inputs(context)
    vocabulary = _size("vocabulary", vocabulary, [_vocabulary(s) for s in (source, target)])
    length = _size("length", length, [source.shape[0]]) or 10
    if vocabulary is None:
        raise BlueprintError(
            "source 'sequences' cannot tell the vocabulary size from token-id inputs",
            expected="one-hot inputs [length, V], or the 'vocabulary' argument",
            received=Plain(
                f"inputs {source.name} {list(source.shape)}, {target.name} {list(target.shape)}"
            ),
            hint="set vocabulary: V (symbols + start + end)",
        )
    if vocabulary < 3 or length < 1 or count < 1:
        raise BlueprintError(
            "source 'sequences' needs a vocabulary of at least 3 tokens (one symbol, start, end),"
            " length >= 1 and count >= 1",
            received=Plain(f"vocabulary={vocabulary}, length={length}, count={count}"),
        )
    start, end = vocabulary - 2, vocabulary - 1
    rng = np.random.default_rng(context.seed)
    tokens = rng.integers(0, vocabulary - 2, (count, length))
    answers = {"reverse": tokens[:, ::-1], "sort": np.sort(tokens, axis=1), "copy": tokens}[task]
    shifted = np.concatenate([np.full((count, 1), start), answers], axis=1)  # teacher forcing
    labels = np.concatenate([answers, np.full((count, 1), end)], axis=1).astype("int32")
    x = {
        source.name: _encode(tokens, source, vocabulary),
        target.name: _encode(shifted, target, vocabulary),
    }
    return split_examples(
        x,
        labels,
        context,
        test_fraction=test_fraction,
        validation_fraction=validation_fraction,
        source="sequences",
    )


def _inputs(context: SourceContext):
    inputs = {spec.name: spec for spec in context.blueprint.inputs}
    if len(inputs) != 2:
        raise BlueprintError(
            f"source 'sequences' feeds an encoder-decoder with 2 inputs, but the blueprint has "
            f"{len(inputs)}",
            expected="inputs source [length, V] and target [null, V]",
            received=Plain(", ".join(inputs)),
        )
    if "source" in inputs and "target" in inputs:
        return inputs["source"], inputs["target"]
    return tuple(context.blueprint.inputs)


def _vocabulary(spec) -> int | None:
    return spec.shape[-1] if len(spec.shape) == 2 else None


def _size(name: str, given: int | None, declared: list[int | None]) -> int | None:
    known = {d for d in declared if d is not None}
    if len(known) > 1 or (given is not None and known and known != {given}):
        raise BlueprintError(
            f"source 'sequences': the {name} given does not match the blueprint's inputs",
            expected=f"{name} {sorted(known)[0]} (from the inputs' shapes)",
            received=Plain(f"{name}={given}"),
            hint=f"leave '{name}' out to follow the blueprint",
        )
    return given if given is not None else (known.pop() if known else None)


def _encode(ids, spec, vocabulary: int):
    import numpy as np

    if len(spec.shape) == 2:  # one-hot over the last axis
        return np.eye(vocabulary, dtype="float32")[ids]
    if "int" not in spec.dtype:
        raise BlueprintError(
            f"source 'sequences' cannot feed input '{spec.name}' of shape {list(spec.shape)} "
            f"and dtype {spec.dtype}",
            expected="one-hot [length, V] (float) or token ids [length] (int32)",
            received=Plain(f"{list(spec.shape)}, {spec.dtype}"),
        )
    return ids.astype(spec.dtype)
