"""Predicting with a trained model from files: ``blueprint predict``.

The model is a run directory, a ``.keras`` file, or a SavedModel directory
written by ``blueprint export`` (served through its ``serving_default``
signature, or another one, without the blueprint and without Keras).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BlueprintError, Location
from ..files import atomic_path
from .rundir import MODEL_FILE

if TYPE_CHECKING:
    import keras

    from ..export.signatures import TensorInfo

__all__ = ["load_model_from", "predict_file", "read_inputs"]


def load_model_from(path: str | Path) -> keras.Model:
    """Loads the model of a run directory or a ``.keras`` file.

    Raises:
        BlueprintError: Nothing loadable at ``path``.
    """
    from .run import load_trained

    path = Path(path)
    file = path / MODEL_FILE if path.is_dir() else path
    if not file.is_file() or file.suffix != ".keras":
        raise BlueprintError(
            f"no trained model at '{path}'",
            Location(str(path)),
            expected=f"a run directory holding {MODEL_FILE}, a .keras file, or a SavedModel "
            "directory (saved_model.pb, from 'blueprint export')",
            received="no such file or directory" if not path.exists() else str(file.name),
        )
    return load_trained(file)


def read_inputs(path: str | Path, model: keras.Model | Sequence[TensorInfo]) -> dict[str, Any]:
    """Reads a model's inputs from ``.npy`` (one input) or ``.npz`` (one array per input).

    Args:
        path: The file.
        model: A Keras model, or the inputs of a SavedModel signature.

    Returns:
        One array per input name, in the model's input order.

    Raises:
        BlueprintError: A missing or unreadable file, missing inputs, wrong shapes.
    """
    import numpy as np

    path = Path(path)
    specs = list(model.inputs) if hasattr(model, "inputs") else list(model)
    names = [t.name for t in specs]
    if not path.is_file():
        raise BlueprintError(
            f"input file '{path}' does not exist", Location(str(path)), expected=".npy or .npz"
        )
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise BlueprintError(
            f"cannot read '{path}' as NumPy data: {exc}", Location(str(path))
        ) from exc
    if isinstance(loaded, np.ndarray):
        if len(names) != 1:
            raise BlueprintError(
                f"the model has {len(names)} inputs; a .npy file holds one array",
                Location(str(path)),
                expected=".npz with arrays named " + ", ".join(names),
            )
        arrays = {names[0]: loaded}
    else:
        with loaded:
            arrays = {k: loaded[k] for k in loaded.files}
        missing = [n for n in names if n not in arrays]
        if missing:
            from ..errors import did_you_mean

            raise BlueprintError(
                f"'{path}' has no array for input '{missing[0]}'",
                Location(str(path)),
                expected="arrays named " + ", ".join(names),
                received="arrays named " + ", ".join(arrays) if arrays else "no arrays",
                hint=did_you_mean(missing[0], arrays) or None,
            )
    for tensor, name in zip(specs, names, strict=True):
        expected = tuple(tensor.shape)
        got = arrays[name].shape
        fits = len(got) == len(expected) and all(
            e is None or e == g for e, g in zip(expected, got, strict=True)
        )
        if not fits:
            raise BlueprintError(
                f"the array for input '{name}' has the wrong shape",
                Location(str(path)),
                expected=str(expected).replace("None", "N"),
                received=str(tuple(got)),
            )
    return {n: arrays[n] for n in names}


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
        BlueprintError: Bad files or shapes, an output suffix that does not fit the outputs,
            a signature given for a Keras model.
    """
    import numpy as np

    from ..export.serving import DEFAULT_SIGNATURE, SavedModelRunner, is_saved_model

    if is_saved_model(model_path):
        runner = SavedModelRunner(model_path, signature or DEFAULT_SIGNATURE)
        inputs = read_inputs(input_path, runner.inputs)
        out_names = runner.output_names

        def run() -> dict[str, Any]:
            return runner(inputs, batch_size=batch_size)
    else:
        if signature is not None:
            raise BlueprintError(
                "--signature names a signature of a SavedModel",
                Location(str(model_path)),
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

    output_path = Path(output_path)
    if output_path.suffix not in (".npy", ".npz") or (
        output_path.suffix == ".npy" and len(out_names) > 1
    ):
        raise BlueprintError(
            f"cannot write the outputs to '{output_path}'",
            Location(str(output_path)),
            expected=".npz" if len(out_names) > 1 else ".npy or .npz",
        )
    outputs = run()
    with atomic_path(output_path) as tmp:
        if output_path.suffix == ".npy":
            np.save(tmp, next(iter(outputs.values())))
        else:
            np.savez(tmp, **outputs)
    return {n: tuple(a.shape) for n, a in outputs.items()}
