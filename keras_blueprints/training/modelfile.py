"""Reading a ``.keras`` model file that may be damaged, foreign or hostile.

Every command that loads a Keras model file (``predict``, ``evaluate``,
``export``) goes through :func:`load_keras_model`, so every way a file can be
wrong ends the same way: one :class:`~keras_blueprints._core.errors.RunError`
naming the file, saying what was expected and what was found, exit 2.

Before Keras sees the file, :func:`check_keras_file` looks at it cheaply (no
TensorFlow): a regular, non-empty file (a FIFO or a device would block or never
end), a zip archive whose central directory is intact (a truncated download is
not), holding ``config.json`` no larger than :data:`MAX_CONFIG_BYTES` (a zip bomb
would exhaust memory as it is parsed), valid JSON, and no ``Lambda`` layer
carrying Python bytecode (Keras' ``safe_mode`` refuses to run it; the check says
so in our words, and which layer). Keras then loads in safe mode; anything it
still cannot read (a damaged weights file, a custom layer that is not
registered, a CRC error) is reported against the file too. Running out of memory
is not a damaged file: it passes through to the command line's one mapping of
error kinds (:func:`keras_blueprints._core.errors.is_out_of_memory`).
"""

from __future__ import annotations

import json
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keras_blueprints._core.errors import (
    KerasBlueprintsError,
    Plain,
    RunError,
    is_out_of_memory,
)

if TYPE_CHECKING:
    import keras

__all__ = ["MAX_CONFIG_BYTES", "check_keras_file", "first_line", "load_keras_model"]

MAX_CONFIG_BYTES = 16 * 2**20
"""Largest ``config.json`` inside a ``.keras`` file, uncompressed (the zoo's largest model
has a config of a few hundred kilobytes)."""

_EXPECTED = "a .keras file written by Keras 3 ('blueprint train' or 'blueprint export')"


def check_keras_file(path: str | Path) -> None:
    """Checks that ``path`` looks like a ``.keras`` archive Keras can load in safe mode.

    Args:
        path: The file.

    Raises:
        RunError: Not a regular file, empty, not a zip archive (or a truncated
            one), no ``config.json`` or an unreadable or oversized one, or a
            ``Lambda`` layer holding Python code.
    """
    path = Path(path)
    try:
        st = path.stat()
    except OSError as exc:
        raise RunError(
            f"cannot open the model file '{path}'",
            path,
            expected=_EXPECTED,
            received=Plain(exc.strerror or type(exc).__name__),
        ) from exc
    if not stat.S_ISREG(st.st_mode):
        raise RunError(
            f"the model '{path}' is not a regular file",
            path,
            expected=_EXPECTED,
            received=Plain("a directory" if stat.S_ISDIR(st.st_mode) else "a special file"),
        )
    if st.st_size == 0:
        raise RunError(
            f"the model file '{path}' is empty",
            path,
            expected=_EXPECTED,
            received=Plain("0 bytes"),
        )
    try:
        with zipfile.ZipFile(path) as archive:
            config = _read_config(archive, path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise RunError(
            f"the model file '{path}' is not a readable .keras archive",
            path,
            expected=_EXPECTED + ": a zip archive",
            received=Plain(f"{st.st_size} bytes that are not a complete zip archive (truncated?)"),
        ) from exc
    for layer in _lambda_layers(config):
        raise RunError(
            f"the model '{path}' has a Lambda layer holding Python code ('{layer}')",
            path,
            expected="layers Keras can load in safe mode",
            received=Plain("a Lambda layer with a Python function (bytecode)"),
            hint="Loading it would run code from the file, so it is refused. Replace the "
            "Lambda with a registered custom layer (docs/blueprint-language.md, section 9) and "
            "save again.",
        )


def load_keras_model(path: str | Path) -> keras.Model:
    """Loads a ``.keras`` file in safe mode; every failure is a located error.

    The caller imports the custom layers and schedules it may hold first.

    Args:
        path: The file.

    Returns:
        The model.

    Raises:
        RunError: The file cannot be loaded (see :func:`check_keras_file`), or
            Keras could not rebuild the model from it.
    """
    check_keras_file(path)
    import keras

    try:
        return keras.saving.load_model(path, safe_mode=True)
    except KerasBlueprintsError:
        raise
    except Exception as exc:  # Keras, h5py and zipfile raise many kinds for a damaged file
        if is_out_of_memory(exc):
            raise
        raise RunError(
            f"cannot load the model file '{path}'",
            path,
            expected=_EXPECTED,
            received=Plain(first_line(exc)),
            hint="The file is damaged, or was written by another version of Keras or with "
            "custom layers that are not registered here.",
        ) from exc


def _read_config(archive: zipfile.ZipFile, path: Path) -> Any:
    try:
        info = archive.getinfo("config.json")
    except KeyError:
        raise RunError(
            f"the model file '{path}' holds no config.json",
            path,
            expected=_EXPECTED,
            received=Plain("a zip archive of " + (", ".join(archive.namelist()[:5]) or "nothing")),
        ) from None
    if info.file_size > MAX_CONFIG_BYTES:
        raise RunError(
            f"the config.json in the model file '{path}' is too large",
            path,
            expected=f"at most {MAX_CONFIG_BYTES // 2**20} MiB",
            received=Plain(f"{info.file_size / 2**20:.0f} MiB uncompressed"),
        )
    with archive.open(info) as f:
        raw = f.read(MAX_CONFIG_BYTES + 1)  # the header's size may lie
    if len(raw) > MAX_CONFIG_BYTES:
        raise RunError(
            f"the config.json in the model file '{path}' is too large",
            path,
            expected=f"at most {MAX_CONFIG_BYTES // 2**20} MiB",
        )
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise RunError(
            f"the config.json in the model file '{path}' is not valid JSON",
            path,
            expected=_EXPECTED,
            received=Plain(first_line(exc)),
        ) from exc


def _lambda_layers(config: Any) -> Iterator[str]:
    """Names of ``Lambda`` layers whose function or output shape is Python bytecode."""
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            inner = node.get("config")
            if node.get("class_name") == "Lambda" and isinstance(inner, dict):
                parts = (inner.get("function"), inner.get("output_shape"))
                if any(isinstance(p, dict) and p.get("class_name") == "__lambda__" for p in parts):
                    yield str(inner.get("name", "lambda"))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def first_line(exc: BaseException) -> str:
    """``Type: first line of the message``, to show an upstream library's error briefly."""
    text = str(exc).strip()
    first = text.splitlines()[0].rstrip(".") if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
