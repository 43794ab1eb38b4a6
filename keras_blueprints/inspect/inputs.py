"""The examples an inspection looks at: a run's own data, or a ``.npy``/``.npz`` file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["load_examples"]


def load_examples(
    target: str | Path,
    data: Any = None,
    *,
    samples: int = 4,
    allow_read: tuple[str, ...] = (),
) -> tuple[Any, np.ndarray, np.ndarray | None]:
    """Loads the model of ``target`` and up to ``samples`` examples to inspect.

    Args:
        target: A run directory or a ``.keras`` file.
        data: For a run directory, a ``data.source`` override (as ``evaluate --data``);
            for a model file, a ``.npy``/``.npz`` path (as ``predict``); None: the run's
            test split, else its validation split.
        samples: How many examples at most.
        allow_read: Further folders the blueprint's data paths may be read below.

    Returns:
        The model, the images (n, h, w, c) and their labels (None when unknown).
    """
    from keras_blueprints.training.predict import load_model_from, read_inputs

    path = Path(target)
    model = load_model_from(path)
    if not path.is_dir() or (data is not None and str(data).endswith((".npy", ".npz"))):
        if data is None:
            from keras_blueprints._core.errors import UsageError

            raise UsageError(
                "a model file has no data of its own",
                "--data",
                expected="--data FILE.npy with the images to inspect",
                received="no --data",
            )
        inputs = read_inputs(data, model)
        images = np.asarray(next(iter(inputs.values())))[:samples]
        return model, images.astype("float32"), None
    return model, *_run_examples(path, data, samples, allow_read)


def _run_examples(
    run_dir: Path, data: Any, samples: int, allow_read: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray | None]:
    from keras_blueprints.data import make_datasets
    from keras_blueprints.resolve.schema import DataSpec, TrainSpec
    from keras_blueprints.training.run import load_run_blueprint
    from keras_blueprints.training.rundir import RunDir

    run = RunDir(run_dir)
    info = run.read_run()
    overrides: list[tuple[str, Any]] = []
    if data is not None:
        overrides += [("data.source", data), ("data.validation", None), ("data.test", None)]
    bp = load_run_blueprint(run.path, overrides, allow_read)
    spec = bp.train or TrainSpec()
    datasets = make_datasets(
        bp,
        bp.data or DataSpec(),
        base_dir=Path(info.get("base_dir", ".")),
        seed=spec.seed,
        batch_size=samples,
    )
    ds = next(d for d in (datasets.test, datasets.validation, datasets.train) if d is not None)
    x, y = next(iter(ds))[:2]
    if isinstance(x, dict):
        x = next(iter(x.values()))
    if isinstance(y, dict):
        y = next(iter(y.values()))
    y = np.asarray(y)
    labels = y.argmax(axis=-1) if y.ndim > 1 else y.astype(int)
    return np.asarray(x, "float32")[:samples], labels[:samples]
