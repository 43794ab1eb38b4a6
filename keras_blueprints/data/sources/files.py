"""File sources: ``npz``, ``npy``, ``csv``, ``images`` (a folder of class folders), ``tfrecord``.

A file holds one set of examples: a file source returns it for the ``train``
split and None for the others; hold out a fraction (``validation: 0.1``) or
name another file (``test: {npz: {path: test.npz}}``) in ``data:``. Relative
paths are relative to the blueprint's folder.
"""

from __future__ import annotations

import contextlib
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from keras_blueprints._core.errors import BlueprintError, Plain
from keras_blueprints.data.examples import Examples
from keras_blueprints.data.registry import SourceContext, register_source


def _names(keys: Any, wanted: list[str], fallback: str, what: str, source: str, path) -> Any:
    """Maps blueprint names to array keys: explicit, by name, or the one ``fallback`` key."""
    available = sorted(keys)
    if isinstance(wanted, dict):
        mapping = dict(wanted)
    elif all(name in available for name in wanted):
        mapping = {name: name for name in wanted}
    elif fallback in available and len(wanted) == 1:
        mapping = {wanted[0]: fallback}
    else:
        return None
    for name, key in mapping.items():
        if key not in available:
            raise BlueprintError(
                f"{source} file has no array '{key}' for {what} '{name}'",
                expected=f"one of: {', '.join(available)}",
                received=Plain(str(path)),
            )
    return mapping


@register_source("npz", reads=("path",))
def npz(
    context: SourceContext,
    *,
    path: str,
    x: str | dict | None = None,
    y: str | dict | None = None,
) -> Examples | None:
    """Arrays from a NumPy ``.npz`` archive (``np.savez``), one per input and per output.

    Args:
        context: The blueprint and the split asked.
        path: The ``.npz`` file.
        x: The array key of the (single) input, or a mapping input name -> key.
            Default: keys named after the blueprint's inputs, else ``x``.
        y: The same for the targets. Default: keys named after the outputs, else
            ``y``; none (unlabelled examples) when neither is there.

    Returns:
        The examples for ``train``; None for other splits.
    """
    if context.split != "train":
        return None

    from keras_blueprints.data.sources._util import resolve_path

    file = resolve_path(context, path, "npz")
    bp = context.blueprint
    with _numpy_file(file, "npz") as archive:
        keys = list(archive.keys())
        x_map = _names(keys, _wanted(x, [i.name for i in bp.inputs]), "x", "input", "npz", file)
        if x_map is None:
            raise BlueprintError(
                "npz file has no arrays named after the blueprint's inputs",
                expected=f"arrays {', '.join(i.name for i in bp.inputs)} (or 'x' for one input)",
                received=Plain(f"{file} holding {', '.join(sorted(keys))}"),
                hint="name the arrays with x: {input: key}",
            )
        outputs = list(bp.output_names)
        y_map = _names(keys, _wanted(y, outputs), "y", "output", "npz", file)
        if y is not None and y_map is None:
            raise BlueprintError(f"npz file has no array '{y}'", received=Plain(str(file)))
        xs = {name: archive[key] for name, key in x_map.items()}
        ys = None if y_map is None else {name: archive[key] for name, key in y_map.items()}
    if ys is not None and len(ys) == 1:
        ys = next(iter(ys.values()))
    return _from_arrays(xs, ys, file)


@contextlib.contextmanager
def _numpy_file(file: Path, kind: str) -> Iterator[Any]:
    """``np.load`` of a ``.npz`` (the open archive) or ``.npy`` (the array), refusing others.

    Raises:
        BlueprintError: The file is not a NumPy file of that kind (or holds pickled objects).
    """
    import numpy as np

    try:
        loaded = np.load(file, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise _not_numpy(file, kind) from exc
    if kind == "npz" and not isinstance(loaded, np.lib.npyio.NpzFile):
        raise _not_numpy(file, kind)
    if kind == "npy" and isinstance(loaded, np.lib.npyio.NpzFile):
        loaded.close()
        raise _not_numpy(file, kind)
    if kind == "npy":
        yield loaded
        return
    with loaded:
        try:
            yield loaded
        except BlueprintError:
            raise
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:  # a damaged member
            raise _not_numpy(file, kind) from exc


def _not_numpy(file: Path, kind: str) -> BlueprintError:
    what = "a NumPy .npz archive (np.savez)" if kind == "npz" else "a NumPy .npy array (np.save)"
    return BlueprintError(
        f"the file of source '{kind}' is not {what[2:]}",
        expected=what + ", without pickled objects",
        received=Plain(str(file)),
    )


def _wanted(given: str | dict | None, names: list[str]) -> Any:
    if isinstance(given, str):
        return {names[0]: given} if len(names) == 1 else [given]
    return given if given is not None else names


def _from_arrays(x: dict, y: Any, file) -> Examples:
    try:
        return Examples.from_arrays(x, y)
    except ValueError as err:
        raise BlueprintError(
            "the arrays of a data file hold different numbers of examples",
            expected="the same first dimension in every array",
            received=Plain(f"{file}: {str(err).split('Received: ')[-1]}"),
        ) from None


@register_source("npy", reads=("x", "y"))
def npy(context: SourceContext, *, x: str, y: str) -> Examples | None:
    """Two NumPy ``.npy`` files (``np.save``): the inputs of a one-input blueprint and the targets.

    Args:
        context: The blueprint and the split asked.
        x: The inputs' ``.npy`` file.
        y: The targets' ``.npy`` file.

    Returns:
        The examples for ``train``; None for other splits.
    """
    if context.split != "train":
        return None
    from keras_blueprints.data.sources._util import resolve_path, single_input

    spec = single_input(context, "npy")
    x_file, y_file = resolve_path(context, x, "npy"), resolve_path(context, y, "npy")
    with _numpy_file(x_file, "npy") as x_array, _numpy_file(y_file, "npy") as y_array:
        return _from_arrays({spec.name: x_array}, y_array, x_file)


@register_source("csv", reads=("path",))
def csv(
    context: SourceContext,
    *,
    path: str,
    label: str | list = "label",
    features: list | None = None,
    delimiter: str = ",",
) -> Examples | None:
    """A CSV table of numbers with a header row: feature columns and label column(s).

    Read with Python's ``csv`` module: every feature cell must be a number.
    Labels that are all whole numbers become integer class ids (int32); labels
    that are names become the ids of the sorted names, which the run keeps
    (``classes.json``) so that ``predict`` writes names back. Features are
    float32 and feed the blueprint's single input as a vector; the run keeps
    their columns (``table.json``) so that ``predict`` reads a table the same way.

    Args:
        context: The blueprint and the split asked.
        path: The CSV file.
        label: The label column, or a list of them (several targets side by side).
        features: The feature columns, in order (default: every column but the labels).
        delimiter: The cell separator.

    Returns:
        The examples for ``train``; None for other splits.

    Raises:
        BlueprintError: A missing column, or a cell that is not a number
            (located at its row and column in the CSV file).
    """
    if context.split != "train":
        return None
    import numpy as np

    from keras_blueprints.data.sources._util import resolve_path, single_input
    from keras_blueprints.data.table import class_ids, class_names, read_table

    spec = single_input(context, "csv")
    file = resolve_path(context, path, "csv")
    labels = [label] if isinstance(label, str) else list(label)
    how = (
        f"Name the label column: --data '{{csv: {{path: {file.name}, label: COLUMN}}}}'"
        f" or data: {{source: {{csv: {{path: {file.name}, label: COLUMN}}}}}}."
    )
    table = read_table(file, labels=labels, features=features, delimiter=delimiter, label_hint=how)
    y = np.stack([class_ids(table.labels[name]) for name in labels], axis=-1)
    y = y.astype("int32") if np.all(y == np.round(y)) else y.astype("float32")
    classes = class_names(table.labels[labels[0]]) if len(labels) == 1 else None
    return Examples.from_arrays(
        {spec.name: table.features},
        y[:, 0] if len(labels) == 1 else y,
        classes=classes,
        features=table.feature_names,
    )


@register_source("images", reads=("directory",))
def images(
    context: SourceContext,
    *,
    directory: str,
    image_size: int | list | None = None,
    color_mode: Literal["auto", "grayscale", "rgb", "rgba"] = "auto",
    scale: float = 1 / 255,
    interpolation: str = "bilinear",
) -> Examples | None:
    """A folder with one sub-folder of images per class (``cats/``, ``dogs/``), decoded lazily.

    Read by ``keras.utils.image_dataset_from_directory``: the classes are the
    sub-folders in alphabetical order, labels their indices (int32). Images
    are resized to the blueprint input's height and width, decoded with as
    many channels as it has, and multiplied by ``scale``.

    Args:
        context: The blueprint and the split asked.
        directory: The folder of class folders.
        image_size: Height and width (an int for square images); default the input's.
        color_mode: ``grayscale``, ``rgb``, ``rgba``, or ``auto`` (from the input's channels).
        scale: Pixel values are multiplied by it (1/255 maps 0..255 to [0, 1]).
        interpolation: The resizing method.

    Returns:
        The examples (an unbatched dataset) for ``train``; None for other splits.
    """
    if context.split != "train":
        return None
    from keras_blueprints.data.sources._util import resolve_path, single_input

    spec = single_input(context, "images")
    folder = resolve_path(context, directory, "images", what="folder")
    if len(spec.shape) != 3:
        raise BlueprintError(
            f"source 'images' feeds an image input, but '{spec.name}' has shape {list(spec.shape)}",
            expected="an input [height, width, channels]",
            received=Plain(str(list(spec.shape))),
        )
    if image_size is None:
        size = (spec.shape[0] or 256, spec.shape[1] or 256)
    elif isinstance(image_size, int):
        size = (image_size, image_size)
    else:
        size = tuple(image_size)
    if color_mode == "auto":
        color_mode = {1: "grayscale", 3: "rgb", 4: "rgba"}.get(spec.shape[2] or 3, "rgb")
    import keras

    dataset = keras.utils.image_dataset_from_directory(
        folder,
        labels="inferred",
        label_mode="int",
        color_mode=color_mode,
        batch_size=None,
        image_size=size,
        shuffle=False,
        interpolation=interpolation,
        verbose=False,
    )
    name = spec.name
    dataset = dataset.map(lambda image, label: ({name: image * scale}, label))
    return Examples.from_dataset(dataset)


@register_source("tfrecord", reads=("files",))
def tfrecord(
    context: SourceContext,
    *,
    files: str | list,
    features: dict,
    label: str = "label",
    compression: Literal["", "GZIP", "ZLIB"] = "",
) -> Examples | None:
    """TFRecord files of ``tf.train.Example`` records with fixed-length features.

    Args:
        context: The blueprint and the split asked.
        files: A path, a glob pattern (``shards/*.tfrecord``) or a list of them.
        features: Feature name -> ``{shape: [...], dtype: float32|int64|string}``
            (a ``tf.io.FixedLenFeature`` each). Features named after the
            blueprint's inputs feed them; ``label`` is the target.
        label: The feature holding the target.
        compression: ``""``, ``GZIP`` or ``ZLIB``.

    Returns:
        The examples (an unbatched dataset) for ``train``; None for other splits.
    """
    if context.split != "train":
        return None
    import glob

    import tensorflow as tf

    from keras_blueprints.data.sources._util import resolve_path

    patterns = [files] if isinstance(files, str) else list(files)
    paths: list[str] = []
    for pattern in patterns:
        if any(ch in pattern for ch in "*?["):
            full = str(resolve_path(context, ".", "tfrecord", what="folder") / pattern)
            found = sorted(glob.glob(full))
            if not found:
                raise BlueprintError(
                    "no file matches the pattern of source 'tfrecord'",
                    expected="at least one TFRecord file",
                    received=Plain(full),
                )
            paths += found
        else:
            paths.append(str(resolve_path(context, pattern, "tfrecord")))
    spec = {}
    for name, feature in features.items():
        if not isinstance(feature, Mapping):
            raise BlueprintError(
                f"feature '{name}' of source 'tfrecord' is not a mapping",
                expected="{shape: [...], dtype: float32 | int64 | string}",
                received=feature,
            )
        spec[name] = tf.io.FixedLenFeature(
            list(feature.get("shape", [])), tf.dtypes.as_dtype(feature.get("dtype", "float32"))
        )
    inputs = [i.name for i in context.blueprint.inputs]
    missing = [n for n in [*inputs, label] if n not in spec]
    if missing:
        raise BlueprintError(
            f"source 'tfrecord' declares no feature '{missing[0]}'",
            expected="a feature per blueprint input, named after it, and the label feature",
            received=Plain(", ".join(sorted(spec))),
        )

    def parse(record):
        parsed = tf.io.parse_single_example(record, spec)
        return {n: parsed[n] for n in inputs}, parsed[label]

    dataset = tf.data.TFRecordDataset(paths, compression_type=compression or None).map(parse)
    return Examples.from_dataset(dataset)
