"""Predicting with a trained model from files: ``blueprint predict``.

The model is a run directory, a ``.keras`` file, or a SavedModel directory
written by ``blueprint export`` (served through its ``serving_default``
signature, or another one, without the blueprint and without Keras).
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keras_blueprints._core.errors import BlueprintError, Location, Plain, RunError, UsageError
from keras_blueprints._core.files import atomic_path, cannot_write
from keras_blueprints.training.modelfile import check_keras_file, first_line
from keras_blueprints.training.rundir import MODEL_FILE

if TYPE_CHECKING:
    import keras

    from keras_blueprints.export.signatures import TensorInfo

__all__ = ["check_input_file", "check_model_path", "load_model_from", "predict_file", "read_inputs"]


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


def read_inputs(path: str | Path, model: keras.Model | Sequence[TensorInfo]) -> dict[str, Any]:
    """Reads a model's inputs from ``.npy`` (one input) or ``.npz`` (one array per input).

    The file is checked first by :func:`check_input_file`, from the arrays' headers.

    Args:
        path: The file.
        model: A Keras model, or the inputs of a SavedModel signature.

    Returns:
        One array per input name, in the model's input order.

    Raises:
        BlueprintError: A missing or unreadable file, missing inputs, wrong shapes, an
            array of strings or objects, no rows, arrays with different numbers of rows.
    """
    import numpy as np

    path = Path(path)
    specs = list(model.inputs) if hasattr(model, "inputs") else list(model)
    names = [t.name for t in specs]
    where = Location(str(path))
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
        The shape and dtype of each array: key None for a ``.npy``, names for a ``.npz``.

    Raises:
        BlueprintError: Not NumPy data, truncated, an array of strings or objects, an
            array with no rows, arrays with different numbers of rows.
    """
    path = Path(path)
    where = Location(str(path))
    if not path.is_file():
        raise BlueprintError(f"input file '{path}' does not exist", where, expected=".npy or .npz")
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
        input_path: ``.npy`` or ``.npz``.
        output_path: ``.npy`` (one output) or ``.npz`` (outputs by name); written atomically.
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

    if is_saved_model(model_path):
        runner = SavedModelRunner(model_path, signature or DEFAULT_SIGNATURE)
        inputs = read_inputs(input_path, runner.inputs)
        out_names = runner.output_names

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
        inputs = read_inputs(input_path, model)
        out_names = list(model.output_names)

        def run() -> dict[str, Any]:
            arrays = list(inputs.values())  # in the model's input order
            feed = arrays[0] if len(arrays) == 1 else arrays
            result = model.predict(feed, batch_size=batch_size, verbose=0)
            results = result if isinstance(result, list | tuple) else [result]
            return {n: np.asarray(r) for n, r in zip(out_names, results, strict=True)}

    output_path = check_output_path(output_path, out_names)
    outputs = _running_on(input_path, run)
    write_outputs(output_path, outputs)
    return {n: tuple(a.shape) for n, a in outputs.items()}


def check_output_path(output_path: str | Path, names: Sequence[str]) -> Path:
    """Refuses an output file that cannot hold the model's outputs, before any prediction.

    Args:
        output_path: Where the outputs go.
        names: The model's output names.

    Returns:
        The path.

    Raises:
        RunError: Not ``.npy``/``.npz``, or ``.npy`` for several outputs.
    """
    output_path = Path(output_path)
    if output_path.suffix not in (".npy", ".npz") or (
        output_path.suffix == ".npy" and len(names) > 1
    ):
        raise RunError(
            f"cannot write the outputs to '{output_path}'",
            output_path,
            expected=".npz" if len(names) > 1 else ".npy or .npz",
        )
    return output_path


def write_outputs(output_path: Path, outputs: Mapping[str, Any]) -> None:
    """Writes outputs atomically: the one array to ``.npy``, arrays by name to ``.npz``.

    Args:
        output_path: A path :func:`check_output_path` accepted.
        outputs: The outputs, by name.

    Raises:
        RunError: The file cannot be written.
    """
    import numpy as np

    try:
        with atomic_path(output_path) as tmp:
            if output_path.suffix == ".npy":
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
