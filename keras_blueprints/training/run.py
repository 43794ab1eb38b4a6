"""Training a blueprint into a run directory: :func:`train`, :func:`resume`, :func:`evaluate`.

A run is reproducible and resumable:

* every random generator is seeded from ``train.seed`` and, by default,
  TensorFlow's ops are made deterministic, so the same seed on the same
  machine gives the same metrics;
* at the end of every epoch the history, the last and best checkpoints and
  Keras' ``BackupAndRestore`` state are written (atomically), so a killed run
  continues from its last finished epoch with :func:`resume`
  (``blueprint train --resume DIR``);
* at the end the directory holds the trained ``model.keras``, ``metrics.json``
  and the plots, and ``run.json`` says ``"status": "completed"``.

The blueprint's ``runtime:`` section (:mod:`keras_blueprints.training.runtime`) says where
the model trains: it is built and compiled inside the strategy's scope, with the
dtype policy of ``mixed_precision`` (restored when the run ends), and the batch
is scaled by the replicas with ``scale_batch_size``; ``run.json`` records the
strategy, replicas, policy and global batch. In a multi-worker cluster only the
chief writes the run directory: the other workers write to a temporary
directory of their own, removed when they finish.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import platform
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keras_blueprints import __version__
from keras_blueprints._core.errors import KerasBlueprintsError, RunError, report
from keras_blueprints._core.files import atomic_path, atomic_write_json
from keras_blueprints.api import Overrides, load
from keras_blueprints.resolve.schema import Blueprint, DataSpec, TrainSpec
from keras_blueprints.training.backup import RunBackup, remove_partial, restore
from keras_blueprints.training.console import (
    announce,
    early_estimate_line,
    early_stopping_outcome,
    estimate_line,
)
from keras_blueprints.training.fit import DEFAULT_CALLBACKS, fit_blueprint
from keras_blueprints.training.lock import holding, remove_stale_temporaries
from keras_blueprints.training.preflight import check_trainable
from keras_blueprints.training.rundir import (
    BACKUP_DIR,
    BLUEPRINT_FILE,
    CHECKPOINT_DIR,
    CLASSES_FILE,
    EVALUATION_DIR,
    IMPORTS_KEY,
    MODEL_FILE,
    PRETRAIN_FILE,
    RUN_LOCK,
    TABLE_FILE,
    RunDir,
    default_run_dir,
    load_run_blueprint,
)
from keras_blueprints.training.runtime import (
    activate,
    configure,
    fitting,
    is_chief,
    strategy_for,
    with_runtime_compile,
)
from keras_blueprints.views.plain import dump

if TYPE_CHECKING:
    import keras

__all__ = [
    "RunInterrupted",
    "RunResult",
    "evaluate",
    "load_run_blueprint",
    "resume",
    "train",
]


class RunInterrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C or SIGTERM: marked ``interrupted`` in run.json, resumable.

    Attributes:
        run_dir: The run directory.
        status: The exit status the command line returns (130 for SIGINT, 143 for SIGTERM).
        message: What to tell the user, with the command that continues the run.
    """

    def __init__(self, run_dir: Path, status: int, epochs_done: int) -> None:
        self.run_dir = run_dir
        self.status = status
        self.message = (
            f"{run_dir}: run interrupted after {epochs_done} finished epoch(s); continue it "
            f"with:\n  blueprint train --resume {run_dir}"
        )
        super().__init__(self.message)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread by :func:`_sigterm_interrupts`."""


@contextlib.contextmanager
def _sigterm_interrupts():
    """While training, SIGTERM interrupts like Ctrl-C does (restored afterwards)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, frame) -> None:
        raise _Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _marking_the_outcome(run: RunDir, info: dict[str, Any], work):
    """Runs ``work()``, marking in run.json how it ended if it did not succeed.

    A failure marks the run ``failed`` (with the error), Ctrl-C or SIGTERM
    ``interrupted``; the exception goes on (an interrupt as :class:`RunInterrupted`).
    """
    try:
        return work()
    except KeyboardInterrupt as exc:
        info.update(status="interrupted", stopped=_now())
        run.write_run(info)
        status = 143 if isinstance(exc, _Terminated) else 130
        raise RunInterrupted(run.path, status, int(info.get("epochs_done", 0))) from None
    except Exception as exc:
        text = (
            report(exc) if isinstance(exc, KerasBlueprintsError) else f"{type(exc).__name__}: {exc}"
        )
        info.update(status="failed", stopped=_now(), error=text)
        run.write_run(info)
        raise


@dataclass(frozen=True)
class RunResult:
    """What a finished run returns.

    Attributes:
        run_dir: The run directory.
        model: The trained model.
        history: Loss and metrics per epoch (the whole run, across resumptions).
        metrics: Final metrics: ``{"train": {...}, "validation": {...}, "test": {...}}``.
        early_stopping: When early stopping ended the run: its epoch and the epoch whose
            weights were restored (:func:`keras_blueprints.training.console.
            early_stopping_outcome`); else None.
    """

    run_dir: Path
    model: keras.Model
    history: dict[str, list[float]]
    metrics: dict[str, dict[str, float]]
    early_stopping: dict[str, Any] | None = None


def train(
    blueprint: str | Path | Blueprint,
    overrides: Overrides = (),
    *,
    run_dir: str | Path | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    verbose: int | str = "auto",
    extra_callbacks: Iterable[keras.callbacks.Callback] = (),
    allow_read: Iterable[str | Path] = (),
    imports: Sequence[str] = (),
) -> RunResult:
    """Trains a blueprint on its ``data:`` as its ``train:`` section says.

    Args:
        blueprint: A blueprint, or anything :func:`keras_blueprints.load` accepts.
        overrides: Overrides applied before loading (``"data.source=digits"``...).
        run_dir: Where to write the run (default ``runs/NAME-TIMESTAMP``); must be
            new or empty.
        epochs: Overrides ``train.epochs``.
        batch_size: Overrides ``data.batch_size``.
        verbose: Keras' ``fit`` verbosity (``"auto"`` shows the progress bar).
        extra_callbacks: Further Keras callbacks (from Python), run after the blueprint's.
        allow_read: Folders the blueprint's data paths may be read below, besides its
            own folder and the current directory (kept in ``run.json`` for resuming).
        imports: The modules the command line imported for the blueprint's components
            (``--import``), kept in ``run.json``: resuming, evaluating and exporting the
            run ask for them again (a run directory never imports them itself).

    Returns:
        The run's result. On a multi-worker cluster's non-chief worker, ``run_dir`` is
        the chief's (this worker's own files were temporary and are gone).

    Raises:
        BlueprintError: A problem in the blueprint, its runtime or its data. Problems
            found before training can start leave no run directory; later ones mark
            the run ``failed`` in its run.json, with the error.
        RunInterrupted: Ctrl-C or SIGTERM: the run is marked ``interrupted``.
    """
    if isinstance(blueprint, Blueprint) and not overrides:
        bp = blueprint
    else:
        bp = load(blueprint, overrides, allow_read=allow_read)
    configure(bp.runtime)  # before any TensorFlow op: virtual CPUs, the worker cluster
    strategy_for(bp.runtime)  # a bad runtime fails here, before the run directory exists
    check_trainable(bp)
    base_dir = Path(bp.source).resolve().parent if Path(bp.source).is_file() else Path.cwd()
    requested = Path(run_dir if run_dir is not None else default_run_dir(bp.name))
    if not is_chief(bp.runtime):  # the chief writes the run; this worker, a scratch copy
        scratch = Path(tempfile.mkdtemp(prefix=f".{bp.name}-worker-"))
        try:
            result = _train_in(
                bp,
                RunDir(scratch),
                overrides,
                base_dir,
                epochs,
                batch_size,
                verbose,
                extra_callbacks,
                allow_read,
                imports,
            )
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return replace(result, run_dir=requested)
    run = RunDir(requested)
    run.create()
    with holding(run.path, RUN_LOCK, "run"), _sigterm_interrupts():
        return _train_in(
            bp,
            run,
            overrides,
            base_dir,
            epochs,
            batch_size,
            verbose,
            extra_callbacks,
            allow_read,
            imports,
        )


def _train_in(
    bp: Blueprint,
    run: RunDir,
    overrides: Overrides,
    base_dir: Path,
    epochs: int | None,
    batch_size: int | None,
    verbose: int | str,
    extra_callbacks: Iterable[keras.callbacks.Callback],
    allow_read: Iterable[str | Path] = (),
    imports: Sequence[str] = (),
) -> RunResult:
    spec = bp.train or TrainSpec()
    run.write_blueprint(dump(bp))
    info = {
        "status": "running",
        "blueprint": bp.source,
        "overrides": [o if isinstance(o, str) else f"{o[0]}={json.dumps(o[1])}" for o in overrides],
        "base_dir": str(base_dir),
        "allow_read": [str(Path(p).expanduser().resolve()) for p in allow_read],
        IMPORTS_KEY: list(imports),
        "seed": spec.seed,
        "epochs": epochs or spec.epochs,
        "batch_size": batch_size or (bp.data or DataSpec()).batch_size,
        "epochs_done": 0,
        "started": _now(),
        "versions": _versions(),
    }
    run.write_run(info)
    return _marking_the_outcome(
        run,
        info,
        lambda: _fit(bp, run, info, verbose=verbose, extra_callbacks=extra_callbacks),
    )


def resume(
    run_dir: str | Path,
    *,
    verbose: int | str = "auto",
    extra_callbacks: Iterable[keras.callbacks.Callback] = (),
) -> RunResult:
    """Continues an interrupted run from its last finished epoch.

    The model is rebuilt from the run's own ``blueprint.yaml``; weights,
    optimizer state and the epoch counter come back from ``BackupAndRestore``'s
    state, and the history from ``history.json``.

    Args:
        run_dir: A run directory written by :func:`train`.
        verbose: Keras' ``fit`` verbosity.
        extra_callbacks: Further Keras callbacks.

    Returns:
        The run's result.

    Raises:
        RunError: Not a run directory, a run that is already complete, one
            another process is running (the directory is locked), or one whose
            backup is missing or damaged beyond its previous state.
        RunInterrupted: Ctrl-C or SIGTERM: the run is marked ``interrupted``.
    """
    run = RunDir(run_dir)
    run.read_run()  # a run directory at all? (before creating a lock file in it)
    with holding(run.path, RUN_LOCK, "run"), _sigterm_interrupts():
        return _resume_locked(run, verbose=verbose, extra_callbacks=extra_callbacks)


def _resume_locked(
    run: RunDir,
    *,
    verbose: int | str,
    extra_callbacks: Iterable[keras.callbacks.Callback],
) -> RunResult:
    info = run.read_run()  # again: the lock's previous holder may have changed it
    # Whatever a killed writer left: safe to remove only now, under the lock.
    remove_stale_temporaries(run.path)
    remove_partial(run / BACKUP_DIR)
    if (info.get("runtime") or {}).get("strategy") == "multi_worker":
        raise RunError(
            f"run '{run.path}' was trained by a multi-worker cluster; it cannot be resumed",
            run.path,
            hint="Only the chief kept its files; start the cluster again with a new run "
            "directory (or resume on one machine with --set runtime.strategy=default).",
        )
    if info.get("status") == "completed":
        shutil.rmtree(run / BACKUP_DIR, ignore_errors=True)  # killed before removing it
        raise RunError(
            f"run '{run.path}' is already complete ({info.get('epochs_done')} epochs)",
            run.path,
            hint="Start a new run to train longer, e.g. blueprint train "
            f"{run.path / BLUEPRINT_FILE} --epochs N.",
        )
    info["status"] = "running"
    for stale in ("stopped", "error"):
        info.pop(stale, None)
    info.setdefault("resumed", []).append({"at": _now()})
    run.write_run(info)

    def work() -> RunResult:
        bp = load_run_blueprint(run.path)
        configure(bp.runtime)
        return _fit(bp, run, info, verbose=verbose, extra_callbacks=extra_callbacks, resuming=True)

    return _marking_the_outcome(run, info, work)


def _fit(
    bp: Blueprint,
    run: RunDir,
    info: dict[str, Any],
    *,
    verbose: int | str,
    extra_callbacks: Iterable[keras.callbacks.Callback],
    resuming: bool = False,
) -> RunResult:
    import keras

    from keras_blueprints.builders.model import build_models

    spec = bp.train or TrainSpec()
    check_trainable(bp)
    seed_everything(spec.seed, deterministic=spec.deterministic)
    keras.backend.clear_session()  # before activate: it resets Keras' dtype policy too
    with activate(bp.runtime) as runtime:
        info["runtime"] = runtime.record(info["batch_size"])
        models = build_models(with_runtime_compile(bp), compile=True)
        model = models["model"]
        with fitting(runtime, model):
            return _fit_built(
                bp,
                run,
                info,
                models,
                runtime.global_batch_size(info["batch_size"]),
                verbose=verbose,
                extra_callbacks=extra_callbacks,
                resuming=resuming,
            )


def _fit_built(
    bp: Blueprint,
    run: RunDir,
    info: dict[str, Any],
    models: dict[str, keras.Model],
    global_batch: int,
    *,
    verbose: int | str,
    extra_callbacks: Iterable[keras.callbacks.Callback],
    resuming: bool,
) -> RunResult:
    from keras_blueprints.data import make_datasets

    spec = bp.train or TrainSpec()
    model = models["model"]
    datasets = make_datasets(
        bp,
        bp.data or DataSpec(),
        base_dir=Path(info["base_dir"]),
        seed=spec.seed,
        batch_size=global_batch,
        model=model,
    )
    _keep_table_layout(bp, datasets, run)
    done, history = 0, {}
    if resuming:
        state = restore(model, run / BACKUP_DIR, run_dir=run.path)
        if state is None and int(info.get("epochs_done") or 0) > 0:
            raise RunError(
                f"run '{run.path}' cannot be resumed: it finished {info['epochs_done']} "
                "epoch(s) but its backup state is missing",
                run / BACKUP_DIR,
                expected="the backup/ folder the run writes every epoch",
                hint=f"Start a new run: blueprint train {run.path / BLUEPRINT_FILE}.",
            )
        if state is not None:
            done, history = state.epoch, state.history
            if state.best:
                info["best"] = state.best
            else:
                info.pop("best", None)
        info["epochs_done"] = done
        info["resumed"][-1]["from_epoch"] = done
    if spec.pretrain is not None and done == 0:
        from keras_blueprints.training.pretrain import pretrain_layerwise

        pairs = pretrain_layerwise(model, spec.pretrain, datasets.train, verbose=_quiet(verbose))
        atomic_write_json(run / PRETRAIN_FILE, pairs)
    monitor = spec.monitor or ("val_loss" if datasets.validation is not None else "loss")
    # A run killed after its training ended (all epochs, or stopped early) runs no more
    # epochs when resumed: it only finishes (model, metrics, status).
    finishing = resuming and info.get("phase") == "finishing"
    if finishing and (run / MODEL_FILE).is_file():
        model.load_weights(run / MODEL_FILE)
    else:
        if verbose != 0:
            sizes = {"training": datasets.sizes.get("train", datasets.train_size)}
            for split in ("validation", "test"):
                if getattr(datasets, split) is not None:
                    sizes[split] = datasets.sizes.get(split)
            print(
                announce(
                    bp,
                    (model.count_params(), _trainable_count(model)),
                    sizes,
                    datasets.batch_size,
                    info.get("runtime") or {},
                    run.path,
                    info["epochs"],
                ),
                flush=True,
            )
        fit_blueprint(
            model,
            bp,
            datasets,
            run_dir=run.path,
            initial_epoch=done,
            epochs=done if finishing else info["epochs"],
            callbacks_before=[
                *_checkpoints(run, info, monitor),
                _Recorder(run, info, history, RunBackup(run / BACKUP_DIR)),
                *([_Estimate(info["epochs"], bp)] if verbose != 0 else []),
            ],
            callbacks_extra=extra_callbacks,
            default_callbacks=DEFAULT_CALLBACKS,
            models=models,
            history=history,
            verbose=verbose,
        )
        info["phase"] = "finishing"
        outcome = early_stopping_outcome(bp, run.read_history(), info["epochs"])
        if outcome is not None:
            info["early_stopping"] = outcome
        run.write_run(info)
        with atomic_path(run / MODEL_FILE) as tmp:
            model.save(tmp)
    # Final training metrics on the training examples as they are (not shuffled, no label noise).
    metrics = {"train": _evaluate(model, bp, datasets.unshuffled("train"))}
    for split in ("validation", "test"):
        ds = getattr(datasets, split)
        if ds is not None:
            metrics[split] = _evaluate(model, bp, ds)
    run.write_metrics(metrics)
    _judge(model, datasets, run / EVALUATION_DIR, models)
    info.pop("phase", None)
    info.update(status="completed", finished=_now())
    run.write_run(info)
    shutil.rmtree(run / BACKUP_DIR, ignore_errors=True)  # only once the run says completed
    return RunResult(run.path, model, run.read_history(), metrics, info.get("early_stopping"))


def evaluate(
    run_dir: str | Path,
    overrides: Overrides = (),
    *,
    data: str | None = None,
    verbose: int | str = 0,
    allow_read: Iterable[str | Path] = (),
    batch_size: int | None = None,
) -> dict[str, dict[str, float]]:
    """Evaluates a run's trained model on its test data, or on other data.

    Args:
        run_dir: A completed run directory.
        overrides: Overrides of the run's blueprint.
        data: Other data, as ``data.source`` takes it (a built-in name, a file,
            ``{npz: {path: ...}}``): its test split when it has one (built-in sets),
            else all of it, reported as ``"data"``.
        verbose: Keras' verbosity.
        allow_read: Further folders the blueprint's data paths may be read below.
        batch_size: Examples per batch (default: the run's own batch size).

    Returns:
        Metrics per split: ``{"test": {...}}`` when the data has a test split; else
        every split there is (``"data"`` for all of other data).

    Raises:
        RunError: Not a completed run.
        BlueprintError: Data that does not fit the model.
    """
    import keras

    from keras_blueprints.data import make_datasets

    run = RunDir(run_dir)
    info = run.read_run()
    model_file = run / MODEL_FILE
    if not model_file.is_file():
        raise RunError(
            f"run '{run.path}' has no trained model yet",
            run.path,
            expected=f"{MODEL_FILE} (written when training completes)",
            hint=f"Finish the run first: blueprint train --resume {run.path}",
        )
    overrides = list(overrides)
    if data is not None:
        overrides += [("data.source", data), ("data.validation", None), ("data.test", None)]
    bp = load_run_blueprint(run.path, overrides, allow_read)
    configure(bp.runtime)
    spec = bp.train or TrainSpec()
    keras.utils.set_random_seed(spec.seed)
    with activate(bp.runtime) as runtime:
        model = load_trained(model_file)
        if bp.compile is not None and _touches(overrides, "compile"):
            # --set compile.metrics=[...] (or loss): measured as asked, not as trained.
            from keras_blueprints.builders.compile import compile_model

            compile_model(model, bp.compile, bp.output_names)
        batch_size = batch_size or info.get("batch_size")
        datasets = make_datasets(
            bp,
            bp.data or DataSpec(),
            base_dir=Path(info.get("base_dir", ".")),
            seed=spec.seed,
            batch_size=runtime.global_batch_size(batch_size) if batch_size else batch_size,
            model=model,
        )
        splits = {s: getattr(datasets, s) for s in ("test", "validation")}
        chosen = {"test": splits["test"]} if splits["test"] is not None else {}
        if not chosen and data is not None:
            chosen = {"data": datasets.train}
        if not chosen:
            chosen = {k: v for k, v in {**splits, "train": datasets.train}.items() if v is not None}
        with fitting(runtime, model):
            metrics = {name: _evaluate(model, bp, ds, verbose) for name, ds in chosen.items()}
            name, ds = next(iter(chosen.items()))
            models = _models_sharing(bp, model_file) if bp.models else {}
            split = "train" if name == "data" else name
            _judge_split(model, ds, run / EVALUATION_DIR, name, _context(datasets, models, split))
            return metrics


def _models_sharing(bp: Blueprint, model_file: Path) -> dict[str, Any]:
    """The blueprint's other models (encoder, decoder...) with the trained weights.

    Built afresh and loaded from ``model_file``: the models share their layers, so the
    main model's weights are theirs. An empty mapping when they cannot be built.
    """
    from keras_blueprints.builders.model import build_models

    try:
        built = build_models(bp, compile=False)
        built["model"].load_weights(model_file)
    except Exception as exc:  # only pictures depend on them: say why and go on
        print(f"note: the blueprint's other models were not built ({exc})", file=sys.stderr)
        return {}
    return built


def load_trained(path: str | Path) -> keras.Model:
    """Loads a ``.keras`` model written by a run (custom layers and schedules included).

    Raises:
        BlueprintError: The file is missing, damaged, foreign or unsafe
            (:func:`keras_blueprints.training.modelfile.load_keras_model`).
    """
    from keras_blueprints.training.modelfile import load_keras_model

    _import_builtin_layers()
    return load_keras_model(path)


def _import_builtin_layers() -> None:
    import importlib

    from keras_blueprints.layers import builtin_layer_classes

    builtin_layer_classes()
    importlib.import_module("keras_blueprints.training.schedules")
    importlib.import_module("keras_blueprints.builders.metrics")


def seed_everything(seed: int, *, deterministic: bool = True) -> None:
    """Seeds Python, NumPy and TensorFlow; optionally makes TensorFlow's ops deterministic.

    Determinism is process-wide (``tf.config.experimental.enable_op_determinism``)
    and stays on: a training process trains one run.

    Args:
        seed: The seed.
        deterministic: Also make ops deterministic (same seed, same machine, same metrics).
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def _keep_table_layout(bp: Blueprint, datasets: Any, run: RunDir) -> None:
    """Keeps what predict needs to read a table and name classes as the training data did."""
    if datasets.classes is not None:
        atomic_write_json(run / CLASSES_FILE, list(datasets.classes))
    source = bp.data.source if bp.data is not None else None
    if datasets.features is not None and source is not None:
        label = source.args.get("label", "label")
        atomic_write_json(
            run / TABLE_FILE,
            {
                "features": list(datasets.features),
                "labels": [label] if isinstance(label, str) else list(label),
                "delimiter": source.args.get("delimiter", ","),
            },
        )


def _judge(model, datasets, out_dir: Path, models: Mapping[str, Any]) -> None:
    """Writes what the model is judged by, on the test split (else validation, else train)."""
    for split in ("test", "validation"):
        ds = getattr(datasets, split)
        if ds is not None:
            _judge_split(model, ds, out_dir, split, _context(datasets, models, split))
            return
    train = datasets.unshuffled("train")
    _judge_split(model, train, out_dir, "train", _context(datasets, models, "train"))


def _context(datasets: Any, models: Mapping[str, Any], split: str) -> Any:
    """What a judgement may use: class names, the other models, training data, tags."""
    from keras_blueprints.evaluation.judge import JudgeContext

    return JudgeContext(
        classes=datasets.classes,
        models={name: m for name, m in models.items() if name != "model"},
        train=datasets.unshuffled("train"),
        tags=datasets.tags.get(split),
    )


def _judge_split(model, dataset, out_dir: Path, split: str, context: Any = None) -> None:
    """Draws the judgement of one split; a picture never fails a finished run or evaluation."""
    from keras_blueprints.evaluation import judge

    try:
        judge(model, dataset, out_dir, split=split, context=context)
    except Exception as exc:  # the run's model and metrics are written: only say why
        print(
            f"note: {out_dir} was not written ({type(exc).__name__}: {exc})",
            file=sys.stderr,
        )


def _touches(overrides: Iterable[Any], section: str) -> bool:
    """Whether an override (``"KEY=VALUE"`` or ``(KEY, VALUE)``) sets ``section`` or below."""
    for item in overrides:
        key = item[0] if isinstance(item, tuple | list) else str(item).split("=", 1)[0]
        if key.strip() == section or key.strip().startswith(section + "."):
            return True
    return False


def _trainable_count(model) -> int:
    return int(sum(math.prod(v.shape) for v in model.trainable_weights))


def _evaluate(model, bp: Blueprint, dataset, verbose: int | str = 0) -> dict[str, float]:
    from keras_blueprints.training.rules._loop import measure

    return measure(model, bp, dataset, verbose)


def _quiet(verbose: int | str) -> int:
    return 0 if verbose == 0 else 2


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _versions() -> dict[str, str]:
    import keras
    import tensorflow as tf

    return {
        "keras_blueprints": __version__,
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "python": platform.python_version(),
    }


def _callback_base():
    import keras

    return keras.callbacks.Callback


class _Estimate(_callback_base()):  # type: ignore[misc]
    """How long the run takes: early from a few batches when it is long, then from the first epoch.

    The first line comes once ``MEASURED_STEPS`` batches after the first (which traces)
    are done, and only for a run projected past ten minutes; the second once the first
    epoch this process runs is done (and shown).
    """

    MEASURED_STEPS = 5

    def __init__(self, epochs: int, bp: Blueprint) -> None:
        super().__init__()
        self.epochs = epochs
        self.early = any(c.name == "early_stopping" for c in (bp.train or TrainSpec()).callbacks)
        self.started: float | None = None
        self.took: float | None = None
        self.said = False
        self.first_epoch: int | None = None
        self.step_clock: float | None = None
        self.early_said = False

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.early_said or self.first_epoch is None:
            return
        if batch == 0:
            self.step_clock = time.monotonic()
            return
        steps = (self.params or {}).get("steps")
        if batch < self.MEASURED_STEPS or self.step_clock is None or not steps:
            return
        self.early_said = True
        if batch + 1 >= steps:  # the epoch is about done: its own line says more
            return
        per_step = (time.monotonic() - self.step_clock) / batch
        left = self.epochs - self.first_epoch
        line = early_estimate_line(per_step, int(steps), left, self.early)
        if line is not None:
            print(("\n" if sys.stdout.isatty() else "") + line, flush=True)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self.first_epoch is None:
            self.first_epoch = epoch
        if self.started is None:
            self.started = time.monotonic()
        elif self.took is not None and not self.said:  # after Keras' line for that epoch
            self.said = True
            print(estimate_line(self.took, self.epochs - epoch, self.early), flush=True)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.took is None and self.started is not None:
            self.took = time.monotonic() - self.started


class _Recorder(_callback_base()):  # type: ignore[misc]
    """At the end of every epoch: the backup state, then history.json/csv and run.json.

    The backup state comes first and carries the history with it, so run.json never
    counts an epoch the backup cannot restore.
    """

    def __init__(
        self,
        run: RunDir,
        info: dict[str, Any],
        history: Mapping[str, list],
        backup: RunBackup,
    ) -> None:
        super().__init__()
        self.run = run
        self.info = info
        self.history = {k: list(v) for k, v in history.items()}
        self.backup = backup
        self.started = time.monotonic()

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        for key, value in (logs or {}).items():
            series = self.history.setdefault(key, [])
            series.extend([math.nan] * (epoch - len(series)))
            series.append(float(value))
        for series in self.history.values():  # a metric missing from this epoch's logs
            series.extend([math.nan] * (epoch + 1 - len(series)))
        self.backup.save(self.model, epoch + 1, self.history, self.info.get("best"))
        self.run.write_history(self.history)
        self.info["epochs_done"] = epoch + 1
        self.run.write_run(self.info)


def _checkpoints(run: RunDir, info: dict[str, Any], monitor: str) -> list:
    """``checkpoints/last.keras`` every epoch; ``best.keras`` when ``monitor`` improves.

    The best value and its epoch go into ``info["best"]`` (run.json and the backup
    carry it), and a resumed run starts from it when it watched the same monitor.
    """
    from keras_blueprints.callbacks._standard import AtomicModelCheckpoint

    folder = str(run / CHECKPOINT_DIR).replace("{", "{{").replace("}", "}}")  # not a format
    best = info.get("best") or {}

    def record(value: float, epoch: int) -> None:
        info["best"] = {"monitor": monitor, "value": value, "epoch": epoch}

    return [
        AtomicModelCheckpoint(f"{folder}/last.keras", save_best_only=False),
        AtomicModelCheckpoint(
            f"{folder}/best.keras",
            monitor=monitor,
            save_best_only=True,
            initial_value_threshold=best.get("value") if best.get("monitor") == monitor else None,
            on_best=record,
            unmeasured_skipped=True,
        ),
    ]
