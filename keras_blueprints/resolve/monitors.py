"""Checking the metrics a blueprint monitors against those its ``compile:`` section logs.

``train.monitor``, ``tune.objective`` and a callback's ``monitor:`` name a value
Keras logs: ``loss`` and each compiled metric by the name it was written with
(``acc`` logs ``acc``), and the same with ``val_`` in front on validation data. A
monitored name that is not logged but close to one that is (``val_acc`` when the
metric is ``accuracy``) is refused at load, located, with the logged name to use.

Only what is certain is refused: the logged names are known for a single-output
model whose metrics are written as names; a name far from all of them may be logged
by a callback (``learning_rate``) and is left to the run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from keras_blueprints._core.errors import BlueprintError, ErrorCollector, closest
from keras_blueprints.resolve.values import Where

if TYPE_CHECKING:
    from keras_blueprints.resolve.specs import CompileSpec, TrainSpec, TuneSpec

__all__ = ["certain_outputs", "check_monitors", "logged_as_written", "logged_names"]


def logged_names(compile_spec: CompileSpec | None, output_names: Sequence[str]) -> list[str] | None:
    """The names Keras logs while fitting a model compiled as ``compile_spec`` says.

    Args:
        compile_spec: The ``compile:`` section, or None.
        output_names: The model's outputs.

    Returns:
        ``loss``, the metrics' names, and each with ``val_`` in front; None when they
        cannot be told for sure (no compile section, several outputs, a metric
        written as a class, weighted metrics).
    """
    if compile_spec is None or len(output_names) != 1 or compile_spec.weighted_metrics:
        return None
    metrics: Any = compile_spec.metrics
    if metrics is None:
        metrics = ()
    elif isinstance(metrics, str):
        metrics = (metrics,)
    if not isinstance(metrics, Sequence) or not all(
        isinstance(m, str) and m[:1].islower() for m in metrics
    ):
        return None
    train = ["loss", *metrics]
    return [*train, *(f"val_{name}" for name in train)]


def logged_as_written(compile_data: Any, output_names: Sequence[str]) -> list[str] | None:
    """The names Keras will log, read from a ``compile:`` section that failed to resolve.

    A mistake elsewhere in ``compile:`` (an unknown optimizer or loss) does not change
    which metrics are logged, so the monitors can still be checked; only when the
    section's keys are all known and its metrics are all valid names (else a
    monitored name could be refused because of the other mistake).

    Args:
        compile_data: The ``compile:`` section as written.
        output_names: The model's outputs.

    Returns:
        As :func:`logged_names`, or None when they cannot be told for sure.
    """
    if not isinstance(compile_data, Mapping) or len(output_names) != 1:
        return None
    from keras_blueprints.catalog import vocabulary
    from keras_blueprints.resolve.specs import CompileSpec  # pydantic: only with a compile:

    known = set(CompileSpec.model_fields) - {"optimizer_args", "weighted_metrics"}
    if not set(compile_data) <= known:
        return None
    metrics = compile_data.get("metrics") or ()
    if isinstance(metrics, str):
        metrics = (metrics,)
    if not isinstance(metrics, list | tuple) or not all(
        isinstance(m, str) and m[:1].islower() and "$" not in m and vocabulary.accepts("metrics", m)
        for m in metrics
    ):
        return None
    train = ["loss", *metrics]
    return [*train, *(f"val_{name}" for name in train)]


def certain_outputs(data: Mapping[str, Any]) -> list[str] | None:
    """The model's outputs when the graph failed, if their number is certain (one).

    Without ``outputs:`` the model's output is its last node; ``outputs: NAME`` or a
    one-name list is one output too. Which name does not matter: the metrics of a
    one-output model are logged without it.

    Args:
        data: The document's top-level mapping, as written.

    Returns:
        One placeholder name, or None when the model may have several outputs.
    """
    raw = data.get("outputs")
    if raw is None or isinstance(raw, str) or (isinstance(raw, list) and len(raw) == 1):
        return ["output"]
    return None


def _check(name: Any, logged: Sequence[str], w: Where) -> BlueprintError | None:
    if not isinstance(name, str) or name in logged:
        return None
    best = closest(name, logged)
    if not best:
        return None
    return BlueprintError(
        f"'{name}' is not a metric this model logs",
        w.loc,
        path=w.path,
        expected=f"one of: {', '.join(logged)}",
        hint=f"Did you mean '{best[0]}'? Keras logs each metric by the name compile: gives it.",
    )


def check_monitors(
    data: Mapping[str, Any],
    compile_spec: CompileSpec | None,
    output_names: Sequence[str],
    train_spec: TrainSpec | None,
    tune_spec: TuneSpec | None,
    root: Where,
) -> None:
    """Checks ``train.monitor``, ``tune.objective`` and the callbacks' ``monitor:``.

    Only the values written are checked (not defaults), as resolved.

    Args:
        data: The document's top-level mapping, as written.
        compile_spec: The ``compile:`` section, or None (absent, or it failed: the
            section as written in ``data`` then says what is logged).
        output_names: The model's outputs.
        train_spec: The ``train:`` section, or None.
        tune_spec: The ``tune:`` section, or None.
        root: The document's root.

    Raises:
        BlueprintError: Monitored names close to a logged one but not logged (all together).
    """
    logged = (
        logged_names(compile_spec, output_names)
        if compile_spec is not None
        else logged_as_written(data.get("compile"), output_names)
    )
    if logged is None:
        return
    found: list[tuple[Any, Where]] = []
    train = data.get("train")
    if train_spec is not None and isinstance(train, Mapping):
        if "monitor" in train:
            found.append((train_spec.monitor, root / "train" / "monitor"))
        written = train.get("callbacks")
        if isinstance(written, list) and len(written) == len(train_spec.callbacks):
            for i, (item, spec) in enumerate(zip(written, train_spec.callbacks, strict=True)):
                if isinstance(item, Mapping) and len(item) == 1:
                    ((name, args),) = item.items()
                    if isinstance(args, Mapping) and "monitor" in args:
                        where = root / "train" / "callbacks" / i / name / "monitor"
                        found.append((spec.args.get("monitor"), where))
    tune = data.get("tune")
    if tune_spec is not None and isinstance(tune, Mapping) and "objective" in tune:
        found.append((tune_spec.objective, root / "tune" / "objective"))
    errors = ErrorCollector()
    for value, w in found:
        error = _check(value, logged, w)
        if error is not None:
            errors.add(error)
    errors.raise_if_any()
