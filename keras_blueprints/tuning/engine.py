"""keras-tuner's side of a search: the blueprint hypermodel and the tuners.

Imported only when a search runs (it imports keras-tuner, hence TensorFlow).

* :class:`BlueprintHyperModel`: ``build(hp)`` resolves the blueprint with a
  :class:`~keras_blueprints.tuning.provider.HyperParametersProvider` and builds
  it with the very builder of ``keras_blueprints.build``; ``fit`` trains it on the
  blueprint's data as its ``train:`` section says. A trial that fails to build
  or diverges raises :class:`TrialFailed` (a ``TrialError`` and keras-tuner's
  ``FailedTrialError``) with its reason: the trial is recorded as failed and the
  search goes on; a problem of the whole search raises :class:`SearchStopped`.
* :func:`make_tuner`: the strategies (random, grid, Bayesian, Hyperband) are
  keras-tuner's own; a small mixin adds the bookkeeping of each trial (seconds,
  reason of a failure) and a hook called after every trial, and
  :class:`~keras_blueprints.tuning.distributed.ChiefSearch` the chief's own server
  of a distributed search.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import keras
import keras_tuner as kt

from keras_blueprints._compat.keras_tuner import (
    oracle_state_file,
    replace_oracle_writers,
    tracebacks_shown,
    tuner_state_file,
)
from keras_blueprints._core.errors import (
    BlueprintError,
    KerasBlueprintsError,
    SearchError,
    TrialError,
    report,
)
from keras_blueprints._core.files import atomic_write_json, atomic_write_text
from keras_blueprints.api import Overrides, load
from keras_blueprints.resolve.schema import Blueprint, DataSpec, TrainSpec, TuneSpec
from keras_blueprints.resolve.spaces import Space
from keras_blueprints.tuning.distributed import ChiefSearch, is_worker
from keras_blueprints.tuning.provider import HyperParametersProvider

__all__ = [
    "OUTCOME_FILE",
    "ZERO_SEED",
    "BlueprintHyperModel",
    "SearchStopped",
    "TrialFailed",
    "make_tuner",
    "oracle_seed",
]

OUTCOME_FILE = "outcome.json"
"""Written in each trial's folder by the process that ran it: seconds, failure reason and
the epochs it ran."""


class SearchStopped(SearchError, kt.errors.FatalError):
    """A problem of the whole search, not of one trial: keras-tuner stops the search.

    Attributes:
        error: The located cause, which the search raises once it has stopped.
    """

    def __init__(self, error: BlueprintError) -> None:
        super().__init__(
            error.message,
            error.location,
            expected=error.expected,
            received=error.received,
            hint=error.hint,
            context=error.context,
        )
        self.error = error


class TrialFailed(TrialError, kt.errors.FailedTrialError):
    """One trial failed (its ``message`` is the reason): keras-tuner records it, goes on."""


def one_line(error: BaseException) -> str:
    """A failure's reason on one line (an error's location and message first)."""
    text = report(error) if isinstance(error, KerasBlueprintsError) else str(error)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " ".join(lines) or type(error).__name__


class BlueprintHyperModel(kt.HyperModel):
    """Builds and trains one trial's model from the blueprint and the trial's values.

    Args:
        source: The blueprint (anything :func:`keras_blueprints.load` accepts).
        overrides: Overrides applied before resolving it.
        tune: The search's ``tune:`` section.
        base_dir: Where the data's relative paths start.
        allow_read: Folders the blueprint's data paths may be read below, besides its
            own folder and the current directory (``--allow-read``).
        verbose: Keras' ``fit`` verbosity inside trials.
        extra_callbacks: Further Keras callbacks for every trial's ``fit``.

    Attributes:
        spaces: Every search space met so far, by hyperparameter name.
        exploring: True while keras-tuner discovers the search space (then
            ``build`` only resolves the blueprint: it builds no model).
        trial_dir: The folder of the trial being run (set by the tuner).
    """

    def __init__(
        self,
        source: Any,
        overrides: Overrides,
        *,
        tune: TuneSpec,
        base_dir: Path,
        allow_read: Iterable[str | Path] = (),
        verbose: int | str = 0,
        extra_callbacks: Iterable[keras.callbacks.Callback] = (),
    ) -> None:
        super().__init__(name="blueprint", tunable=True)
        self.source = source
        self.overrides = list(overrides)
        self.tune = tune
        self.base_dir = base_dir
        self.allow_read = tuple(str(p) for p in allow_read)
        self.verbose = verbose
        self.extra_callbacks = list(extra_callbacks)
        self.spaces: dict[str, Space] = {}
        self.exploring = False
        self.trial_dir: Path | None = None
        self._blueprint: Blueprint | None = None
        self._data: dict[tuple, Any] = {}

    # -- building ---------------------------------------------------------------------
    def resolve(self, hp: kt.HyperParameters) -> tuple[Blueprint, HyperParametersProvider]:
        """Resolves the blueprint with the values of ``hp`` (declaring new spaces in it).

        Raises:
            BlueprintError: The combination of values makes an invalid blueprint.
        """
        provider = HyperParametersProvider(hp)
        try:
            bp = load(self.source, self.overrides, provider=provider, allow_read=self.allow_read)
        finally:
            self.spaces.update({name: space for name, (space, _) in provider.spaces.items()})
        return bp, provider

    def build(self, hp: kt.HyperParameters) -> keras.Model | None:
        """Builds the trial's model in a clean, seeded session (None while exploring).

        Raises:
            TrialFailed: The values make a blueprint that does not resolve or build.
        """
        if self.exploring:
            with contextlib.suppress(BlueprintError):  # its trial will report it
                self.resolve(hp)
            return None
        from keras_blueprints.builders.model import build_model
        from keras_blueprints.training.run import seed_everything

        keras.backend.clear_session()
        try:
            bp, _ = self.resolve(hp)
            train = bp.train or TrainSpec()
            seed_everything(train.seed, deterministic=train.deterministic)
            model = build_model(bp, compile=True)
        except BlueprintError as err:
            raise TrialFailed(f"build failed: {one_line(err)}") from err
        # Optimizer variables now, so that a checkpoint (weights and optimizer state) loads
        # into the model: Hyperband continues the models of its previous round from theirs.
        model.optimizer.build(model.trainable_variables)
        self._blueprint = bp
        return model

    # -- training ---------------------------------------------------------------------
    def fit(self, hp: kt.HyperParameters, model: keras.Model, *args: Any, **kwargs: Any) -> Any:
        """Trains the trial's model on the blueprint's data.

        Epochs come from ``tune.epochs``, else ``train.epochs`` (Hyperband passes
        its own); ``tune.patience`` stops a trial early when the objective stops
        improving; the blueprint's own ``train.callbacks`` run too.

        Returns:
            The Keras ``History``.

        Raises:
            TrialFailed: The data does not fit this trial's model, or the loss
                (or the objective) became NaN or infinite.
            SearchStopped: The objective is not among the metrics training logs.
        """
        from keras_blueprints.training.fit import fit_blueprint

        bp = self._blueprint
        train = bp.train or TrainSpec()
        try:
            datasets = self.datasets(bp, model)
        except BlueprintError as err:
            raise TrialFailed(f"data: {one_line(err)}") from err
        guard = _Divergence()
        after = []
        if self.tune.patience:
            after.append(
                keras.callbacks.EarlyStopping(
                    monitor=self.tune.objective,
                    mode=self.tune.direction,
                    patience=self.tune.patience,
                )
            )
        try:
            history = fit_blueprint(
                model,
                bp,
                datasets,
                run_dir=self.trial_dir or Path("."),
                epochs=kwargs.pop("epochs", None) or self.tune.epochs or train.epochs,
                callbacks_before=[guard, *kwargs.pop("callbacks", [])],  # keras-tuner's own
                callbacks_extra=[*after, *self.extra_callbacks],
                verbose=self.verbose,
                **kwargs,
            )
        except BlueprintError as err:  # a callback refused its arguments: before any epoch
            raise kt.errors.FailedTrialError(f"data: {one_line(err)}") from err
        if guard.reason:
            raise TrialFailed(guard.reason)
        logged = history.history
        if self.tune.objective not in logged:
            raise SearchStopped(
                BlueprintError(
                    f"the objective '{self.tune.objective}' is not a metric that training logs",
                    self.tune.location,
                    expected="one of: " + ", ".join(sorted(logged)),
                    hint="Validation metrics (val_...) need validation data: "
                    "data: {validation: 0.1}.",
                )
            )
        values = logged[self.tune.objective]
        if not any(math.isfinite(float(v)) for v in values):
            raise TrialFailed(f"diverged: the objective {self.tune.objective} is {values[-1]}")
        return history

    def datasets(self, bp: Blueprint, model: keras.Model) -> Any:
        """The data pipelines, built once per input signature and reused by later trials.

        Raises:
            BlueprintError: The data does not fit the model.
        """
        from keras_blueprints.data import make_datasets

        train = bp.train or TrainSpec()
        key = (
            repr(bp.inputs),
            repr(bp.data),
            train.seed,
            tuple(tuple(o.shape) for o in model.outputs),
        )
        if key not in self._data:
            self._data[key] = make_datasets(
                bp, bp.data or DataSpec(), base_dir=self.base_dir, seed=train.seed, model=model
            )
        return self._data[key]


class _Divergence(keras.callbacks.Callback):
    """Stops a trial at the first batch whose loss is NaN or infinite, and says where."""

    def __init__(self) -> None:
        super().__init__()
        self.reason: str | None = None
        self.epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)) and self.reason is None:
            self.reason = (
                f"diverged: the loss became {float(loss)} at epoch {self.epoch + 1}, "
                f"batch {batch + 1}"
            )
            self.model.stop_training = True


# -- tuners -------------------------------------------------------------------------------

_STRATEGIES: dict[str, Callable[[], type]] = {
    "random": lambda: kt.RandomSearch,
    "grid": lambda: kt.GridSearch,
    "bayesian": lambda: kt.BayesianOptimization,
    "hyperband": lambda: kt.Hyperband,
}
"""The tuners ``tune.tuner`` names (the resolver checks the name at load time)."""


def _epochs_run(result: Any) -> int | None:
    """Epochs a trial ran, from what keras-tuner's ``run_trial`` returns (Histories)."""
    histories = result if isinstance(result, list | tuple) else [result]
    counts = [
        max((len(v) for v in h.history.values()), default=0)
        for h in histories
        if isinstance(getattr(h, "history", None), dict)
    ]
    return max(counts) if counts else None


class _Bookkeeping:
    """Mixed into a keras-tuner tuner: times each trial, keeps its reason, reports after it."""

    after_trial: Callable[[Any], None] | None = None

    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
        folder = Path(self.get_trial_dir(trial.trial_id))
        self.hypermodel.trial_dir = folder
        started = time.monotonic()
        reason, epochs = None, None
        try:
            result = super().run_trial(trial, *args, **kwargs)
            epochs = _epochs_run(result)
            return result
        except Exception as exc:
            reason = (
                exc.message
                if isinstance(exc, TrialError)
                else str(exc)
                if isinstance(exc, kt.errors.FailedTrialError)
                else one_line(exc)
            )
            raise
        finally:
            atomic_write_json(
                folder / OUTCOME_FILE,
                {
                    "seconds": round(time.monotonic() - started, 3),
                    "reason": reason,
                    "epochs": epochs,
                },
            )

    def on_trial_end(self, trial: Any) -> None:
        super().on_trial_end(trial)
        if self.after_trial is not None and not is_worker(self):
            self.after_trial(self)

    def save(self) -> None:
        """Writes the oracle and tuner state files atomically (as :func:`_atomic_state`)."""
        if not is_worker(self):
            _write_state(self.oracle, oracle_state_file(self.oracle))
        _write_state(self, tuner_state_file(self))


def _write_state(stateful: Any, fname: str) -> None:
    atomic_write_text(fname, json.dumps(stateful.get_state()))


def _atomic_state(tuner: Any) -> None:
    """Makes keras-tuner write ``oracle.json`` and each ``trial.json`` atomically.

    keras-tuner (checked with 1.4.8) rewrites them in place
    (``Stateful.save``), so a search killed during a write leaves a truncated
    JSON file no ``--resume`` can reload. The oracle's two writers, ``save`` and
    ``_save_trial``, are replaced on this tuner's oracle by writers that move a
    complete file into place (:func:`~keras_blueprints._compat.keras_tuner.replace_oracle_writers`).
    A distributed worker's oracle is the chief's
    (a client): it writes nothing here.
    """
    oracle = tuner.oracle
    if is_worker(tuner):
        return

    def save() -> None:
        _write_state(oracle, oracle_state_file(oracle))

    def save_trial(trial: Any) -> None:
        _write_state(trial, str(Path(tuner.get_trial_dir(trial.trial_id)) / "trial.json"))

    replace_oracle_writers(oracle, save, save_trial)


ZERO_SEED = 2**32 - 1
"""keras-tuner's seed for ``tune.seed: 0`` (see :func:`oracle_seed`)."""


def oracle_seed(seed: int) -> int:
    """keras-tuner's seed for a ``tune.seed``: the same seed, so the same trials, every time.

    keras-tuner's oracle reads a false seed as "none" (``seed or random.randint(...)``),
    so ``seed: 0`` (the default) would try different trials in every search; 0 is
    given as :data:`ZERO_SEED` instead. Seeds are also brought below 2**32, the
    largest NumPy's ``RandomState`` (the Bayesian oracle's) takes. Every other seed
    in 1 .. 2**32 - 2 is passed unchanged.

    Args:
        seed: ``tune.seed`` (a non-negative integer).

    Returns:
        A seed in 1 .. 2**32 - 1.
    """
    return seed % ZERO_SEED or ZERO_SEED


def make_tuner(
    hypermodel: BlueprintHyperModel,
    spec: TuneSpec,
    directory: Path,
    project_name: str,
    *,
    after_trial: Callable[[Any], None] | None = None,
) -> Any:
    """Creates (or reloads, when ``directory`` holds a search) the tuner ``spec`` names.

    Args:
        hypermodel: The blueprint's hypermodel.
        spec: The ``tune:`` section.
        directory: The search's run directory.
        project_name: keras-tuner's folder inside it.
        after_trial: Called with the tuner after every trial (results, plots).

    Returns:
        The tuner; its oracle already knows the whole search space.
    """
    base = _STRATEGIES[spec.tuner]()
    bases = (_Bookkeeping, ChiefSearch, base)  # ChiefSearch: a distributed chief's own server
    cls = type(f"Blueprint{base.__name__}", bases, {"after_trial": after_trial})
    common: dict[str, Any] = {
        "hypermodel": hypermodel,
        "objective": kt.Objective(spec.objective, spec.direction),
        "seed": oracle_seed(spec.seed),
        "executions_per_trial": spec.executions_per_trial,
        "directory": str(directory),
        "project_name": project_name,
        "overwrite": False,
        "max_consecutive_failed_trials": 10**6,  # failed trials never stop the search
    }
    if spec.tuner == "hyperband":
        common.update(max_epochs=spec.max_epochs, factor=spec.factor)
    else:
        common["max_trials"] = spec.max_trials
    hypermodel.exploring = True
    try:
        tuner = cls(**common)
    finally:
        hypermodel.exploring = False
    _atomic_state(tuner)
    return tuner


@contextlib.contextmanager
def tracebacks(shown: bool) -> Iterator[None]:
    """Whether keras-tuner prints the traceback of each failed trial (it does by default).

    The reason of a failure is in ``trials.csv`` and its traceback in the trial's
    ``trial.json`` either way; the setting is restored on the way out.
    """
    with tracebacks_shown(shown):
        yield


def read_outcome(folder: Path) -> dict[str, Any]:
    """A trial's ``outcome.json`` (empty when the trial has not finished)."""
    try:
        return dict(json.loads((folder / OUTCOME_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def failure_reason(message: str | None) -> str:
    """The reason of a failed trial from keras-tuner's message (the last traceback line)."""
    lines = [line for line in (message or "").splitlines() if line.strip()]
    if not lines:
        return ""
    last = lines[-1]
    head, sep, rest = last.partition(": ")
    return rest if sep and "Error" in head else last


def strategies() -> Sequence[str]:
    """The tuner names."""
    return tuple(_STRATEGIES)
