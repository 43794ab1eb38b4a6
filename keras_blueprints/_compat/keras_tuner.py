"""The keras-tuner internals keras-blueprints relies on (checked against keras-tuner 1.4.8).

keras-tuner's public extension points (``Oracle``/``Tuner`` subclasses,
``run_trial``, callbacks) cover the search itself; what they do not cover is
below, each function naming the internal it touches. setup.cfg caps
``keras-tuner`` below 1.5 so that a release that moves one is checked here
before it is installed. Import this module only where keras-tuner is already
needed: it imports keras-tuner (hence TensorFlow).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from typing import Any

__all__ = [
    "add_oracle_servicer",
    "client_timeout",
    "nested_condition",
    "oracle_servicer_class",
    "oracle_state_file",
    "replace_oracle_writers",
    "tracebacks_shown",
    "tuner_state_file",
]


@contextlib.contextmanager
def _replaced(owner: Any, name: str, value: Any) -> Iterator[None]:
    saved = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, saved)


# ---------------------------------------------------------------- tuner and oracle state


def tuner_state_file(tuner: Any) -> str:
    """The file keras-tuner saves ``tuner``'s state to (``<project>/<tuner_id>.json``).

    Internal: ``BaseTuner._get_tuner_fname`` (keras-tuner 1.4.8); the name has
    no public accessor and ``reload`` reads exactly that file.
    """
    return str(tuner._get_tuner_fname())


def oracle_state_file(oracle: Any) -> str:
    """The file keras-tuner saves ``oracle``'s state to (``<project>/oracle.json``).

    Internal: ``Oracle._get_oracle_fname`` (keras-tuner 1.4.8); see :func:`tuner_state_file`.
    """
    return str(oracle._get_oracle_fname())


def replace_oracle_writers(
    oracle: Any, save: Callable[[], None], save_trial: Callable[[Any], None]
) -> bool:
    """Makes ``oracle`` write its own state with ``save`` and each trial's with ``save_trial``.

    Internal: replaces ``Oracle.save`` and the private ``Oracle._save_trial``
    on this oracle instance (keras-tuner 1.4.8). ``_save_trial`` is called from
    inside the oracle's locked ``end_trial``/``update_trial``; no public hook
    decides how ``trial.json`` is written.

    Args:
        oracle: A local oracle.
        save: Writes the oracle's state (``oracle.json``).
        save_trial: Writes one trial's ``trial.json``.

    Returns:
        False (and nothing replaced) for an oracle that writes no trials itself
        (a distributed worker's client).
    """
    if not hasattr(oracle, "_save_trial"):
        return False
    oracle.save = save
    oracle._save_trial = save_trial
    return True


@contextlib.contextmanager
def tracebacks_shown(shown: bool) -> Iterator[None]:
    """Whether keras-tuner prints the traceback of each failed trial, inside the block.

    Internal: the module global ``keras_tuner.src.config.DEBUG`` (keras-tuner
    1.4.8), which has no public setter.
    """
    from keras_tuner.src import config

    with _replaced(config, "DEBUG", shown):
        yield


# ---------------------------------------------------------------- hyperparameters


@contextlib.contextmanager
def nested_condition(hp: Any, parent: str, values: list[Any]) -> Iterator[None]:
    """Opens a condition ``parent in values`` on ``hp`` as ``conditional_scope`` does.

    Unlike ``hp.conditional_scope``, the parent may have been declared under
    other conditions than the scope around this one (a top-level ``depth`` as
    the parent of a scope nested in ``kind == 'wide'``).

    Internals: ``keras_tuner.src.engine.conditions.Parent`` and the private
    ``HyperParameters._conditions`` stack (keras-tuner 1.4.8), pushed and
    recorded in ``active_scopes``/``inactive_scopes`` exactly as
    ``conditional_scope`` does, minus its check of the parent's scope.
    """
    from keras_tuner.src.engine.conditions import Parent

    condition = Parent(parent, values)
    hp._conditions.append(condition)
    scopes = hp.active_scopes if condition.is_active(hp.values) else hp.inactive_scopes
    scopes.append(copy.deepcopy(hp._conditions))
    try:
        yield
    finally:
        hp._conditions.pop()


# ---------------------------------------------------------------- distributed search


def oracle_servicer_class() -> type:
    """keras-tuner's gRPC servicer class (``OracleServicer(oracle)``), to subclass.

    Internal: ``keras_tuner.src.distribute.oracle_chief.OracleServicer``
    (keras-tuner 1.4.8). Its ``stop_triggered`` attribute says the oracle
    answered a worker that the search is over.
    """
    from keras_tuner.src.distribute import oracle_chief

    return oracle_chief.OracleServicer


def add_oracle_servicer(servicer: Any, server: Any) -> None:
    """Registers keras-tuner's oracle service on a ``grpc.server``.

    Internal: ``keras_tuner.src.protos.get_service_grpc()`` (keras-tuner 1.4.8),
    whose generated module matches the installed protobuf.
    """
    from keras_tuner.src import protos

    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)


@contextlib.contextmanager
def client_timeout(seconds: float) -> Iterator[None]:
    """Bounds every call a worker's oracle client makes to the chief, inside the block.

    Internal: the module global ``keras_tuner.src.distribute.oracle_client.TIMEOUT``
    (keras-tuner 1.4.8; an hour by default), read at each call.
    """
    from keras_tuner.src.distribute import oracle_client

    with _replaced(oracle_client, "TIMEOUT", seconds):
        yield
