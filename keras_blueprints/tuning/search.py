"""Searching a blueprint's spaces: :func:`tune` and :func:`resume_search`.

A search runs keras-tuner's own engine over
:class:`~keras_blueprints.tuning.engine.BlueprintHyperModel`, whose trials build
through the builder ``keras_blueprints.build``. Its run directory::

    RUN_DIR/
      search.json        how the search was started, its status, counts and best trial
      trials.csv         trial, status, every hyperparameter (empty when inactive),
                         objective, seconds, reason of a failure
      best.yaml          the blueprint with the best values, no search space left
      best.keras         the best trial's model with its best epoch's weights
      plots/objective.png  objective against trial, with the best-so-far line
      source.yaml        the blueprint text, when it was given as text
      search/            keras-tuner's oracle, trials and checkpoints (trial_ID/)

``trials.csv``, the plot and ``search.json`` are rewritten atomically after
every trial. keras-tuner saves its oracle before and after every trial, so a
search killed at any point continues with :func:`resume_search`
(``blueprint tune --resume DIR``): finished trials are kept, the interrupted
one runs again with the same values, and the search goes on to its end.

One process at a time writes a search: it holds an flock on ``search.lock``
inside the directory (:mod:`keras_blueprints.training.lock`; in a distributed
search, the chief), so a second ``--resume`` is refused with the holder's PID.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keras_blueprints._core.errors import BlueprintError, Location, RunError, SearchError
from keras_blueprints._core.files import atomic_path, atomic_write_json, atomic_write_text
from keras_blueprints.api import Overrides, load
from keras_blueprints.resolve.schema import Blueprint, TuneSpec
from keras_blueprints.resolve.spaces import DefaultProvider, ValuesProvider
from keras_blueprints.training.lock import holding, remove_stale_temporaries
from keras_blueprints.training.preflight import check_trainable
from keras_blueprints.training.rundir import IMPORTS_KEY, RunDir, default_run_dir
from keras_blueprints.tuning.results import TrialRow, format_table, plot_objective, write_csv
from keras_blueprints.views.plain import dump

if TYPE_CHECKING:
    import keras

__all__ = [
    "BEST_MODEL",
    "BEST_YAML",
    "PLOT_FILE",
    "PROJECT",
    "SEARCH_FILE",
    "TRIALS_CSV",
    "TuneResult",
    "resume_search",
    "tune",
]

SEARCH_FILE = "search.json"
TRIALS_CSV = "trials.csv"
BEST_YAML = "best.yaml"
BEST_MODEL = "best.keras"
PLOT_FILE = "plots/objective.png"
SOURCE_COPY = "source.yaml"
PROJECT = "search"
SEARCH_LOCK = "search.lock"
CHECKPOINT = "checkpoint.weights.h5"
"""keras-tuner's best-epoch weights in each trial folder (Keras 3)."""


@dataclass(frozen=True)
class TuneResult:
    """What a finished search returns.

    Attributes:
        run_dir: The search's run directory.
        best_trial: keras-tuner's id of the best trial.
        best_values: Its hyperparameter values (active ones), as the blueprint uses them.
        best_objective: Its objective value.
        blueprint: The blueprint with the best values (what ``best.yaml`` holds).
        model: The best trial's model, weights of its best epoch.
        trials: Every trial, in order.
        metrics: The best model's metrics on the validation and test data.
    """

    run_dir: Path
    best_trial: str
    best_values: dict[str, Any]
    best_objective: float
    blueprint: Blueprint
    model: keras.Model
    trials: list[TrialRow]
    metrics: dict[str, dict[str, float]]


TENSORBOARD_DIR = "tensorboard"
"""Where ``blueprint tune --tensorboard`` writes its logs, inside the search directory."""


def tune(
    source: str | Path,
    overrides: Overrides = (),
    *,
    run_dir: str | Path | None = None,
    resume: bool = False,
    tuner: str | None = None,
    max_trials: int | None = None,
    epochs: int | None = None,
    verbose: int = 1,
    extra_callbacks: Iterable[keras.callbacks.Callback] = (),
    allow_read: Iterable[str | Path] = (),
    imports: Sequence[str] = (),
    tensorboard: bool = False,
) -> TuneResult | None:
    """Searches the blueprint's spaces as its ``tune:`` section says.

    Args:
        source: A blueprint file, ``zoo:NAME`` or YAML text, with search spaces.
        overrides: Overrides applied before resolving (``"data.source=digits"``...).
        run_dir: The search's directory (default ``runs/NAME-tune-TIMESTAMP``); must
            be new or empty unless ``resume``.
        resume: Continue the search already in ``run_dir`` if there is one (it must
            have been started with the same blueprint and overrides).
        tuner: Overrides ``tune.tuner`` (``random``, ``grid``, ``bayesian``, ``hyperband``).
        max_trials: Overrides ``tune.max_trials``.
        epochs: Overrides ``tune.epochs`` (Hyperband: ``tune.max_epochs``).
        verbose: 0 silent; 1 keras-tuner's report of each trial and the final
            table; 2 also one line per epoch.
        extra_callbacks: Further Keras callbacks for every trial (from Python).
        allow_read: Folders the blueprint's data paths may be read below, besides its
            own folder and the current directory (kept for resuming).
        imports: The modules the command line imported for the blueprint's components
            (``--import``), kept in ``search.json``: resuming the search and exporting
            its best model ask for them again (a search directory never imports them).
        tensorboard: Write TensorBoard logs with keras-tuner's HParams (each trial's
            hyperparameters and scores) to ``tensorboard/`` in the search directory, so
            searches can be compared in TensorBoard's HParams tab (kept for resuming).

    Returns:
        The result; None in a distributed worker (the chief gathers the results).

    Raises:
        BlueprintError: A problem in the blueprint or its data.
        RunError: A run directory that exists and is not empty.
        SearchError: A search in which no trial finished.
    """
    overrides = list(overrides)
    allow_read = [str(Path(p).expanduser().resolve()) for p in allow_read]
    if tuner is not None:
        overrides.append(("tune.tuner", tuner))
    if max_trials is not None:
        overrides.append(("tune.max_trials", max_trials))
    if epochs is not None:
        kind = tuner or (load(source, overrides, allow_read=allow_read).tune or TuneSpec()).tuner
        overrides.append(("tune.max_epochs" if kind == "hyperband" else "tune.epochs", epochs))
    stored = _encode_overrides(overrides)
    if resume and run_dir is not None and (Path(run_dir) / SEARCH_FILE).is_file():
        state = _read_state(RunDir(run_dir))
        if state.get("overrides") != stored or state.get("given") != _given(source):
            raise RunError(
                f"the search in '{run_dir}' was started with another blueprint or overrides",
                run_dir,
                expected=f"{state.get('given')} with {state.get('overrides')}",
                received=f"{_given(source)} with {stored}",
                hint=f"Continue it as it was started: blueprint tune --resume {run_dir}",
            )
        return resume_search(run_dir, verbose=verbose, extra_callbacks=extra_callbacks)
    found = DefaultProvider()  # records the spaces the blueprint has
    bp = load(source, overrides, provider=found, allow_read=allow_read)
    check_trainable(bp, "a search", compiled=True)
    if not found.seen:
        raise BlueprintError(
            "a search needs at least one search space, and this blueprint has none",
            (bp.tune.location if bp.tune is not None else None) or Location(bp.source, 1, 1),
            expected="a value written as a space: {choice: [...]}, {int: [min, max]} or"
            " {float: [min, max]}",
            hint="Write one where the value stands, e.g.  params: {units: {choice: [64, 128]}}"
            " (zoo:mlp_search searches zoo:mlp; docs/tuning.md). To train the blueprint as it"
            " is: blueprint train.",
        )
    run = RunDir(run_dir if run_dir is not None else default_run_dir(f"{bp.name}-tune"))
    run.create()
    is_file = not str(source).startswith("zoo:") and _is_file(source)
    if is_file:
        stored_source = str(Path(source).resolve())
        base_dir = Path(source).resolve().parent
    elif str(source).startswith("zoo:"):
        stored_source, base_dir = str(source), Path.cwd()
    else:
        atomic_write_text(run / SOURCE_COPY, str(source))
        stored_source, base_dir = str((run / SOURCE_COPY).resolve()), Path.cwd()
    state = {
        "status": "running",
        "given": _given(source),
        "source": stored_source,
        "overrides": stored,
        "base_dir": str(base_dir),
        "allow_read": allow_read,
        IMPORTS_KEY: list(imports),
        "tensorboard": bool(tensorboard),
        "started": _now(),
    }
    with _locked(run):
        atomic_write_json(run / SEARCH_FILE, state)
        return _search(run, state, verbose=verbose, extra_callbacks=extra_callbacks)


def resume_search(
    run_dir: str | Path,
    *,
    verbose: int = 1,
    extra_callbacks: Iterable[keras.callbacks.Callback] = (),
) -> TuneResult | None:
    """Continues an interrupted search: finished trials are kept, not run again.

    Args:
        run_dir: A search directory written by :func:`tune`.
        verbose: As for :func:`tune`.
        extra_callbacks: Further Keras callbacks for every trial.

    Returns:
        The result of the whole search (None in a distributed worker).

    Raises:
        RunError: Not a search directory, a search that is already complete, or
            one another process is running (the directory is locked).
    """
    run = RunDir(run_dir)
    _read_state(run)  # a search directory at all? (before creating a lock file in it)
    with _locked(run):
        return _resume_locked(run, verbose=verbose, extra_callbacks=extra_callbacks)


def _resume_locked(
    run: RunDir,
    *,
    verbose: int,
    extra_callbacks: Iterable[keras.callbacks.Callback],
) -> TuneResult | None:
    state = _read_state(run)  # again: the lock's previous holder may have changed it
    if state.get("status") == "completed":
        raise RunError(
            f"the search in '{run.path}' is already complete "
            f"({state.get('counts', {}).get('trials', '?')} trials)",
            run.path,
            hint=f"Its best blueprint is {run.path / BEST_YAML}; start a new search to go on.",
        )
    state["status"] = "running"
    state.setdefault("resumed", []).append(_now())
    atomic_write_json(run / SEARCH_FILE, state)
    return _search(run, state, verbose=verbose, extra_callbacks=extra_callbacks)


# -- the search ---------------------------------------------------------------------------


def _search(
    run: RunDir,
    state: dict[str, Any],
    *,
    verbose: int,
    extra_callbacks: Iterable[keras.callbacks.Callback],
) -> TuneResult | None:
    from keras_blueprints.tuning.distributed import is_worker
    from keras_blueprints.tuning.engine import (
        BlueprintHyperModel,
        SearchStopped,
        make_tuner,
        tracebacks,
    )

    source, overrides = state["source"], _decode_overrides(state["overrides"])
    allow_read = state.get("allow_read", ())
    bp = load(source, overrides, allow_read=allow_read)
    check_trainable(bp, "a search", compiled=True)
    spec = bp.tune or TuneSpec()
    hypermodel = BlueprintHyperModel(
        source,
        overrides,
        tune=spec,
        base_dir=Path(state["base_dir"]),
        allow_read=allow_read,
        verbose=2 if verbose >= 2 else 0,
        extra_callbacks=extra_callbacks,
    )
    report = _Report(run, state, spec, hypermodel, progress=bool(verbose))
    quiet = contextlib.redirect_stdout(io.StringIO()) if verbose == 0 else contextlib.nullcontext()
    with quiet:
        tuner = make_tuner(hypermodel, spec, run.path, PROJECT, after_trial=report)
    # keras-tuner's own display counts trials from 1 ("Trial #1"), its ids from 0: the
    # report prints one line per trial instead, by the id its folder and trials.csv use.
    tuner.oracle.verbose = 0
    try:
        with quiet, tracebacks(verbose >= 2):
            tuner.search(callbacks=_tensorboard(run) if state.get("tensorboard") else [])
    except SearchStopped as stop:
        state["status"] = "stopped"
        atomic_write_json(run / SEARCH_FILE, state)
        raise stop.error from None
    if is_worker(tuner):
        return None
    return _finish(tuner, report, verbose=verbose)


def _tensorboard(run: RunDir) -> list[keras.callbacks.Callback]:
    """A TensorBoard callback logging inside the search directory.

    keras-tuner gives each trial its own folder under it and adds its HParams callback
    (the trial's hyperparameters beside its metrics) to every TensorBoard callback of
    ``search``.
    """
    import keras

    return [keras.callbacks.TensorBoard(log_dir=str(run.path / TENSORBOARD_DIR))]


class _Report:
    """Rewrites trials.csv, the plot and search.json from the tuner's trials."""

    def __init__(
        self,
        run: RunDir,
        state: dict[str, Any],
        spec: TuneSpec,
        hypermodel,
        *,
        progress: bool = False,
    ) -> None:
        self.run = run
        self.state = state
        self.spec = spec
        self.hypermodel = hypermodel
        self.progress = progress
        self._values: dict[str, dict[str, Any]] = {}
        self._shown: set[str] = set()

    def rows(self, tuner) -> list[TrialRow]:
        from keras_blueprints.tuning.engine import failure_reason, read_outcome

        out = []
        trials = sorted(tuner.oracle.trials.values(), key=lambda t: int(t.trial_id))
        for trial in trials:
            status = str(trial.status)
            values = self._values.get(trial.trial_id)
            if values is None:
                values = self.values_of(trial.hyperparameters)
                if status not in ("RUNNING", "IDLE"):
                    self._values[trial.trial_id] = values
            outcome = read_outcome(Path(tuner.get_trial_dir(trial.trial_id)))
            failed = status in ("FAILED", "INVALID")
            reason = (outcome.get("reason") or failure_reason(trial.message)) if failed else ""
            out.append(
                TrialRow(
                    trial=trial.trial_id,
                    status=status,
                    values=values,
                    objective=(
                        float(trial.score)
                        if status == "COMPLETED" and trial.score is not None
                        else None
                    ),
                    seconds=outcome.get("seconds"),
                    reason=reason or "",
                )
            )
        return out

    def values_of(self, hp) -> dict[str, Any]:
        """A trial's values as the blueprint uses them (a resolution, no model built)."""
        from keras_blueprints.tuning.provider import HyperParametersProvider

        provider = HyperParametersProvider(hp.copy())
        with contextlib.suppress(BlueprintError):
            load(
                self.hypermodel.source,
                self.hypermodel.overrides,
                provider=provider,
                allow_read=self.hypermodel.allow_read,
            )
        self.hypermodel.spaces.update({n: s for n, (s, _) in provider.spaces.items()})
        return dict(provider.chosen)

    def __call__(self, tuner) -> list[TrialRow]:
        rows = self.rows(tuner)
        names = list(self.hypermodel.spaces)
        write_csv(rows, self.run / TRIALS_CSV, names)
        plot_objective(rows, self.spec.objective, self.spec.direction, self.run / PLOT_FILE)
        statuses = [r.status for r in rows]
        self.state["counts"] = {
            "trials": len(rows),
            "completed": statuses.count("COMPLETED"),
            "failed": statuses.count("FAILED") + statuses.count("INVALID"),
        }
        self.state["spec"] = {
            k: getattr(self.spec, k) for k in type(self.spec).model_fields if k != "location"
        }
        atomic_write_json(self.run / SEARCH_FILE, self.state)
        if self.progress:
            for line in progress_lines(rows, self._shown, self.spec, tuner):
                print(line, flush=True)
        return rows


def progress_lines(rows: list[TrialRow], shown: set[str], spec: TuneSpec, tuner=None) -> list[str]:
    """One line per trial finished since the last call (its id added to ``shown``).

    ``trial 03 (4 of 10) COMPLETED in 2.1 s, 12 epochs: width=64, lr=0.001 -> val_accuracy
    0.9236; best so far 0.9312 (trial 01)``: the id is keras-tuner's trial id, as in
    ``trials.csv``, ``search/trial_ID`` and the best trial's report.

    Args:
        rows: Every trial so far (:meth:`_Report.rows`).
        shown: Ids already printed; updated.
        spec: The ``tune:`` section (objective, direction, max_trials).
        tuner: The tuner, for the epochs each trial ran (optional).

    Returns:
        The new lines.
    """
    lines = []
    done = [r for r in rows if r.status not in ("RUNNING", "IDLE")]
    scored = [r for r in done if r.objective is not None]
    pick = min if spec.direction == "min" else max
    for position, row in enumerate(rows, start=1):
        if row.trial in shown or row.status in ("RUNNING", "IDLE"):
            continue
        shown.add(row.trial)
        values = ", ".join(f"{k}={_short(v)}" for k, v in row.values.items())
        took = f" in {row.seconds:.1f} s" if row.seconds is not None else ""
        epochs = _epochs(tuner, row.trial)
        took += f", {epochs} epoch(s)" if epochs else ""
        line = f"trial {row.trial} ({position} of {spec.max_trials}) {row.status}{took}: {values}"
        if row.objective is not None:
            line += f" -> {spec.objective} {row.objective:.4g}"
        elif row.reason:
            line += f" ({row.reason})"
        upto = [r for r in scored if int(r.trial) <= int(row.trial)]
        if upto:
            best = pick(upto, key=lambda r: r.objective)
            line += f"; best so far {best.objective:.4g} (trial {best.trial})"
        lines.append(line)
    return lines


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _epochs(tuner, trial_id: str) -> int | None:
    from keras_blueprints.tuning.engine import read_outcome

    if tuner is None:
        return None
    epochs = read_outcome(Path(tuner.get_trial_dir(trial_id))).get("epochs")
    return epochs if isinstance(epochs, int) else None


def _finish(tuner, report: _Report, *, verbose: int) -> TuneResult:
    import keras

    from keras_blueprints.builders.model import build_model

    run, state = report.run, report.state
    rows = report(tuner)
    completed = [r for r in rows if r.status == "COMPLETED" and r.objective is not None]
    if not completed:
        state["status"] = "failed"
        atomic_write_json(run / SEARCH_FILE, state)
        raise SearchError(
            f"no trial of the search finished: {len(rows)} trial(s), all failed",
            str(run.path),
            hint=f"The reasons are in {run / TRIALS_CSV}.",
        )
    (best_trial,) = tuner.oracle.get_best_trials(1)
    best = next(r for r in rows if r.trial == best_trial.trial_id)
    hm = report.hypermodel
    blueprint = load(
        hm.source, hm.overrides, provider=ValuesProvider(best.values), allow_read=hm.allow_read
    )
    atomic_write_text(run / BEST_YAML, dump(blueprint))
    # The best model: built from best.yaml (so the file is checked to rebuild the very
    # architecture), with the weights keras-tuner kept from the trial's best epoch.
    keras.backend.clear_session()
    rebuilt = load(run / BEST_YAML, allow_read=hm.allow_read, base_dir=hm.base_dir)
    model = build_model(rebuilt, compile=True)
    model.optimizer.build(model.trainable_variables)  # the checkpoint holds its state too
    model.load_weights(Path(tuner.get_trial_dir(best_trial.trial_id)) / CHECKPOINT)
    with atomic_path(run / BEST_MODEL) as tmp:
        model.save(tmp)
    datasets = hm.datasets(rebuilt, model)
    metrics = {}
    for split in ("validation", "test"):
        data = getattr(datasets, split)
        if data is not None:
            scores = model.evaluate(data, verbose=0, return_dict=True)
            metrics[split] = {k: float(v) for k, v in scores.items()}
    state.update(
        status="completed",
        finished=_now(),
        best={"trial": best.trial, "values": best.values, "objective": best.objective},
        metrics=metrics,
    )
    atomic_write_json(run / SEARCH_FILE, state)
    if verbose:
        print(format_table(rows, list(hm.spaces)))
    return TuneResult(
        run_dir=run.path,
        best_trial=best.trial,
        best_values=dict(best.values),
        best_objective=float(best.objective),
        blueprint=blueprint,
        model=model,
        trials=rows,
        metrics=metrics,
    )


# -- helpers ------------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(run: RunDir):
    """Holds the search directory's lock; a distributed search's workers share the chief's."""
    if os.environ.get("KERASTUNER_ORACLE_IP") and os.environ.get("KERASTUNER_TUNER_ID") not in (
        None,
        "chief",
    ):
        yield  # a worker: the chief holds the lock, and this process writes its trials
        return
    with holding(run.path, SEARCH_LOCK, "search"):
        if not os.environ.get("KERASTUNER_ORACLE_IP"):  # no worker can be writing now
            remove_stale_temporaries(run.path)
        yield


def _read_state(run: RunDir) -> dict[str, Any]:
    file = run / SEARCH_FILE
    if not file.is_file():
        raise RunError(
            f"'{run.path}' is not a search directory",
            run.path,
            expected=f"a directory written by 'blueprint tune' (with {SEARCH_FILE})",
            received="no such directory" if not run.path.exists() else f"no {SEARCH_FILE} in it",
        )
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunError(f"cannot read {file}: {exc}", file) from exc
    if not isinstance(data, dict) or "source" not in data:
        raise RunError(f"{file} is damaged", file)
    return data


def _is_file(source: Any) -> bool:
    text = str(source)
    if "\n" in text or len(text) > 4096:
        return False
    try:
        return Path(text).is_file()
    except OSError:
        return False


def _given(source: Any) -> str:
    """How the blueprint was given, to recognise it when a search is resumed."""
    if str(source).startswith("zoo:") or not _is_file(source):
        return str(source)
    return str(Path(source).resolve())


def _encode_overrides(overrides: Iterable[str | tuple[str, Any]]) -> list[Any]:
    return [o if isinstance(o, str) else [o[0], o[1]] for o in overrides]


def _decode_overrides(stored: Iterable[Any]) -> list[str | tuple[str, Any]]:
    return [o if isinstance(o, str) else (o[0], o[1]) for o in stored]


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
