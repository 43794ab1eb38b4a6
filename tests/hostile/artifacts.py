"""Hostile cases: damaged or foreign model files, exports and data given to a command."""

from __future__ import annotations

import functools
import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

from . import case

SPIRALS = (
    "name: tiny\n"
    "inputs: {point: [2]}\n"
    "graph:\n"
    "  - {name: probabilities, Dense: {units: 2, activation: softmax}}\n"
    "compile: {optimizer: adam, loss: sparse_categorical_crossentropy}\n"
    "data: {source: spirals, batch_size: 16}\n"
    "train: {epochs: 1}\n"
)


@functools.cache
def _model_bytes(kind: str = "good") -> bytes:
    """A tiny ``.keras`` file (built once per test process): ``good``, or ``lambda``."""
    import tempfile

    import keras

    keras.backend.clear_session()
    x = keras.Input((4,), name="x")
    if kind == "lambda":
        y = keras.layers.Lambda(lambda t: t * 2, name="double")(x)
    else:
        y = keras.layers.Dense(2, name="d")(x)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        keras.Model(x, y).save(path)
        data = path.read_bytes()
    keras.backend.clear_session()
    return data


def _npy(array) -> bytes:
    import numpy as np

    out = io.BytesIO()
    np.save(out, array, allow_pickle=False)
    return out.getvalue()


def _write(name: str, make: Callable[[], bytes]) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        path = root / "work" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(make())

    return setup


def _both(*setups: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        for one in setups:
            one(root)

    return setup


def _good_input() -> bytes:
    import numpy as np

    return _npy(np.zeros((3, 4), "float32"))


# -- model files: every damage is exit 2 at the file, found before TensorFlow starts --------

case(
    "keras-truncated",
    "predict",
    "model.keras",
    "x.npy",
    "-o",
    "runs/out.npy",
    setup=_both(
        _write("model.keras", lambda: _model_bytes()[: len(_model_bytes()) // 2]),
        _write("x.npy", _good_input),
    ),
    where=r"model\.keras",
    seconds=30,
)

case(
    "keras-empty",
    "predict",
    "model.keras",
    "x.npy",
    "-o",
    "runs/out.npy",
    files={"model.keras": b""},
    setup=_write("x.npy", _good_input),
    where=r"model\.keras",
    seconds=30,
)

case(
    "keras-not-a-zip-export",
    "export",
    "model.keras",
    "--out",
    "runs/exported",
    files={"model.keras": "name: a blueprint, not a model\n"},
    where=r"model\.keras",
    seconds=30,
)

case(
    "keras-lambda-safe-mode",
    "predict",
    "model.keras",
    "x.npy",
    "-o",
    "runs/out.npy",
    setup=_both(
        _write("model.keras", lambda: _model_bytes("lambda")), _write("x.npy", _good_input)
    ),
    where=r"model\.keras",
    seconds=30,
)


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", b" " * (64 * 2**20))  # 64 MiB in about 64 KB
        archive.writestr("metadata.json", "{}")
    return out.getvalue()


case(
    "keras-config-zip-bomb",
    "predict",
    "model.keras",
    "x.npy",
    "-o",
    "runs/out.npy",
    setup=_both(_write("model.keras", _zip_bomb), _write("x.npy", _good_input)),
    where=r"model\.keras",
    seconds=30,
    memory_mb=200,
)


def _run_with_truncated_model(root: Path) -> None:
    run = root / "work" / "run"
    run.mkdir()
    (run / "run.json").write_text('{"status": "completed", "batch_size": 16}\n')
    (run / "blueprint.yaml").write_text(SPIRALS)
    (run / "model.keras").write_bytes(_model_bytes()[:-100])


case(
    "evaluate-truncated-model",
    "evaluate",
    "run",
    setup=_run_with_truncated_model,
    where=r"run/model\.keras",
    seconds=30,
)


def _saved_model_with_truncated_variables(root: Path) -> None:
    import tempfile

    import keras

    with tempfile.TemporaryDirectory() as folder:
        model = Path(folder) / "m.keras"
        model.write_bytes(_model_bytes())
        keras.saving.load_model(model).export(str(root / "work" / "exported"), verbose=False)
    keras.backend.clear_session()
    variables = root / "work" / "exported" / "variables"
    for data in variables.glob("variables.data-*"):
        data.write_bytes(data.read_bytes()[: data.stat().st_size // 3])
    (root / "work" / "x.npy").write_bytes(_good_input())


case(
    "saved-model-truncated-variables",
    "predict",
    "exported",
    "x.npy",
    "-o",
    "runs/out.npy",
    setup=_saved_model_with_truncated_variables,
    where=r"exported",
    seconds=90,
    memory_mb=2500,
    tensorflow=True,
)

# -- input arrays given to predict -----------------------------------------------------------


def _strings() -> bytes:
    import numpy as np

    return _npy(np.array([["a"] * 4] * 3))


def _zero_rows() -> bytes:
    import numpy as np

    return _npy(np.zeros((0, 4), "float32"))


def _lying_header() -> bytes:
    """A .npy whose header claims 160 GB; NumPy would allocate that before reading."""
    import numpy as np

    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        out, {"descr": "<f4", "fortran_order": False, "shape": (10**7, 4000)}
    )
    return out.getvalue() + bytes(64)


for _id, _make in (
    ("npy-strings", _strings),
    ("npy-zero-rows", _zero_rows),
    ("npy-lying-header", _lying_header),
):
    case(
        _id,
        "predict",
        "model.keras",
        "x.npy",
        "-o",
        "runs/out.npy",
        setup=_both(_write("model.keras", _model_bytes), _write("x.npy", _make)),
        where=r"x\.npy",
        seconds=30,
    )

# -- run directories ----------------------------------------------------------------------------


def _dangling_link(root: Path) -> None:
    os.symlink(root / "outside" / "made-by-train", root / "work" / "run-link")


case(
    "run-dir-dangling-link",
    "train",
    "bp.yaml",
    "--run-dir",
    "run-link",
    "--quiet",
    files={"bp.yaml": SPIRALS},
    setup=_dangling_link,
    where=r"run-link",
    seconds=90,
    memory_mb=2500,
    tensorflow=True,
)

# -- blueprint references -------------------------------------------------------------------------

case(
    "share-empty-name",
    "validate",
    "--no-build",
    "bp.yaml",
    files={
        "bp.yaml": 'inputs: {x: [4]}\ngraph:\n  - {name: d1, Dense: {units: 2}}\n  - share: ""\n'
    },
    where=r"bp\.yaml:4:12",
    seconds=30,
)

# -- training data that would train to a NaN loss with exit 0 ---------------------------------

_NAN_CSV = "a,b,label\n" + "".join(
    f"{i / 10},{'nan' if i == 5 else 0.5},{i % 2}\n" for i in range(30)
)


def _huge_npz() -> bytes:
    import numpy as np

    x = np.linspace(-1, 1, 60).reshape(30, 2)
    x[9, 0] = 1e300  # finite in float64, infinite in float32
    out = io.BytesIO()
    np.savez(out, point=x, y=(np.arange(30) % 2).astype("int32"))
    return out.getvalue()


for _id, _source, _setup in (
    ("train-csv-nan", "{csv: {path: d.csv}}", None),
    ("train-npz-1e300", "{npz: {path: d.npz}}", _write("d.npz", _huge_npz)),
    ("train-csv-1e300", "{csv: {path: huge.csv}}", None),
):
    case(
        _id,
        "train",
        "bp.yaml",
        "--run-dir",
        "runs/run",
        "--quiet",
        files={
            "bp.yaml": SPIRALS.replace("source: spirals", f"source: {_source}"),
            "d.csv": _NAN_CSV,
            "huge.csv": _NAN_CSV.replace("nan", "1e300"),
            "runs/.keep": "",  # the run directory is made before the data is read
        },
        setup=_setup,
        where=r"bp\.yaml:6:\d+",
        seconds=90,
        memory_mb=2500,
        tensorflow=True,
    )
