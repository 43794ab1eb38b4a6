"""Predicting with a trained model from files: ``blueprint predict``.

The model is a run directory, a ``.keras`` file, or a SavedModel directory
written by ``blueprint export`` (served through its ``serving_default``
signature, or another one, without the blueprint and without Keras).

Inputs come from ``.npy``/``.npz`` arrays or a ``.csv`` table (for a model whose
one input is a vector of features); outputs go to ``.npy``/``.npz`` or a ``.csv``
table with one row per input row: for a classifier, the predicted class (its
name when the run was trained on named classes), its probability, and every
class's probability, as Ludwig's ``predict`` writes them.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keras_blueprints._core.errors import BlueprintError, Location, Plain, RunError, UsageError
from keras_blueprints._core.files import atomic_path, cannot_write
from keras_blueprints.training.modelfile import check_keras_file, first_line
from keras_blueprints.training.rundir import CLASSES_FILE, MODEL_FILE, TABLE_FILE

if TYPE_CHECKING:
    import keras

    from keras_blueprints.export.signatures import TensorInfo

__all__ = [
    "TableLayout",
    "check_input_file",
    "check_model_path",
    "check_output_path",
    "load_model_from",
    "predict_file",
    "read_inputs",
    "run_classes",
    "table_layout",
    "write_outputs",
]

TABLE_SUFFIX = ".csv"


@dataclass(frozen=True)
class TableLayout:
    """Which columns of an input table are features: as the run's ``csv`` source read them.

    Attributes:
        features: The feature columns in order (None: every column but the labels).
        labels: Label columns, skipped when the table has them (a test file, say).
        delimiter: The cell separator.
    """

    features: tuple[str, ...] | None = None
    labels: tuple[str, ...] = ("label",)
    delimiter: str = ","


def table_layout(model_path: str | Path) -> TableLayout:
    """The table layout a run was trained on (``table.json``), else the ``csv`` defaults.

    A run trained on a CSV table keeps its feature columns in order, so a table whose
    columns come in another order, or that still has its label column, is read the same
    way.

    Args:
        model_path: A run or export directory, or a model file in one.

    Returns:
        The layout.
    """
    kept = _small_json(_folder(model_path) / TABLE_FILE)
    if not isinstance(kept, dict):
        return TableLayout()
    features, labels = kept.get("features"), kept.get("labels")
    delimiter = kept.get("delimiter", ",")
    if not (_strings(features) and features and _strings(labels) and isinstance(delimiter, str)):
        return TableLayout()
    return TableLayout(tuple(features), tuple(labels), delimiter)


def _folder(model_path: str | Path) -> Path:
    """The folder a model's data names are kept in: a run or export directory, a file's own."""
    path = Path(model_path)
    return path if path.is_dir() else path.parent


def _strings(value: Any) -> bool:
    """Whether ``value`` is a list of strings (as the run's JSON files hold names)."""
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _small_json(file: Path) -> Any:
    """A run's small JSON file, or None when it is missing, large or damaged."""
    if not file.is_file() or file.stat().st_size > 1 << 20:
        return None
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def run_classes(model_path: str | Path) -> tuple[str, ...] | None:
    """The class names a run was trained on (``classes.json``), or None.

    Args:
        model_path: A run or export directory, or a model file in one.

    Returns:
        The names of class ids 0, 1, ..., or None.
    """
    names = _small_json(_folder(model_path) / CLASSES_FILE)
    return tuple(names) if _strings(names) and names else None


def load_model_from(path: str | Path) -> keras.Model:
    """Loads the model of a run directory or a ``.keras`` file.

    Raises:
        BlueprintError: Nothing loadable at ``path``.
    """
    from keras_blueprints.training.run import load_trained

    return load_trained(_model_file(Path(path)))


def check_model_path(path: str | Path) -> None:
    """Checks ``predict``'s MODEL without TensorFlow, so that a bad file fails fast.

    A run directory's or a ``.keras`` file's archive is checked
    (:func:`~keras_blueprints.training.modelfile.check_keras_file`); a SavedModel
    directory can only be checked by loading it.

    Raises:
        BlueprintError: Nothing loadable at ``path``.
    """
    from keras_blueprints.export.serving import is_saved_model

    if not is_saved_model(path):
        check_keras_file(_model_file(Path(path)))


def _model_file(path: Path) -> Path:
    file = path / MODEL_FILE if path.is_dir() else path
    if not file.is_file() or file.suffix != ".keras":
        raise BlueprintError(
            f"no trained model at '{path}'",
            Location(str(path)),
            expected=f"a run directory holding {MODEL_FILE}, a .keras file, or a SavedModel "
            "directory (saved_model.pb, from 'blueprint export')",
            received="no such file or directory" if not path.exists() else str(file.name),
        )
    return file


def read_inputs(
    path: str | Path,
    model: keras.Model | Sequence[TensorInfo],
    layout: TableLayout | None = None,
) -> dict[str, Any]:
    """Reads a model's inputs from ``.npy`` (one input), ``.npz`` (one array per input) or ``.csv``.

    A NumPy file is checked first by :func:`check_input_file`, from the arrays' headers.
    A CSV table feeds a model whose one input is a vector: its feature columns (as
    ``layout`` says), with any label column skipped.

    Args:
        path: The file.
        model: A Keras model, or the inputs of a SavedModel signature.
        layout: Which columns of a CSV table are features (default: every column but
            ``label``).

    Returns:
        One array per input name, in the model's input order.

    Raises:
        BlueprintError: A missing or unreadable file, missing inputs, wrong shapes, an
            array of strings or objects, no rows, arrays with different numbers of rows;
            for a table, a missing column, a cell that is not a number, or a model that
            takes something other than one vector.
    """
    import numpy as np

    path = Path(path)
    specs = list(model.inputs) if hasattr(model, "inputs") else list(model)
    names = [t.name for t in specs]
    where = Location(str(path))
    if path.suffix.lower() == TABLE_SUFFIX:
        return _read_table_inputs(path, specs, layout or TableLayout())
    headers = check_input_file(path)
    if None in headers:
        if len(names) != 1:
            raise BlueprintError(
                f"the model has {len(names)} inputs; a .npy file holds one array",
                where,
                expected=".npz with arrays named " + ", ".join(names),
            )
        headers = {names[0]: headers[None]}
    missing = [n for n in names if n not in headers]
    if missing:
        from keras_blueprints._core.errors import did_you_mean

        raise BlueprintError(
            f"'{path}' has no array for input '{missing[0]}'",
            where,
            expected="arrays named " + ", ".join(names),
            received="arrays named " + ", ".join(map(str, headers)) if headers else "no arrays",
            hint=did_you_mean(missing[0], map(str, headers)) or None,
        )
    for tensor, name in zip(specs, names, strict=True):
        got, dtype = headers[name]
        wants = str(getattr(tensor.dtype, "name", tensor.dtype))
        if dtype.kind == "f" and wants.startswith(("int", "uint")):
            raise BlueprintError(
                f"the array for input '{name}' holds floats; the input takes {wants}",
                where,
                expected=f"an array of integers ({wants}): floats would be truncated",
                received=Plain(dtype.name),
            )
        expected = tuple(tensor.shape)
        fits = len(got) == len(expected) and all(
            e is None or e == g for e, g in zip(expected, got, strict=True)
        )
        if not fits:
            raise BlueprintError(
                f"the array for input '{name}' has the wrong shape",
                where,
                expected=str(expected).replace("None", "N"),
                received=str(tuple(got)),
            )
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            arrays = {names[0]: loaded}
        else:
            with loaded:
                arrays = {n: loaded[n] for n in names}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise BlueprintError(
            f"cannot read '{path}' as NumPy data", where, received=Plain(first_line(exc))
        ) from exc
    return arrays


def _read_table_inputs(path: Path, specs: list, layout: TableLayout) -> dict[str, Any]:
    """The one vector input of a model, from a CSV table's feature columns."""
    from keras_blueprints.data.table import read_table

    where = Location(str(path))
    if not path.is_file():
        raise BlueprintError(f"input file '{path}' does not exist", where, expected=".csv")
    shapes = ", ".join(f"{t.name} {tuple(t.shape)}".replace("None", "N") for t in specs)
    width = specs[0].shape[-1] if len(specs) == 1 and len(specs[0].shape) == 2 else None
    if width is None:
        raise BlueprintError(
            "a CSV table feeds a model whose one input is a vector of features",
            where,
            expected="a model with one input of shape (N, features); else .npz with arrays "
            "named " + ", ".join(t.name for t in specs),
            received=Plain(f"inputs {shapes}"),
        )
    table = read_table(
        path,
        labels=layout.labels,
        features=layout.features,
        delimiter=layout.delimiter,
        labels_required=False,
    )
    found = len(table.feature_names)
    if found != width:
        skipped = f" (label columns skipped: {', '.join(layout.labels)})" if layout.labels else ""
        raise BlueprintError(
            f"the CSV table has {found} feature column{'s' if found != 1 else ''}; "
            f"the model's input '{specs[0].name}' takes {width}",
            Location(str(path), 1, 1),
            expected=f"{width} feature columns{skipped}",
            received=Plain(f"{found} columns"),
        )
    values = table.features
    wants = str(getattr(specs[0].dtype, "name", specs[0].dtype))
    if wants.startswith(("int", "uint")):
        import numpy as np

        if not np.all(values == np.round(values)):
            raise BlueprintError(
                f"the table holds fractions; the input '{specs[0].name}' takes {wants}",
                where,
                expected=f"whole numbers ({wants}): fractions would be truncated",
            )
        values = values.astype(wants)
    return {specs[0].name: values}


def _running_on(input_path: str | Path, run: Any) -> dict[str, Any]:
    """Runs the model; an input it cannot take (a token id past the vocabulary) is located."""
    import tensorflow as tf

    try:
        return run()
    except tf.errors.InvalidArgumentError as exc:
        raise BlueprintError(
            f"the model cannot run on the inputs in '{input_path}'",
            Location(str(input_path)),
            expected="values the model accepts (e.g. token ids below an embedding's vocabulary)",
            received=Plain(_op_reason(exc)),
        ) from exc


def _op_reason(exc: Exception) -> str:
    """The reason line of a TensorFlow op error (after Keras' frames, before the node)."""
    skip = ("File ", "[[", "Graph execution error", "Detected at node")
    lines = [line.strip() for line in str(getattr(exc, "message", exc)).splitlines()]
    reasons = [line for line in lines if line and not line.startswith(skip)]
    return reasons[-1] if reasons else first_line(exc)


def check_input_file(path: str | Path) -> dict[str | None, tuple[tuple[int, ...], Any]]:
    """Checks a ``.npy``/``.npz`` input file without the model (and without TensorFlow).

    Every array's shape and dtype are read from its header and checked against the
    bytes the file holds, before any data is read: a truncated file, or a header that
    claims more than the file holds, is refused without allocating what it claims.

    Args:
        path: The file.

    Returns:
        The shape and dtype of each array: key None for a ``.npy``, names for a ``.npz``
        (nothing for a ``.csv``: its columns depend on the model).

    Raises:
        BlueprintError: Not NumPy data, truncated, an array of strings or objects, an
            array with no rows, arrays with different numbers of rows.
    """
    path = Path(path)
    where = Location(str(path))
    if not path.is_file():
        raise BlueprintError(
            f"input file '{path}' does not exist", where, expected=".npy, .npz or .csv"
        )
    if path.suffix.lower() == TABLE_SUFFIX:
        return {}  # a table's columns depend on the model: read_inputs checks them
    headers = _array_headers(path)
    rows: dict[str, int] = {}
    for key, (shape, dtype) in headers.items():
        name = "the array" if key is None else f"the array '{key}'"
        if dtype.kind not in _NUMERIC_KINDS:
            raise BlueprintError(
                f"{name} does not hold numbers",
                where,
                expected="an array of numbers (float, integer or bool)",
                received=Plain(
                    f"an array of {dtype.name} ({_KIND_NAMES.get(dtype.kind, 'other')})"
                ),
            )
        if not shape or shape[0] == 0:
            raise BlueprintError(
                f"{name} has no rows",
                where,
                expected="at least one example (row): an array of shape (N, ...)",
                received=Plain(f"shape {shape}"),
            )
        rows[str(key)] = shape[0]
    if len(set(rows.values())) > 1:
        raise BlueprintError(
            "the input arrays have different numbers of rows",
            where,
            expected="one row per example in every array",
            received=Plain(", ".join(f"{n}: {r}" for n, r in rows.items())),
        )
    return headers


_NUMERIC_KINDS = "biuf"
_KIND_NAMES = {
    "U": "text",
    "S": "bytes",
    "O": "Python objects",
    "V": "records",
    "M": "dates",
    "m": "time spans",
    "c": "complex numbers",
}


def _array_headers(path: Path) -> dict[str | None, tuple[tuple[int, ...], Any]]:
    """The shape and dtype of each array in a ``.npy`` (key None) or ``.npz``, from headers.

    A header that claims more bytes than the file (or the zip member) holds is refused
    here, before NumPy would allocate what it claims.

    Raises:
        BlueprintError: Not NumPy data, or truncated.
    """
    where = Location(str(path))
    try:
        with open(path, "rb") as f:
            zipped = f.read(4) == b"PK\x03\x04"
            if not zipped:
                f.seek(0)
                size = path.stat().st_size
                return {None: _checked_header(f, size, path, None)}
        out: dict[str | None, tuple[tuple[int, ...], Any]] = {}
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with archive.open(info) as member:
                    name = info.filename[: -len(".npy")]
                    out[name] = _checked_header(member, info.file_size, path, name)
        return out
    except BlueprintError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise BlueprintError(
            f"cannot read '{path}' as NumPy data",
            where,
            expected=".npy (one array) or .npz (arrays by input name), written by numpy.save "
            "or numpy.savez",
            received=Plain(first_line(exc)),
        ) from exc


def _checked_header(f: Any, size: int, path: Path, name: str | None) -> tuple[tuple[int, ...], Any]:
    import math

    import numpy as np

    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(f)
    else:
        shape, _, dtype = np.lib.format.read_array_header_2_0(f)
    held = size - f.tell()
    claimed = math.prod(shape) * dtype.itemsize
    if not dtype.hasobject and claimed > held:
        what = "the array" if name is None else f"the array '{name}'"
        raise BlueprintError(
            f"{what} in '{path}' is truncated",
            Location(str(path)),
            expected=f"{claimed} bytes of data for shape {tuple(shape)} of {dtype.name}",
            received=Plain(f"{held} bytes"),
        )
    return tuple(shape), dtype


def predict_file(
    model_path: str | Path,
    input_path: str | Path,
    output_path: str | Path,
    *,
    batch_size: int = 32,
    signature: str | None = None,
) -> dict[str, tuple[int, ...]]:
    """Runs a trained model on inputs from a file and writes its outputs.

    Args:
        model_path: A run directory, a ``.keras`` file, or a SavedModel directory.
        input_path: ``.npy``, ``.npz`` or ``.csv`` (a run trained on a CSV file reads
            the same feature columns).
        output_path: ``.npy`` (one output), ``.npz`` (outputs by name) or ``.csv`` (one
            row per example; class names when the run has them); written atomically.
        batch_size: Prediction batch size.
        signature: The SavedModel signature to call (default ``serving_default``);
            only for a SavedModel.

    Returns:
        The shape of each output, by name.

    Raises:
        BlueprintError: Bad input files or shapes.
        RunError: A model that cannot be loaded, an output suffix that does not fit the
            outputs.
        UsageError: A signature given for a Keras model.
    """
    import numpy as np

    from keras_blueprints.export.serving import DEFAULT_SIGNATURE, SavedModelRunner, is_saved_model

    layout, classes = table_layout(model_path), run_classes(model_path)
    if is_saved_model(model_path):
        runner = SavedModelRunner(model_path, signature or DEFAULT_SIGNATURE)
        inputs = read_inputs(input_path, runner.inputs, layout)
        out_names = runner.output_names
        out_shapes = [info.shape for info in runner.outputs]

        def run() -> dict[str, Any]:
            return runner(inputs, batch_size=batch_size)
    else:
        if signature is not None:
            raise UsageError(
                "--signature names a signature of a SavedModel",
                "--signature",
                received="a Keras model (run directory or .keras file)",
                hint="Export it first: blueprint export RUN_DIR --out DIR",
            )
        model = load_model_from(model_path)
        inputs = read_inputs(input_path, model, layout)
        out_names = list(model.output_names)
        out_shapes = [tuple(t.shape) for t in model.outputs]

        def run() -> dict[str, Any]:
            arrays = list(inputs.values())  # in the model's input order
            feed = arrays[0] if len(arrays) == 1 else arrays
            result = model.predict(feed, batch_size=batch_size, verbose=0)
            results = result if isinstance(result, list | tuple) else [result]
            return {n: np.asarray(r) for n, r in zip(out_names, results, strict=True)}

    output_path = check_output_path(output_path, out_names, out_shapes)
    outputs = _running_on(input_path, run)
    write_outputs(output_path, outputs, classes=classes)
    return {n: tuple(a.shape) for n, a in outputs.items()}


OUTPUT_SUFFIXES = (".npy", ".npz", TABLE_SUFFIX)


def _suffix(path: Path) -> str:
    """``.csv`` in any case; ``.npy`` and ``.npz`` exactly (NumPy appends ``.npy`` to others)."""
    return TABLE_SUFFIX if path.suffix.lower() == TABLE_SUFFIX else path.suffix


def check_output_path(
    output_path: str | Path,
    names: Sequence[str],
    shapes: Sequence[Sequence[int | None]] | None = None,
) -> Path:
    """Refuses an output file that cannot hold the model's outputs, before any prediction.

    Args:
        output_path: Where the outputs go.
        names: The model's output names.
        shapes: Their shapes, batch first, when known: a table holds outputs of one
            value or one vector per example.

    Returns:
        The path.

    Raises:
        RunError: Not ``.npy``/``.npz``/``.csv``, ``.npy`` for several outputs, or a
            table for outputs of more than one dimension per example.
    """
    output_path = Path(output_path)
    suffix = _suffix(output_path)
    if suffix not in OUTPUT_SUFFIXES or (suffix == ".npy" and len(names) > 1):
        raise RunError(
            f"cannot write the outputs to '{output_path}'",
            output_path,
            expected=".npz or .csv" if len(names) > 1 else ".npy, .npz or .csv",
        )
    if suffix == TABLE_SUFFIX and shapes is not None:
        for name, shape in zip(names, shapes, strict=True):
            if len(shape) > 2:
                raise RunError(
                    f"the output '{name}' does not fit a table",
                    output_path,
                    expected="outputs of one value or one vector per example for .csv; "
                    "use .npz for the others",
                    received=f"shape {tuple(shape)}".replace("None", "N"),
                )
    return output_path


def write_outputs(
    output_path: Path, outputs: Mapping[str, Any], *, classes: Sequence[str] | None = None
) -> None:
    """Writes outputs atomically: ``.npy`` (the one array), ``.npz`` (by name) or ``.csv``.

    A table has one row per example. A vector of class probabilities (each row sums to
    1) becomes ``NAME_prediction`` (the class, named when ``classes`` are), then
    ``NAME_probability`` (the predicted class's) and ``NAME_probability_CLASS`` for every
    class; with two class names, a single sigmoid output is read the same way. Other
    vectors become ``NAME_0``, ``NAME_1``...; one value per example, ``NAME``.

    Args:
        output_path: A path :func:`check_output_path` accepted.
        outputs: The outputs, by name.
        classes: The names of the class ids, when the run knows them.

    Raises:
        RunError: The file cannot be written, or a table cannot hold an output.
    """
    import numpy as np

    suffix = _suffix(output_path)
    table = _output_table(output_path, outputs, classes) if suffix == TABLE_SUFFIX else None
    try:
        with atomic_path(output_path) as tmp:
            if table is not None:
                Path(tmp).write_text(table, encoding="utf-8", newline="")
            elif suffix == ".npy":
                np.save(tmp, next(iter(outputs.values())))
            else:
                np.savez(tmp, **outputs)
    except OSError as exc:  # a parent that is a file, no permission, a full disk
        raise cannot_write(
            output_path,
            exc,
            what=f"cannot write the outputs to '{output_path}'",
            expected="a writable place for a new file",
        ) from exc


def _output_table(
    output_path: Path, outputs: Mapping[str, Any], classes: Sequence[str] | None
) -> str:
    import csv
    import io

    import numpy as np

    columns: list[tuple[str, Any]] = []
    for name, array in outputs.items():
        a = np.asarray(array)
        if a.ndim > 2:
            check_output_path(output_path, [name], [a.shape])
        if a.ndim == 1:
            columns.append((name, a))
            continue
        width = a.shape[1]
        names = list(classes) if classes is not None else None
        if width == 1 and names is not None and len(names) == 2 and _within_unit(a):
            a = np.concatenate([1.0 - a, a], axis=1)  # a sigmoid: P(class 0), P(class 1)
            width = 2
        if width > 1 and _is_distribution(a):
            labels = names if names is not None and len(names) == width else range(width)
            labels = [str(label) for label in labels]
            best = a.argmax(1)
            columns.append((f"{name}_prediction", np.array(labels, dtype=object)[best]))
            columns.append((f"{name}_probability", a.max(1)))
            columns += [(f"{name}_probability_{c}", a[:, i]) for i, c in enumerate(labels)]
        elif width == 1:
            columns.append((name, a[:, 0]))
        else:
            columns += [(f"{name}_{i}", a[:, i]) for i in range(width)]
    rows = len(columns[0][1]) if columns else 0
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c for c, _ in columns])
    for r in range(rows):
        writer.writerow([_cell(values[r]) for _, values in columns])
    return buffer.getvalue()


def _within_unit(a: Any) -> bool:
    import numpy as np

    return bool(np.all(np.isfinite(a)) and np.all(a >= 0.0) and np.all(a <= 1.0))


def _is_distribution(a: Any) -> bool:
    """Rows of probabilities (a softmax): in [0, 1], each summing to 1."""
    import numpy as np

    return _within_unit(a) and bool(np.allclose(a.sum(1), 1.0, atol=1e-3))


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    number = float(value)
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else f"{number:.6g}"
