"""TFLite: conversion with post-training quantization, and serving a ``.tflite`` file.

:func:`convert` turns a SavedModel's ``serving_default`` signature into a TFLite
flatbuffer, optionally quantized (:data:`QUANTIZATIONS`): ``float16`` weights,
``dynamic`` range (int8 weights, float activations), or full ``int8`` (weights
and activations, calibrated on a representative dataset; float inputs and
outputs become int8 too). :class:`TFLiteRunner` runs a ``.tflite`` file on NumPy
arrays keyed by input name, quantizing float inputs with each input's scale and
zero point and dequantizing outputs, so a quantized model takes and returns the
same arrays as the Keras model (``blueprint predict MODEL.tflite``).

The interpreter is chosen here only (:func:`interpreter`): LiteRT's
(``ai_edge_litert``) when installed, else ``tf.lite.Interpreter`` (TF 2.21 still
ships it, with a deprecation warning that is silenced here).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from keras_blueprints._core.errors import (
    BlueprintError,
    Location,
    Plain,
    RunError,
    UsageError,
    did_you_mean,
)
from keras_blueprints.export.signatures import TensorInfo

__all__ = [
    "QUANTIZATIONS",
    "TFLiteRunner",
    "convert",
    "interpreter",
    "is_tflite",
]

QUANTIZATIONS = ("none", "float16", "dynamic", "int8")
SIGNATURE = "serving_default"
_DEPRECATED = r"(?s).*tf\.lite\.Interpreter is deprecated"


def is_tflite(path: str | Path) -> bool:
    """Whether ``path`` names a TFLite file (by its ``.tflite`` suffix)."""
    return Path(path).suffix == ".tflite"


def check_quantization(quantize: str) -> None:
    """Refuses an unknown quantization mode.

    Raises:
        UsageError: ``quantize`` is not one of :data:`QUANTIZATIONS`.
    """
    if quantize not in QUANTIZATIONS:
        raise UsageError(
            f"'{quantize}' is not a TFLite quantization",
            "--quantize",
            expected="one of: " + ", ".join(QUANTIZATIONS),
            hint=did_you_mean(str(quantize), QUANTIZATIONS) or None,
        )


def interpreter(path: str | Path) -> Any:
    """A TFLite interpreter for ``path``, tensors allocated (LiteRT when installed)."""
    try:
        from ai_edge_litert.interpreter import Interpreter  # type: ignore[import-not-found]
    except ImportError:
        import tensorflow as tf

        with warnings.catch_warnings():
            # TF 2.21 still ships tf.lite.Interpreter, warning that LiteRT replaces it.
            warnings.filterwarnings("ignore", message=_DEPRECATED)
            found = tf.lite.Interpreter(model_path=str(path))
    else:
        found = Interpreter(model_path=str(path))
    return found


def convert(
    saved_model: str | Path,
    quantize: str = "none",
    representative: Callable[[], Iterable[dict[str, Any]]] | None = None,
    float_inputs: bool = True,
) -> bytes:
    """Converts a SavedModel's ``serving_default`` signature to a TFLite flatbuffer.

    Args:
        saved_model: The SavedModel directory.
        quantize: One of :data:`QUANTIZATIONS`.
        representative: For ``int8``: yields single examples as ``{input name: array}``.
        float_inputs: Whether every input is a float (``int8`` then also quantizes the
            inputs and outputs; integer inputs, such as token ids, stay as they are).

    Returns:
        The flatbuffer.

    Raises:
        UsageError: An unknown mode, or ``int8`` without a representative dataset.
    """
    import tensorflow as tf

    check_quantization(quantize)
    converter = tf.lite.TFLiteConverter.from_saved_model(
        str(saved_model), signature_keys=[SIGNATURE]
    )
    if quantize != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "int8":
        if representative is None:
            raise UsageError(
                "int8 quantization needs a representative dataset",
                "--quantize",
                hint="Export a run directory (its training data calibrates the model).",
            )
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if float_inputs:
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
    with warnings.catch_warnings():
        # int8 calibration runs tf.lite.Interpreter, which warns that LiteRT replaces it.
        warnings.filterwarnings("ignore", message=_DEPRECATED)
        return converter.convert()


class TFLiteRunner:
    """The ``serving_default`` signature of a ``.tflite`` file, called on NumPy arrays.

    A quantized input (int8/uint8 with a scale) is described, and fed, as float32:
    arrays are quantized with the input's scale and zero point; quantized outputs are
    dequantized.

    Args:
        path: The ``.tflite`` file.

    Attributes:
        path: The file.
        inputs: The inputs as the caller gives them (name, shape with batch, dtype).
        output_names: The output names, sorted.

    Raises:
        BlueprintError: No such file.
        RunError: Not a model the interpreter can load.
    """

    def __init__(self, path: str | Path) -> None:
        import numpy as np

        self.path = Path(path)
        if not self.path.is_file():
            raise BlueprintError(
                f"no TFLite model at '{self.path}'",
                Location(str(self.path)),
                expected="a .tflite file (from 'blueprint export --format tflite')",
                received="no such file" if not self.path.exists() else "a directory",
            )
        try:
            self._interpreter = interpreter(self.path)
            self._runner = self._interpreter.get_signature_runner(SIGNATURE)
        except (ValueError, RuntimeError) as exc:
            from keras_blueprints.training.modelfile import first_line

            raise RunError(
                f"cannot load the TFLite model at '{self.path}'",
                Location(str(self.path)),
                expected="a .tflite file with a serving_default signature "
                "(from 'blueprint export --format tflite')",
                received=Plain(first_line(exc)),
            ) from exc
        self._in = self._runner.get_input_details()
        self._out = self._runner.get_output_details()
        self.inputs = [
            TensorInfo(
                name,
                tuple(None if d < 0 else int(d) for d in detail["shape_signature"]),
                "float32" if _quantized(detail) else np.dtype(detail["dtype"]).name,
            )
            for name, detail in sorted(self._in.items())
        ]
        self.output_names = sorted(self._out)

    def details(self) -> dict[str, dict[str, Any]]:
        """The stored inputs and outputs, with their quantization.

        Returns:
            ``{"inputs"|"outputs": {name: {shape, dtype, scale, zero_point}}}``; scale
            0 for a tensor that is not quantized.
        """
        import numpy as np

        def one(detail: Mapping[str, Any]) -> dict[str, Any]:
            scale, zero = detail["quantization"]
            return {
                "shape": [None if d < 0 else int(d) for d in detail["shape_signature"]],
                "dtype": np.dtype(detail["dtype"]).name,
                "scale": float(scale),
                "zero_point": int(zero),
            }

        return {
            "inputs": {n: one(d) for n, d in sorted(self._in.items())},
            "outputs": {n: one(d) for n, d in sorted(self._out.items())},
        }

    def __call__(self, inputs: Mapping[str, Any], batch_size: int = 32) -> dict[str, Any]:
        """Runs the model in batches.

        Args:
            inputs: One array per input name (floats for quantized inputs).
            batch_size: Examples per interpreter call.

        Returns:
            One float (or the stored dtype's) array per output name.
        """
        import numpy as np

        rows = len(next(iter(inputs.values())))
        parts: dict[str, list[Any]] = {n: [] for n in self.output_names}
        for start in range(0, rows, batch_size):
            feed = {
                name: _quantize(np.asarray(inputs[name])[start : start + batch_size], detail)
                for name, detail in self._in.items()
            }
            got = self._runner(**feed)
            for name in self.output_names:
                parts[name].append(_dequantize(np.asarray(got[name]), self._out[name]))
        return {n: np.concatenate(p, axis=0) for n, p in parts.items()}


def _quantized(detail: Mapping[str, Any]) -> bool:
    import numpy as np

    scale, _ = detail["quantization"]
    return scale != 0 and np.dtype(detail["dtype"]).name in ("int8", "uint8", "int16")


def _quantize(array: Any, detail: Mapping[str, Any]) -> Any:
    import numpy as np

    dtype = np.dtype(detail["dtype"])
    if not _quantized(detail):
        return array.astype(dtype, copy=False)
    scale, zero = detail["quantization"]
    info = np.iinfo(dtype)
    q = np.round(array.astype("float64") / scale + zero)
    return np.clip(q, info.min, info.max).astype(dtype)


def _dequantize(array: Any, detail: Mapping[str, Any]) -> Any:
    import numpy as np

    if not _quantized(detail):
        return array
    scale, zero = detail["quantization"]
    return ((array.astype("float32") - np.float32(zero)) * np.float32(scale)).astype("float32")


def predict_file(
    model_path: str | Path,
    input_path: str | Path,
    output_path: str | Path,
    *,
    batch_size: int = 32,
    signature: str | None = None,
) -> dict[str, tuple[int, ...]]:
    """Runs a ``.tflite`` model on inputs from ``.npy``/``.npz`` and writes its outputs.

    Args:
        model_path: The ``.tflite`` file.
        input_path: ``.npy`` (one input) or ``.npz`` (arrays by input name).
        output_path: ``.npy`` (one output) or ``.npz`` (outputs by name); written atomically.
        batch_size: Examples per interpreter call.
        signature: Refused unless None or ``serving_default`` (the only one exported).

    Returns:
        The shape of each output, by name.

    Raises:
        BlueprintError: Bad input files or shapes.
        RunError: A model that cannot be loaded, an output suffix that does not fit.
        UsageError: Another signature.
    """
    if signature not in (None, SIGNATURE):
        raise UsageError(
            f"a TFLite model has no signature '{signature}'",
            "--signature",
            expected=f"{SIGNATURE} (the only signature of a TFLite export)",
            received=f"--signature {signature}",
        )
    from keras_blueprints.training.predict import (
        check_output_path,
        read_inputs,
        run_classes,
        table_layout,
        write_outputs,
    )

    runner = TFLiteRunner(model_path)
    inputs = read_inputs(input_path, runner.inputs, table_layout(model_path))
    output_path = check_output_path(output_path, runner.output_names)
    outputs = runner(inputs, batch_size=batch_size)
    write_outputs(output_path, outputs, classes=run_classes(model_path))
    return {n: tuple(a.shape) for n, a in outputs.items()}
