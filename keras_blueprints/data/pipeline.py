"""From a blueprint's ``data:`` section to batched ``tf.data`` pipelines, checked before training.

:func:`make_datasets` calls the sources, holds out the validation and test
fractions, checks the examples against the blueprint's inputs (names, shapes,
dtypes) and, given the model, against its outputs (number of targets, shapes,
class ids), then builds the pipelines. A mismatch is a :class:`BlueprintError`
located at the ``data:`` section *before* the first step, not a TensorFlow
traceback ten minutes into a run.

The training pipeline, in order::

    examples -> cache -> shuffle(buffer, seed, reshuffle every epoch) -> batch
             -> label noise -> prefetch

Caching before shuffling keeps the decoded examples in memory after the first
epoch while each epoch still sees a new order; label noise comes after
batching so that every epoch flips *different* labels (a regulariser, as
opposed to a data set corrupted once). Validation and test pipelines are
batched, cached and prefetched, never shuffled or corrupted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keras_blueprints._core.errors import UNKNOWN, BlueprintError, Location, Plain, closest
from keras_blueprints.data.examples import Examples
from keras_blueprints.data.registry import SOURCES, SourceContext
from keras_blueprints.resolve.schema import Blueprint, SourceSpec, thaw

if TYPE_CHECKING:  # the section models load pydantic: only when a blueprint has the section
    from keras_blueprints.resolve.specs import DataSpec

__all__ = ["Datasets", "check_examples", "check_finite", "load_examples", "make_datasets"]

SPLITS = ("train", "validation", "test")


@dataclass
class Datasets:
    """The batched pipelines of a run, and what the runner and callbacks need to know.

    Attributes:
        train: Batched ``(x, y)``; ``x`` is a dict keyed by input name, or the
            bare tensor for a one-input blueprint (as Keras 3 wants it).
        validation: Batched validation data, or None.
        test: Batched test data, or None.
        batch_size: Examples per batch.
        train_size: Number of training examples, when known.
        sizes: Number of examples of each split present.
        classes: The names of the class ids, when the training source knows them.
        features: The names of the one input's values (a CSV table's feature columns).
        tags: Each split's class id per example (in stored order), for the splits whose
            source knows them while the targets are something else (an autoencoder's).
    """

    train: Any
    validation: Any
    test: Any
    batch_size: int
    train_size: int | None
    sizes: dict[str, int | None] = field(default_factory=dict)
    classes: tuple[str, ...] | None = None
    features: tuple[str, ...] | None = None
    tags: dict[str, Any] = field(default_factory=dict)
    _plain: dict[str, Any] = field(default_factory=dict, repr=False)

    def unshuffled(self, split: str = "train") -> Any:
        """A split batched in its stored order, without label noise: for evaluation.

        Args:
            split: ``"train"``, ``"validation"`` or ``"test"``.

        Returns:
            The batched dataset, or None when the split is absent.
        """
        plain = self._plain.get(split)
        return None if plain is None else plain.batch(self.batch_size)

    def sample(self, split: str = "validation", count: int | None = None) -> tuple[dict, Any]:
        """A fixed batch as NumPy, for monitors (gradient flow, dead units).

        Always the same examples (the first ones, unshuffled, without label noise).

        Args:
            split: The split to read; the training data when it is absent.
            count: Number of examples (default: one batch).

        Returns:
            ``(x, y)`` as the model takes them: ``x`` maps input names to arrays
            (one array for a one-input blueprint); ``y`` is an array, a dict of
            arrays, or None.
        """
        import tensorflow as tf

        plain = self._plain.get(split)
        if plain is None:
            plain = self._plain["train"]
        count = count or self.batch_size
        batch = next(iter(plain.take(count).batch(count)))
        as_numpy = tf.nest.map_structure(lambda t: t.numpy(), batch)
        if isinstance(as_numpy, tuple):
            return as_numpy[0], as_numpy[1]
        return as_numpy, None


def make_datasets(
    blueprint: Blueprint,
    spec: DataSpec | None = None,
    *,
    base_dir: str | Path | None = None,
    seed: int = 0,
    batch_size: int | None = None,
    model: Any = None,
) -> Datasets:
    """Builds the training, validation and test pipelines of a blueprint.

    Args:
        blueprint: The resolved blueprint (its inputs say what the data must be).
        spec: The data section (default: ``blueprint.data``).
        base_dir: Where relative paths start (default: the blueprint file's folder,
            else the working directory).
        seed: Seeds the held-out fractions, shuffling, label noise and generated data.
        batch_size: Overrides ``spec.batch_size``.
        model: The built model; when given, the targets are checked against its outputs.

    Returns:
        The pipelines.

    Raises:
        BlueprintError: No data, a missing file, data that does not fit the
            blueprint's inputs or the model's outputs, a bad fraction or label noise.
    """
    import tensorflow as tf

    spec = spec if spec is not None else blueprint.data
    if spec is None or spec.source is None:
        raise BlueprintError(
            "no training data: add a data: section or pass --data",
            spec.location if spec is not None else blueprint.location,
            expected="data: {source: digits} (or npz, csv, images...)",
        )
    batch = batch_size if batch_size is not None else spec.batch_size
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise BlueprintError(
            "the batch size must be a positive integer",
            spec.location,
            received=Plain(f"batch_size={batch!r}"),
        )
    base = _base_dir(blueprint, base_dir)
    examples = load_examples(blueprint, spec, base_dir=base, seed=seed)
    where = {
        "train": spec.source.location,
        **{s: _location(getattr(spec, s), spec) for s in ("validation", "test")},
    }
    examples = {
        split: check_examples(ex, blueprint, model=model, location=where[split], split=split)
        for split, ex in examples.items()
    }
    plain = {split: _as_model_takes(ex.to_dataset(), blueprint) for split, ex in examples.items()}
    train = plain["train"]
    if spec.cache:
        train = train.cache()
    if spec.shuffle:
        train = train.shuffle(spec.shuffle, seed=seed, reshuffle_each_iteration=True)
    train = train.batch(batch)
    if spec.label_noise:
        classes = _classes(examples["train"], model, spec)
        train = _label_noise(train, spec.label_noise, classes, seed)
    train = train.prefetch(tf.data.AUTOTUNE)
    held = {}
    for split in ("validation", "test"):
        if split in plain:
            ds = plain[split].batch(batch)
            held[split] = (ds.cache() if spec.cache else ds).prefetch(tf.data.AUTOTUNE)
    return Datasets(
        train=train,
        validation=held.get("validation"),
        test=held.get("test"),
        batch_size=batch,
        train_size=examples["train"].size,
        sizes={split: ex.size for split, ex in examples.items()},
        classes=examples["train"].classes,
        features=examples["train"].features,
        tags={split: ex.tags for split, ex in examples.items() if ex.tags is not None},
        _plain=plain,
    )


def load_examples(
    blueprint: Blueprint, spec: DataSpec, *, base_dir: str | Path | None = None, seed: int = 0
) -> dict[str, Examples]:
    """Calls the sources and holds out the fractions: the examples of each split present.

    A fraction is drawn from the training examples (seeded, before any
    shuffling): first the test share, then the validation share, both of the
    source's training examples. A separate source gives its own split of that
    name if it has one (``validation: {digits: {validation_fraction: 0.1}}``),
    else all its examples (a file). With neither, the training source's own
    split of that name is used, if it has one.

    Args:
        blueprint: The resolved blueprint.
        spec: The data section (its ``source`` must be set).
        base_dir: Where relative paths start.
        seed: Seeds the fractions and the sources.

    Returns:
        ``{"train": ..., "validation": ..., "test": ...}`` for the splits present.

    Raises:
        BlueprintError: A source that fails, or has no training examples; a bad fraction.
    """
    if spec.source is None:
        raise BlueprintError("no training data: add a data: section or pass --data", spec.location)
    base = _base_dir(blueprint, base_dir)
    train = call_source(spec.source, blueprint, base, seed, "train")
    if train is None or not train.size:
        raise BlueprintError(
            f"source '{spec.source.kind}' gave no training examples",
            spec.source.location,
            expected="at least one example",
        )
    out: dict[str, Examples] = {}
    fractions = {s: getattr(spec, s) for s in ("test", "validation")}
    for split, value in fractions.items():
        if isinstance(value, SourceSpec):
            found = call_source(value, blueprint, base, seed, split)
            if found is None:
                found = call_source(value, blueprint, base, seed, "train")
            if found is not None:
                out[split] = found
        elif value is None:
            found = call_source(spec.source, blueprint, base, seed, split)
            if found is not None:
                out[split] = found
    held = {s: v for s, v in fractions.items() if isinstance(v, int | float) and v}
    if held:
        out.update(_hold_out(train, held, seed, spec))
        train = out.pop("train")
    return {"train": train, **{s: out[s] for s in ("validation", "test") if s in out}}


def call_source(
    spec: SourceSpec, blueprint: Blueprint, base_dir: Path, seed: int, split: str
) -> Examples | None:
    """Calls a registered source for one split; its errors are located at the source's YAML.

    Raises:
        BlueprintError: Unknown source, or the source's own error (located).
    """
    entry = SOURCES.lookup(spec.kind, spec.location)
    context = SourceContext(blueprint=blueprint, base_dir=base_dir, seed=seed, split=split)
    try:
        found = entry.fn(context, **thaw(spec.args))
    except BlueprintError as err:
        if err.location == UNKNOWN or err.location.file == "<unknown>":
            err = BlueprintError(
                err.message,
                spec.location,
                path=err.path,
                expected=err.expected,
                received=err.received,
                hint=err.hint,
                context=err.context or f"in data source '{spec.kind}'",
            )
            raise err from None
        raise
    if found is not None and not isinstance(found, Examples):
        raise TypeError(
            f"Expected data source '{spec.kind}' to return Examples or None. "
            f"Received: {type(found).__name__}"
        )
    if found is not None and found.is_arrays:  # in the source's own row order
        check_finite(found, blueprint, spec.location, f"source '{spec.kind}'")
    return found


FINITE_CHUNK = 1 << 20
"""Values checked at a time by :func:`check_finite` (bounds its temporary copies)."""


def check_finite(examples: Examples, blueprint: Blueprint, location: Location, what: str) -> None:
    """Refuses NaN, infinities, and values that overflow the dtype the model takes.

    A NaN or an infinity in the inputs or targets makes the loss NaN at the first
    step that meets it, and the run goes on to its end with exit 0; a float64 value
    such as 1e300 becomes infinite when cast to float32. Float arrays are checked
    in NumPy, in chunks, after the cast the model will apply (an input's declared
    dtype, float32 for bfloat16; float32 for targets). Integer and bool arrays are
    always finite.

    Only in-memory arrays are checked (``npz``, ``npy``, ``csv``, the built-in
    sets). Streamed sources are not read ahead of training: a folder of images
    decodes 8-bit pixels (always finite), but a TFRecord's float features are only
    seen as training reads them.

    Args:
        examples: Array examples, rows in the source's order.
        blueprint: The blueprint (its inputs' dtypes).
        location: Where the source is declared (errors point there).
        what: The source, for messages (``source 'csv'``).

    Raises:
        BlueprintError: The first non-finite value: its input or target, row and column.
    """
    import numpy as np

    declared = {i.name: i.dtype for i in blueprint.inputs}
    arrays = [(f"input '{k}'", v, declared.get(k, "float32")) for k, v in examples.x.items()]
    y = examples.y
    if isinstance(y, Mapping):
        arrays += [(f"target '{k}'", v, "float32") for k, v in y.items()]
    elif y is not None:
        arrays.append(("the target array", y, "float32"))
    for name, array, dtype in arrays:
        if array.dtype.kind != "f":
            continue
        target = np.dtype("float32" if dtype == "bfloat16" or "float" not in dtype else dtype)
        flat = array.reshape(len(array), -1) if array.ndim else array.reshape(1, 1)
        step = max(1, FINITE_CHUNK // max(1, flat.shape[1]))
        first, count = None, 0
        for start in range(0, len(flat), step):
            block = flat[start : start + step]
            with np.errstate(over="ignore", invalid="ignore"):
                bad = ~np.isfinite(block.astype(target, copy=False))
            found = int(bad.sum())
            if found and first is None:
                r, c = (int(i) for i in np.argwhere(bad)[0])
                first = (start + r, c, float(block[r, c]))
            count += found
        if first is None:
            continue
        row, c, value = first
        index = np.unravel_index(c, array.shape[1:]) if array.ndim > 1 else ()
        at = ", ".join(str(int(i)) for i in (row, *index))
        column = f", column {c + 1}" if array.ndim == 2 else ""
        raise BlueprintError(
            f"{name} of {what} holds {_describe(value)} at row {row + 1}{column} (index [{at}])",
            location,
            expected=f"finite numbers within {target.name}'s range "
            f"(|x| <= {float(np.finfo(target).max):.3g})",
            received=Plain(f"{value!r}; {count} such value(s) in {name}"),
            hint="Remove or fill those rows (NaN is often a missing value), or rescale the "
            "data: a NaN or an infinity makes the loss NaN from the first step.",
        )


def _describe(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "an infinity"
    return "a value too large for the model's dtype"


def _hold_out(
    train: Examples, fractions: dict[str, float], seed: int, spec: DataSpec
) -> dict[str, Examples]:
    import numpy as np

    for split, value in fractions.items():
        if not 0.0 < value < 1.0:
            raise BlueprintError(
                f"the {split} fraction must be in (0, 1)",
                spec.location,
                expected="a share of the training examples, such as 0.1",
                received=Plain(f"{split}: {value}"),
            )
    n = int(train.size or 0)
    counts = {s: max(1, round(v * n)) for s, v in fractions.items()}
    if sum(counts.values()) >= n:
        raise BlueprintError(
            "the held-out fractions leave no training examples",
            spec.location,
            expected="validation + test < 1",
            received=Plain(", ".join(f"{s}: {v}" for s, v in fractions.items())),
        )
    out: dict[str, Examples] = {}
    if train.is_arrays:
        order = np.random.default_rng(seed).permutation(n)
        start = 0
        for split in ("test", "validation"):
            if split in counts:
                out[split] = train.subset(np.sort(order[start : start + counts[split]]))
                start += counts[split]
        out["train"] = train.subset(np.sort(order[start:]))
        return out
    ds = train.dataset.shuffle(n, seed=seed, reshuffle_each_iteration=False)
    start = 0
    for split in ("test", "validation"):
        if split in counts:
            out[split] = Examples(dataset=ds.skip(start).take(counts[split]), size=counts[split])
            start += counts[split]
    out["train"] = Examples(dataset=ds.skip(start), size=n - start)
    return out


# --- checks -------------------------------------------------------------------------


def check_examples(
    examples: Examples,
    blueprint: Blueprint,
    *,
    model: Any = None,
    location: Location | None = None,
    split: str = "train",
) -> Examples:
    """Checks examples against the blueprint's inputs and the model's outputs; casts ints.

    Inputs: every blueprint input present, no others, every fixed dimension of
    its declared shape equal to the data's, and a dtype that converts (integer
    data feeds float inputs, cast; float data does not feed integer inputs).
    Targets, given the model: one per output, shapes that fit (sparse integer
    labels for a softmax of C classes are fine), and class ids below C.

    Args:
        examples: The examples of one split.
        blueprint: The resolved blueprint.
        model: The built model, or None to skip the target checks.
        location: Where the data is declared (errors point there).
        split: The split's name, for messages.

    Returns:
        The examples, with array inputs cast to the inputs' dtypes.

    Raises:
        BlueprintError: The first mismatch found.
    """
    x_specs, y_spec = _specs(examples)
    declared = {i.name: i for i in blueprint.inputs}
    for name, spec in declared.items():
        if name not in x_specs:
            raise BlueprintError(
                f"the {split} data has nothing for input '{name}'",
                location or spec.location,
                expected=f"data for every input: {', '.join(declared)}",
                received=Plain(", ".join(x_specs) or "no inputs"),
                hint=_suggest(name, x_specs),
            )
    extra = [k for k in x_specs if k not in declared]
    if extra:
        raise BlueprintError(
            f"the {split} data has {'an input' if len(extra) == 1 else 'inputs'} "
            f"the blueprint does not declare: {', '.join(repr(e) for e in extra)}",
            location,
            expected=f"the blueprint's inputs: {', '.join(declared)}",
            received=Plain(", ".join(x_specs)),
            hint="leave them out of the data (npz: x: {input: key}), or declare them in inputs:",
        )
    casts: dict[str, str] = {}
    for name, spec in declared.items():
        shape, dtype = x_specs[name]
        want = (None, *spec.shape)
        if len(shape) != len(want) or any(
            w is not None and s is not None and w != s for w, s in zip(want, shape, strict=False)
        ):
            raise BlueprintError(
                f"data for input '{name}' has the wrong shape",
                location or spec.location,
                expected=str(want),
                received=Plain(str(shape)),
                hint=_shape_hint(want, shape),
            )
        cast = _dtype_check(name, spec.dtype, dtype, location or spec.location)
        if cast:
            casts[name] = cast
    if model is not None:
        _check_targets(examples, y_spec, model, location, split)
    return _cast(examples, casts)


def _specs(examples: Examples) -> tuple[dict[str, tuple[tuple, str]], Any]:
    def of_array(a):
        return (None, *a.shape[1:]), a.dtype.name if a.dtype.kind not in "USO" else "string"

    def of_tensor(t):
        return (None, *t.shape.as_list()), t.dtype.name

    if examples.is_arrays:
        xs = {k: of_array(v) for k, v in examples.x.items()}
        y = examples.y
        if isinstance(y, Mapping):
            return xs, {k: of_array(v) for k, v in y.items()}
        return xs, None if y is None else of_array(y)
    element = examples.dataset.element_spec
    x, y = element if isinstance(element, tuple) else (element, None)
    xs = {k: of_tensor(v) for k, v in x.items()} if isinstance(x, Mapping) else {"": of_tensor(x)}
    if isinstance(y, Mapping):
        return xs, {k: of_tensor(v) for k, v in y.items()}
    return xs, None if y is None else of_tensor(y)


def _suggest(name: str, available: Mapping[str, Any]) -> str | None:
    near = closest(name, available)
    if near:
        return f"Did you mean '{near[0]}'? Name the data's arrays after the blueprint's inputs"
    return "name the data's arrays after the blueprint's inputs (npz: x: {input: key})"


def _shape_hint(want: tuple, got: tuple) -> str:
    if len(want) == 4 and len(got) == 4:
        return (
            f"resize the images to {want[1]}x{want[2]} (a source's image_size) or change the "
            "input's shape"
        )
    if len(want) != len(got):
        return f"reshape the data to rank {len(want)} (batch included), or change the input's shape"
    return "change the input's shape in 'inputs:' to match the data, or reshape the data"


def _dtype_check(name: str, want: str, got: str, location: Location | None) -> str | None:
    """The dtype to cast to (None: none needed), or raises for an unusable dtype."""

    def kind(dtype: str) -> str:
        if dtype == "string" or dtype.startswith(("str", "bytes", "object")):
            return "string"
        if dtype == "bool":
            return "bool"
        return "float" if dtype.startswith(("float", "bfloat", "half")) else "int"

    want_kind, got_kind = kind(want), kind(got)
    if want == got:
        return None
    if want_kind == got_kind or (want_kind == "float" and got_kind in ("int", "bool")):
        return want
    if want_kind == "int" and got_kind == "bool":
        return want
    reason = {
        ("int", "float"): "float data would be truncated by an integer input",
        ("float", "string"): "strings are not numbers",
        ("int", "string"): "strings are not numbers",
    }.get((want_kind, got_kind), f"{got} data cannot feed a {want} input")
    raise BlueprintError(
        f"data for input '{name}' has dtype {got}: {reason}",
        location,
        expected=f"{want} data (or integers, cast, for a float input)",
        received=Plain(got),
        hint=(
            "declare the input with dtype float32"
            if want_kind == "int"
            else "convert the data to numbers, or add a preprocessing layer (StringLookup)"
        ),
    )


def _cast(examples: Examples, casts: dict[str, str]) -> Examples:
    if not casts:
        return examples
    if examples.is_arrays:
        x = {k: (v.astype(casts[k]) if k in casts else v) for k, v in examples.x.items()}
        return Examples.from_arrays(
            x,
            examples.y,
            classes=examples.classes,
            features=examples.features,
            tags=examples.tags,
        )
    import tensorflow as tf

    def cast(x, *rest):
        x = {k: (tf.cast(v, casts[k]) if k in casts else v) for k, v in x.items()}
        return (x, *rest) if rest else x

    return Examples(dataset=examples.dataset.map(cast), size=examples.size)


def _check_targets(examples: Examples, y_spec: Any, model: Any, location, split: str) -> None:
    names = list(getattr(model, "output_names", None) or [])
    shapes = [tuple(t.shape) for t in model.outputs]
    if len(names) != len(shapes):
        names = [f"output {i}" for i in range(len(shapes))]
    if y_spec is None:
        if split == "train":
            raise BlueprintError(
                "the training data has no targets",
                location,
                expected=f"targets for the model's output(s): {', '.join(names)}",
                received=Plain("inputs only"),
                hint="name the label array/column (npz: y: KEY, csv: label: COLUMN)",
            )
        return
    if isinstance(y_spec, Mapping):
        unknown = [k for k in y_spec if k not in names]
        if unknown or len(y_spec) != len(names):
            raise BlueprintError(
                f"the {split} data has targets for {', '.join(y_spec)}",
                location,
                expected=f"one target per output: {', '.join(names)}",
                received=Plain(", ".join(y_spec)),
                hint=_suggest(unknown[0], names) if unknown else None,
            )
        pairs = [(n, s, y_spec[n]) for n, s in zip(names, shapes, strict=True)]
    else:
        if len(shapes) != 1:
            raise BlueprintError(
                f"the {split} data has 1 target for {len(shapes)} outputs",
                location,
                expected=f"one target per output: {', '.join(names)}",
                received=Plain("a single array"),
                hint="give a mapping of output name -> target array",
            )
        pairs = [(names[0], shapes[0], y_spec)]
    for name, out_shape, (shape, dtype) in pairs:
        _check_target(examples, name, out_shape, shape, dtype, location, split)


def _check_target(examples, name, out_shape, shape, dtype, location, split) -> None:
    classes = out_shape[-1] if len(out_shape) > 1 else None
    integer = dtype.startswith(("int", "uint"))
    if len(shape) == len(out_shape) - 1:  # sparse class ids, e.g. (None,) for (None, 10)
        sparse, compare, got = True, out_shape[:-1], shape
    elif len(shape) == len(out_shape) and integer and (classes or 0) > 1 and shape[-1] == 1:
        sparse, compare, got = True, out_shape[:-1], shape[:-1]  # masks (H, W, 1) of class ids
    else:
        sparse, compare, got = False, out_shape, shape
    mismatch = len(got) != len(compare) or any(
        a is not None and b is not None and a != b for a, b in zip(compare, got, strict=True)
    )
    if mismatch:
        raise BlueprintError(
            f"targets for output '{name}' have the wrong shape",
            location,
            expected=f"{out_shape}, or class ids {out_shape[:-1]} for a softmax",
            received=Plain(str(shape)),
            hint="resize the targets (masks) or change the output's shape",
        )
    if sparse and integer and classes and classes > 1 and examples.is_arrays:
        y = examples.y[name] if isinstance(examples.y, Mapping) else examples.y
        top, low = int(y.max()), int(y.min())
        if top >= classes or low < 0:
            bad = top if top >= classes else low
            raise BlueprintError(
                f"label {bad} for {classes} classes in the {split} data",
                location,
                expected=f"class ids 0 to {classes - 1} for output '{name}' of {classes} units",
                received=Plain(f"labels from {low} to {top}"),
                hint=f"give the output {top + 1} units (e.g. params.classes={top + 1}), "
                "or fix the labels",
            )


# --- label noise ----------------------------------------------------------------------


def _classes(examples: Examples, model: Any, spec: DataSpec) -> int:
    import numpy as np

    _, y_spec = _specs(examples)
    if y_spec is None or isinstance(y_spec, Mapping) or not y_spec[1].startswith(("int", "uint")):
        raise BlueprintError(
            "label_noise needs integer class labels",
            spec.location,
            expected="one target of integer class ids",
            received=Plain("no targets" if y_spec is None else str(y_spec)),
            hint="set label_noise: 0 for regression, autoencoders and one-hot targets",
        )
    if not 0.0 <= spec.label_noise < 1.0:
        raise BlueprintError(
            "label_noise must be a share in [0, 1)",
            spec.location,
            received=Plain(f"label_noise: {spec.label_noise}"),
        )
    if model is not None and len(model.outputs) == 1 and (model.outputs[0].shape[-1] or 0) > 1:
        return int(model.outputs[0].shape[-1])
    if examples.is_arrays:
        top = int(np.max(examples.y))
    else:
        top = int(examples.dataset.reduce(0, lambda m, e: max_of(m, e[1])))
    return max(top + 1, 2)


def max_of(current: Any, labels: Any) -> Any:
    """``max(current, max(labels))`` as an int64 tensor (for ``Dataset.reduce``)."""
    import tensorflow as tf

    return tf.maximum(tf.cast(current, tf.int64), tf.cast(tf.reduce_max(labels), tf.int64))


def _label_noise(batches: Any, rate: float, classes: int, seed: int) -> Any:
    """Replaces a ``rate`` share of each batch's labels by a uniformly drawn *other* class."""
    import tensorflow as tf

    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)

    def flip(batch, draw):
        x, y = batch
        key = tf.stack([draw, tf.constant(seed, tf.int64)])
        flipped = tf.random.stateless_uniform(tf.shape(y), seed=key) < rate
        offset = tf.random.stateless_uniform(
            tf.shape(y), seed=key + 1, minval=1, maxval=classes, dtype=tf.int64
        )
        other = (tf.cast(y, tf.int64) + offset) % classes
        return x, tf.where(flipped, tf.cast(other, y.dtype), y)

    return tf.data.Dataset.zip((batches, seeds)).map(flip)


def _as_model_takes(dataset: Any, blueprint: Blueprint) -> Any:
    """Unwraps ``{name: x}`` for a one-input model, which Keras 3 wants as a bare tensor.

    A functional model built on one input warns ("The structure of `inputs`
    doesn't match") when fed a dict; several inputs are fed a dict by name.
    """
    if len(blueprint.inputs) != 1:
        return dataset
    name = blueprint.inputs[0].name

    def unwrap(x, *rest):
        return (x[name], *rest) if rest else x[name]

    return dataset.map(unwrap)


def _base_dir(blueprint: Blueprint, base_dir: str | Path | None) -> Path:
    if base_dir is not None:
        return Path(base_dir)
    source = Path(blueprint.source)
    if blueprint.source not in ("<string>", "") and source.exists():
        return source.resolve().parent
    return Path.cwd()


def _location(value: Any, spec: DataSpec) -> Location:
    return value.location if isinstance(value, SourceSpec) else spec.location
