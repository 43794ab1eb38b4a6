"""Serving a batch from an exported SavedModel, without the blueprint or Keras.

:class:`SavedModelRunner` loads a SavedModel with ``tf.saved_model.load`` and
calls one of its signatures (``serving_default`` unless told otherwise) on
NumPy arrays keyed by input name, in batches; it is what ``blueprint predict
SAVED_MODEL INPUT.npy -o OUT.npy`` and the export's verification use.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from keras_blueprints._core.errors import (
    BlueprintError,
    Location,
    Plain,
    RunError,
    is_out_of_memory,
)
from keras_blueprints.export.signatures import TensorInfo

__all__ = ["DEFAULT_SIGNATURE", "SavedModelRunner", "is_saved_model", "load_saved_model"]

DEFAULT_SIGNATURE = "serving_default"


def is_saved_model(path: str | Path) -> bool:
    """Whether ``path`` is a SavedModel directory (holds ``saved_model.pb`` or ``.pbtxt``)."""
    path = Path(path)
    return path.is_dir() and any(
        (path / name).is_file() for name in ("saved_model.pb", "saved_model.pbtxt")
    )


def load_saved_model(path: str | Path) -> Any:
    """Loads a SavedModel with ``tf.saved_model.load``.

    Raises:
        BlueprintError: Not a SavedModel directory, or one TensorFlow cannot load.
    """
    import tensorflow as tf

    path = Path(path)
    if not is_saved_model(path):
        raise RunError(
            f"'{path}' is not a SavedModel",
            path,
            expected="a directory holding saved_model.pb (written by 'blueprint export')",
            received="no such file or directory"
            if not path.exists()
            else ("a file" if path.is_file() else "a directory without saved_model.pb"),
        )
    try:
        return tf.saved_model.load(str(path))
    except Exception as exc:  # a damaged SavedModel raises many kinds (IndexError, DecodeError..)
        if is_out_of_memory(exc):
            raise
        from keras_blueprints.training.modelfile import first_line

        raise RunError(
            f"cannot load the SavedModel at '{path}'",
            path,
            expected="a SavedModel directory written by 'blueprint export' (saved_model.pb and "
            "complete variables/)",
            received=Plain(first_line(exc)),
            hint="The directory is damaged or incomplete (a partial copy?); export it again.",
        ) from exc


class SavedModelRunner:
    """One signature of a SavedModel, called on NumPy arrays.

    Args:
        path: The SavedModel directory.
        signature: The signature key.

    Attributes:
        path: The directory.
        signature: The signature key.
        inputs: The signature's inputs (name, shape with the batch first, dtype), sorted by name.
        outputs: Its outputs, sorted by name.

    Raises:
        RunError: Not a SavedModel.
        BlueprintError: No such signature.
    """

    def __init__(self, path: str | Path, signature: str = DEFAULT_SIGNATURE) -> None:
        self.path = Path(path)
        self.signature = signature
        self.loaded = load_saved_model(self.path)
        signatures = self.loaded.signatures
        if signature not in signatures:
            raise BlueprintError.unknown_name(
                f"a signature of the SavedModel at '{self.path}'",
                signature,
                list(signatures),
                Location(str(self.path)),
            )
        self.fn = signatures[signature]
        _, kwargs = self.fn.structured_input_signature
        self.inputs = tuple(_info(n, s) for n, s in sorted(kwargs.items()))
        self.outputs = tuple(_info(n, s) for n, s in sorted(self.fn.structured_outputs.items()))

    @property
    def output_names(self) -> list[str]:
        """The outputs' names."""
        return [info.name for info in self.outputs]

    def __call__(
        self, arrays: Mapping[str, Any], *, batch_size: int | None = None
    ) -> dict[str, Any]:
        """Runs the signature on arrays keyed by input name.

        Args:
            arrays: One array per input, all with the same number of rows; each is
                cast to the input's dtype when that is safe (float64 to float32,
                int64 to int32 within range).
            batch_size: Rows per call (default: all at once).

        Returns:
            The outputs as NumPy arrays, keyed by name.

        Raises:
            BlueprintError: A missing input, or an array whose dtype cannot be cast.
        """
        import numpy as np
        import tensorflow as tf

        feed = {}
        for info in self.inputs:
            if info.name not in arrays:
                raise BlueprintError(
                    f"no array for input '{info.name}' of signature '{self.signature}'",
                    Location(str(self.path)),
                    expected="arrays named " + ", ".join(i.name for i in self.inputs),
                    received="arrays named " + ", ".join(arrays) if arrays else "no arrays",
                )
            feed[info.name] = _cast(np.asarray(arrays[info.name]), info, self.path)
        rows = len(next(iter(feed.values()))) if feed else 0
        step = batch_size or max(rows, 1)
        parts: dict[str, list[Any]] = {}
        for start in range(0, max(rows, 1), step):
            chunk = {k: tf.constant(v[start : start + step]) for k, v in feed.items()}
            for name, value in self.fn(**chunk).items():
                parts.setdefault(name, []).append(value.numpy())
        return {name: np.concatenate(values, axis=0) for name, values in parts.items()}


def _info(name: str, spec: Any) -> TensorInfo:
    shape = tuple(spec.shape.as_list()) if spec.shape.rank is not None else ()
    return TensorInfo(name, shape, spec.dtype.name)


def _cast(array: Any, info: TensorInfo, path: Path) -> Any:
    import numpy as np

    target = np.dtype(info.dtype) if info.dtype != "bfloat16" else None
    if target is None or array.dtype == target:
        return array
    same_kind = (
        (np.issubdtype(array.dtype, np.floating) and np.issubdtype(target, np.floating))
        or (np.issubdtype(array.dtype, np.integer) and np.issubdtype(target, np.number))
        or (array.dtype == np.bool_ and target == np.bool_)
    )
    if not same_kind or (
        np.issubdtype(target, np.integer)
        and array.size
        and (array.min() < np.iinfo(target).min or array.max() > np.iinfo(target).max)
    ):
        raise BlueprintError(
            f"the array for input '{info.name}' has the wrong dtype",
            Location(str(path)),
            expected=info.dtype,
            received=str(array.dtype),
        )
    return array.astype(target)
