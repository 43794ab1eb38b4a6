"""The Keras internals keras-blueprints relies on (checked against Keras 3.15.1).

Each function or class below touches private Keras members that have no public
counterpart; setup.cfg caps ``keras`` below 3.16 so that a release that renames
one is checked here before it is installed. Import this module only where Keras
is already needed: it imports Keras.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

import keras

__all__ = [
    "BackupFiles",
    "HookedBackupAndRestore",
    "HookedModelCheckpoint",
    "dtype_names",
    "functional_graph",
    "graph_node_ids",
    "identifier_table",
    "inbound_nodes",
    "input_structure",
    "metric_direction_of",
    "multi_worker_fit",
    "nodes_in_order",
    "resize_interpolations",
    "resnet_residual_block",
    "sublayers",
]


# ---------------------------------------------------------------- callbacks


class HookedModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """``ModelCheckpoint`` whose file writing is the public method :meth:`write_checkpoint`.

    Internals: overrides ``ModelCheckpoint._save_model`` and calls its
    ``_get_file_path`` and ``_should_save_model`` (Keras 3.15.1), so that
    ``save_best_only``, ``monitor`` and formatted file names stay Keras' own.
    Keras has no public hook for *how* a checkpoint file is written; writing it
    atomically otherwise means copying the whole callback.
    """

    def _save_model(self, epoch: int, batch: int | None, logs: dict | None) -> None:
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, batch, logs, filepath):
            return
        self.write_checkpoint(str(filepath))
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")

    def write_checkpoint(self, filepath: str) -> None:
        """Writes the model (or its weights, ``save_weights_only``) to ``filepath``.

        Args:
            filepath: The checkpoint's file, formatted from the epoch and logs.
        """
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)


@dataclasses.dataclass(frozen=True)
class BackupFiles:
    """The files of one ``BackupAndRestore`` backup and the position they record.

    Attributes:
        weights: ``latest.weights.h5``.
        metadata: The JSON file of the epoch and batch.
        previous_weights: The previous weights (``double_checkpoint``).
        previous_metadata: The previous metadata (``double_checkpoint``).
        epoch: The epoch to record.
        batch: The batch to record.
    """

    weights: str
    metadata: str
    previous_weights: str
    previous_metadata: str
    epoch: int
    batch: int


class HookedBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` whose file writing is the public method :meth:`write_backup`.

    Internals: overrides ``BackupAndRestore._save_model`` and reads its
    ``_weights_path``, ``_training_metadata_path``, ``_prev_weights_path``,
    ``_prev_training_metadata_path``, ``_current_epoch`` and ``_last_batch_seen``
    (Keras 3.15.1). Keras has no public hook for how a backup is written, and
    restoring must keep reading the very files Keras names.
    """

    def _save_model(self) -> None:
        self.write_backup(
            BackupFiles(
                weights=str(self._weights_path),
                metadata=str(self._training_metadata_path),
                previous_weights=str(self._prev_weights_path),
                previous_metadata=str(self._prev_training_metadata_path),
                epoch=int(self._current_epoch),
                batch=int(self._last_batch_seen),
            )
        )

    def write_backup(self, files: BackupFiles) -> None:
        """Writes one backup; subclasses decide how (Keras' own writer otherwise).

        Args:
            files: Where to write, and the epoch and batch to record.
        """
        super()._save_model()


# ---------------------------------------------------------------- layers and graphs


def sublayers(layer: Any) -> list[Any]:
    """``layer`` and every layer inside it, parents before their children.

    Internal: ``Layer._flatten_layers(include_self=True, recursive=True)``
    (Keras 3.15.1). Public ``Model.layers`` lists direct children of models only;
    a plain layer's sub-layers (a block layer's convolutions) have no public list.

    Args:
        layer: Any Keras layer or model.

    Returns:
        The layers, ``layer`` first.
    """
    return list(layer._flatten_layers(include_self=True, recursive=True))


def functional_graph(model: Any) -> Any | None:
    """The functional graph of a model, or ``None`` if it has none.

    Internal: ``Functional._nodes_by_depth`` and ``Sequential._functional``
    (Keras 3.15.1). Keras has no public view of a model's graph of layer calls.

    Args:
        model: A Keras model.

    Returns:
        The functional model holding the graph (the model itself, or a built
        Sequential's inner functional model); ``None`` for subclassed models and
        unbuilt Sequential ones.
    """
    if hasattr(model, "_nodes_by_depth"):
        return model
    functional = getattr(model, "_functional", None)
    if functional is not None and hasattr(functional, "_nodes_by_depth"):
        return functional
    return None


def graph_node_ids(graph: Any) -> set[int]:
    """The ids of the nodes (layer calls) of a graph from :func:`functional_graph`.

    Internal: ``Functional._nodes_by_depth`` (Keras 3.15.1); see :func:`functional_graph`.
    """
    return {id(node) for nodes in graph._nodes_by_depth.values() for node in nodes}


def nodes_in_order(graph: Any) -> list[Any]:
    """The nodes (layer calls) of a graph from :func:`functional_graph`, inputs first.

    Internal: ``Functional._nodes_by_depth`` (Keras 3.15.1), whose depth counts from
    the outputs (0) back to the inputs; see :func:`functional_graph`. Each node has
    ``operation``, ``input_tensors`` and ``output_tensors``.
    """
    by_depth = graph._nodes_by_depth
    return [node for depth in sorted(by_depth, reverse=True) for node in by_depth[depth]]


def inbound_nodes(layer: Any) -> list[Any]:
    """Every call of ``layer`` on symbolic tensors, in any model.

    Internal: ``Operation._inbound_nodes`` (Keras 3.15.1). Each node has
    ``input_tensors`` and ``output_tensors``. Keras has no public list of a
    layer's calls.
    """
    return list(layer._inbound_nodes)


def input_structure(model: Any) -> Any:
    """The structure a functional model was built on (a dict, list or tensor), else ``None``.

    Internal: ``Functional._inputs_struct`` (Keras 3.15.1). The public
    ``model.input`` returns it for functional models only and raises (or returns
    a call's inputs) for others; this reads the attribute where it exists.
    """
    return getattr(model, "_inputs_struct", None)


# ---------------------------------------------------------------- multi-worker fit


@contextlib.contextmanager
def multi_worker_fit(model: Any, strategy: Any) -> Iterator[None]:
    """Lets Keras' ``fit`` and ``evaluate`` run ``model`` under ``MultiWorkerMirroredStrategy``.

    Keras 3 (3.15 still; keras-team/keras#20585) fails twice there: before the
    first step it all-reduces a whole input batch (a nested structure the
    collective strategy cannot reduce), and after every step it reduces the
    scalar metrics along an axis they do not have. Inside this block the model
    builds its metrics and optimizer from this worker's share of the first batch,
    and scalar results are averaged over the replicas (they are synchronised
    already). Both fixes are undone on the way out.

    Internals (Keras 3.15.1): replaces the module global
    ``keras.src.backend.tensorflow.trainer.reduce_per_replica`` (calling its
    ``_collective_all_reduce_multi_worker``), and the model's
    ``_maybe_symbolic_build`` (calling ``_symbolic_build``). No public API
    reaches either step of ``fit``.

    Args:
        model: The model built under ``strategy``.
        strategy: A ``tf.distribute.MultiWorkerMirroredStrategy``.

    Yields:
        Nothing.
    """
    from keras.src.backend.tensorflow import trainer

    reduce_per_replica = trainer.reduce_per_replica

    def reduce_scalars(values: Any, strategy: Any, reduction: str = "auto") -> Any:
        if reduction in ("auto", "mean") and trainer._collective_all_reduce_multi_worker(strategy):
            return keras.tree.map_structure(lambda v: _mean_over_replicas(strategy, v), values)
        return reduce_per_replica(values, strategy, reduction)

    def build_from_local_batch(self: Any, iterator: Any = None, data_batch: Any = None) -> None:
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = keras.tree.map_structure(
                    lambda v: _local_value(strategy, v), next(batches)
                )
                break
        with strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    trainer.reduce_per_replica = reduce_scalars
    model._maybe_symbolic_build = build_from_local_batch.__get__(model)
    try:
        yield
    finally:
        trainer.reduce_per_replica = reduce_per_replica
        del model._maybe_symbolic_build


def _local_value(strategy: Any, value: Any) -> Any:
    import tensorflow as tf

    if isinstance(value, tf.distribute.DistributedValues):
        return strategy.experimental_local_results(value)[0]
    return value


def _mean_over_replicas(strategy: Any, value: Any) -> Any:
    import tensorflow as tf

    if isinstance(value, tf.distribute.DistributedValues) or tf.is_tensor(value):
        rank = _local_value(strategy, value).shape.rank
        return strategy.reduce("MEAN", value, axis=None if rank == 0 else 0)
    return value


# ---------------------------------------------------------------- metrics

_DIRECTIONS = {"up": "max", "down": "min"}


def metric_direction_of(metric: Any) -> str | None:
    """Whether a Keras metric object improves upwards: ``"max"``, ``"min"`` or None.

    Keras' own monitoring callbacks (``EarlyStopping``, ``ModelCheckpoint`` in
    ``mode="auto"``) read the metric's private ``_direction`` (``"up"`` or ``"down"``);
    this is that same reading, behind one door.

    Args:
        metric: A ``keras.metrics.Metric`` (or anything else: then None).

    Returns:
        ``"max"``, ``"min"``, or None when the metric says nothing (``Mean``, counts).
    """
    return _DIRECTIONS.get(getattr(metric, "_direction", None))


# ---------------------------------------------------------------- vocabularies


def identifier_table(kind: str) -> dict[str, Any]:
    """The strings ``keras.<kind>.get`` looks a name up in (aliases such as ``mse`` included).

    Internals: ``keras.src.<kind>.ALL_OBJECTS_DICT`` (Keras 3.15.1), the table each
    ``get``/``deserialize`` reads; Keras exposes the objects but not this table of
    their names and aliases. ``tools/gen_layer_catalog.py`` reads it to write the
    vocabulary catalog, and keeps only the names ``get`` really accepts.

    Args:
        kind: ``activations``, ``initializers``, ``regularizers``, ``constraints``,
            ``losses``, ``metrics`` or ``optimizers``.

    Returns:
        Name -> object (a copy).
    """
    import importlib

    module = importlib.import_module(f"keras.src.{kind}")
    return dict(getattr(module, "ALL_OBJECTS_DICT", {}))


def dtype_names() -> tuple[str, ...]:
    """The dtype names Keras accepts: ``keras.src.backend.common.dtypes`` (Keras 3.15.1).

    Returns:
        ``ALLOWED_DTYPES`` and the string keys of ``PYTHON_DTYPES_MAP`` (``"int"``).
    """
    from keras.src.backend.common import dtypes

    aliases = tuple(k for k in dtypes.PYTHON_DTYPES_MAP if isinstance(k, str))
    return (*dtypes.ALLOWED_DTYPES, *aliases)


def resize_interpolations() -> tuple[str, ...]:
    """The interpolations of ``keras.ops.image.resize`` on TensorFlow (Keras 3.15.1).

    Returns:
        ``keras.src.backend.tensorflow.image.RESIZE_INTERPOLATIONS``.
    """
    from keras.src.backend.tensorflow import image

    return tuple(image.RESIZE_INTERPOLATIONS)


# ---------------------------------------------------------------- applications


def resnet_residual_block(version: int) -> Any:
    """Keras' own ResNet bottleneck block, version 1 or 2, as ``keras.applications`` builds it.

    Internal: ``keras.src.applications.resnet.residual_block_v1`` / ``_v2`` (Keras 3.15.1),
    which ``keras.applications`` does not export. The golden test of our
    ``bottleneck_block`` (tests/test_blocks_residual.py) compares the two layer by layer.

    Args:
        version: 1 (post-activation) or 2 (pre-activation).

    Returns:
        The block function ``(x, filters, name=..., stride=..., conv_shortcut=...)``.
    """
    from keras.src.applications import resnet

    return {1: resnet.residual_block_v1, 2: resnet.residual_block_v2}[version]
