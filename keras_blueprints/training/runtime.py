"""Where and how a model runs: the ``runtime:`` section on ``tf.distribute``, precision and XLA.

The section is a :class:`~keras_blueprints.resolve.schema.RuntimeSpec`; this module turns
it into TensorFlow objects:

* :func:`configure` does what must happen before TensorFlow's runtime starts
  (virtual CPU devices; the multi-worker strategy, whose collective ops are
  configured at program start-up) and says clearly when it is too late;
* :func:`strategy_for` maps ``strategy:`` to a ``tf.distribute.Strategy``;
* :func:`precision_policy` picks ``mixed_float16`` (GPU) or ``mixed_bfloat16``
  (TPU, CPU) when ``mixed_precision: true``, and :func:`dtype_policy` sets it for
  the duration of a build only (no global state leaks out of a run);
* :func:`jit_compile_for` decides the ``jit_compile`` the model is compiled with;
* :func:`activate` puts it together: a context manager that enters the strategy's
  scope with the policy set, and yields a :class:`Runtime` describing it.

Data parallelism: each replica holds a copy of the variables and computes the
gradients of its share of the global batch; the gradients are all-reduced
(summed) across replicas before every step. ``scale_batch_size: true`` keeps the
per-replica batch at ``data.batch_size`` (the global batch grows with the
replicas); otherwise the global batch is ``data.batch_size``, split among them.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from keras_blueprints._core.errors import BlueprintError, Plain, UsageError
from keras_blueprints.resolve.schema import Blueprint, RuntimeSpec

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = [
    "Runtime",
    "activate",
    "configure",
    "dtype_policy",
    "fitting",
    "is_chief",
    "jit_compile_for",
    "precision_policy",
    "strategy_for",
    "tf_config",
    "with_runtime_compile",
]

FLOAT32 = "float32"
MIXED_GPU = "mixed_float16"
MIXED_OTHER = "mixed_bfloat16"

# One multi-worker strategy per process: TensorFlow configures its collective ops
# once, at start-up, and refuses a second configuration.
_MULTI_WORKER: dict[str, Any] = {}


@dataclass(frozen=True)
class Runtime:
    """A runtime in effect (from :func:`activate`).

    Attributes:
        spec: The ``runtime:`` section it came from.
        strategy: The ``tf.distribute`` strategy whose scope is entered.
        replicas: Replicas in sync (devices, over all workers).
        policy: The Keras dtype policy of the build: ``float32``, ``mixed_float16``
            or ``mixed_bfloat16``.
        chief: Whether this process writes the run (False on non-chief workers).
    """

    spec: RuntimeSpec
    strategy: Any
    replicas: int
    policy: str
    chief: bool = True

    def global_batch_size(self, batch_size: int) -> int:
        """The global batch for a per-blueprint ``batch_size`` (scaled when the section says so).

        Args:
            batch_size: ``data.batch_size`` (or ``--batch-size``).

        Returns:
            ``batch_size * replicas`` with ``scale_batch_size``, else ``batch_size``.
        """
        return batch_size * self.replicas if self.spec.scale_batch_size else batch_size

    def record(self, batch_size: int) -> dict[str, Any]:
        """What ``run.json`` says about the runtime.

        Args:
            batch_size: ``data.batch_size`` (or ``--batch-size``).

        Returns:
            Strategy, replicas, devices, dtype policy, jit_compile and the global and
            per-replica batch sizes.
        """
        global_batch = self.global_batch_size(batch_size)
        return {
            "strategy": self.spec.strategy,
            "replicas": self.replicas,
            "devices": _replica_devices(self.strategy),
            "policy": self.policy,
            "jit_compile": self.spec.jit_compile,
            "global_batch_size": global_batch,
            "per_replica_batch_size": global_batch / self.replicas,
        }


def configure(spec: RuntimeSpec | None) -> None:
    """Does what must happen before TensorFlow's runtime starts; safe to call again.

    Splits the CPU into ``virtual_cpus`` logical devices, and creates the
    multi-worker strategy (its collective ops are configured at start-up). Call it
    before any TensorFlow op runs (``blueprint train`` does, before importing Keras).

    Args:
        spec: The ``runtime:`` section, or None (nothing to do).

    Raises:
        BlueprintError: TensorFlow's runtime has already started with another device
            layout, or ``TF_CONFIG`` is missing or malformed for ``multi_worker``.
    """
    if spec is None:
        return
    if spec.virtual_cpus is not None:
        _split_cpu(spec)
    if spec.strategy == "multi_worker":
        strategy_for(spec)


def _split_cpu(spec: RuntimeSpec) -> None:
    import tensorflow as tf

    wanted = spec.virtual_cpus
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) == wanted:
        return
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(wanted)]
        )
    except RuntimeError as exc:  # the runtime has started: devices are fixed now
        have = len(tf.config.list_logical_devices("CPU"))
        if have == wanted:
            return
        raise BlueprintError(
            f"cannot split the CPU into {wanted} virtual devices: TensorFlow's runtime "
            "has already started",
            spec.location,
            received=Plain(f"{have} logical CPU device{'s' if have != 1 else ''}"),
            hint="Virtual CPUs must be set before any TensorFlow op runs: call "
            "keras_blueprints.training.runtime.configure(blueprint.runtime) first thing in the "
            "process (blueprint train does).",
        ) from exc


def tf_config(spec: RuntimeSpec | None = None) -> dict[str, Any]:
    """Reads and checks the ``TF_CONFIG`` environment variable (multi-worker training).

    Args:
        spec: The section asking for it (for the error's location).

    Returns:
        The parsed ``TF_CONFIG``: ``{"cluster": {...}, "task": {"type": ..., "index": ...}}``.

    Raises:
        UsageError: It is missing, not JSON, or its task is not in its cluster.
    """
    context = f"for the runtime section at {spec.location}" if spec is not None else None
    example = (
        'TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
        '"task": {"type": "worker", "index": 0}}\''
    )
    text = os.environ.get("TF_CONFIG")
    if not text:
        raise UsageError(
            "the multi_worker strategy needs the cluster in the TF_CONFIG environment variable",
            "$TF_CONFIG",
            context=context,
            expected="TF_CONFIG with 'cluster' and 'task'",
            received=Plain("no TF_CONFIG"),
            hint=f"Set it in every worker's environment, e.g.  {example}",
        )
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise UsageError(
            f"TF_CONFIG is not valid JSON: {exc}",
            "$TF_CONFIG",
            context=context,
            received=text,
            hint=example,
        ) from exc
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if (
        not isinstance(cluster, dict)
        or not cluster
        or not all(
            isinstance(v, list) and v and all(isinstance(a, str) for a in v)
            for v in cluster.values()
        )
        or not isinstance(task, dict)
    ):
        raise UsageError(
            "TF_CONFIG must hold a 'cluster' (job -> list of HOST:PORT) and a 'task'",
            "$TF_CONFIG",
            context=context,
            received=config,
            hint=example,
        )
    kind, index = task.get("type"), task.get("index", 0)
    if kind not in cluster or not isinstance(index, int) or not 0 <= index < len(cluster[kind]):
        raise UsageError(
            "TF_CONFIG's task is not one of its cluster's",
            "$TF_CONFIG",
            context=context,
            expected=", ".join(f"{job} 0..{len(a) - 1}" for job, a in cluster.items()),
            received=task,
        )
    return config


def is_chief(spec: RuntimeSpec | None) -> bool:
    """Whether this process is the one that writes the run.

    Every process is, except the workers of a multi-worker cluster other than the
    chief: the ``chief`` task, or worker 0 when the cluster has no chief.

    Args:
        spec: The ``runtime:`` section, or None.

    Returns:
        True for the process that writes the run directory.

    Raises:
        UsageError: ``multi_worker`` with a missing or malformed ``TF_CONFIG``.
    """
    if spec is None or spec.strategy != "multi_worker":
        return True
    config = tf_config(spec)
    kind, index = config["task"]["type"], config["task"].get("index", 0)
    if "chief" in config["cluster"]:
        return kind == "chief"
    return kind == "worker" and index == 0


def strategy_for(spec: RuntimeSpec | None) -> tf.distribute.Strategy:
    """The ``tf.distribute`` strategy a ``runtime:`` section names.

    * ``default``: ``tf.distribute.get_strategy()`` (one device, no distribution);
    * ``one_device``: ``OneDeviceStrategy`` on ``devices[0]``, else the first GPU, else the CPU;
    * ``mirrored``: ``MirroredStrategy`` over ``devices``, else every GPU, else every
      (logical) CPU;
    * ``multi_worker``: ``MultiWorkerMirroredStrategy`` over the cluster in ``TF_CONFIG``
      (one per process);
    * ``tpu``: ``TPUStrategy`` on the TPU at ``tpu`` (a resolver address; None for the
      local or environment-provided TPU).

    Args:
        spec: The ``runtime:`` section, or None (the default strategy).

    Returns:
        The strategy.

    Raises:
        BlueprintError: Unknown devices, or no TPU.
        UsageError: A missing or malformed ``TF_CONFIG``.
    """
    import tensorflow as tf

    if spec is None or spec.strategy == "default":
        return tf.distribute.get_strategy()
    if spec.strategy == "one_device":
        device = spec.devices[0] if spec.devices else _first_device()
        _check_devices(spec, [device])
        return tf.distribute.OneDeviceStrategy(device)
    if spec.strategy == "mirrored":
        devices = list(spec.devices) or _local_devices()
        _check_devices(spec, devices)
        return tf.distribute.MirroredStrategy(devices)
    if spec.strategy == "multi_worker":
        return _multi_worker(spec)
    if spec.strategy == "tpu":
        return _tpu(spec)
    raise BlueprintError(  # the resolver refuses other names; this guards direct callers
        f"unknown strategy '{spec.strategy}'",
        spec.location,
        expected="default, one_device, mirrored, multi_worker or tpu",
        received=spec.strategy,
    )


def _first_device() -> str:
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    return gpus[0].name if gpus else "/cpu:0"


def _local_devices() -> list[str]:
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    return [d.name for d in gpus or tf.config.list_logical_devices("CPU")]


def _check_devices(spec: RuntimeSpec, devices: list[str]) -> None:
    import tensorflow as tf

    def canonical(name: str) -> str:  # as TensorFlow spells a device name
        return tf.DeviceSpec.from_string(name).to_string().lower()

    known = {
        canonical(d.name).replace("/job:localhost/replica:0/task:0", "")
        for d in tf.config.list_logical_devices()
    }
    for name in devices:
        spelled = canonical(name)
        spelled = spelled.replace("/job:localhost/replica:0/task:0", "")
        if spelled not in known:
            raise BlueprintError(
                f"no device '{name}' on this machine",
                spec.location,
                expected=", ".join(sorted(known)),
                received=name,
                hint="Name devices as TensorFlow does ('/gpu:0', '/cpu:0'), or leave 'devices' "
                "out for the strategy's own choice.",
            )


def _multi_worker(spec: RuntimeSpec) -> tf.distribute.Strategy:
    import tensorflow as tf

    config = tf_config(spec)
    key = json.dumps(config, sort_keys=True)
    if key in _MULTI_WORKER:
        return _MULTI_WORKER[key]
    if _MULTI_WORKER:
        raise BlueprintError(
            "this process already joined another multi-worker cluster",
            spec.location,
            hint="Run one multi-worker training per process.",
        )
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    except (RuntimeError, ValueError) as exc:
        raise BlueprintError(
            f"cannot start the multi-worker strategy: {exc}",
            spec.location,
            hint="It must be created before any TensorFlow op runs: call "
            "keras_blueprints.training.runtime.configure(blueprint.runtime) first thing in the "
            "process (blueprint train does).",
        ) from exc
    _MULTI_WORKER[key] = strategy
    return strategy


def _tpu(spec: RuntimeSpec) -> tf.distribute.Strategy:
    import tensorflow as tf

    where = spec.tpu or "the local or environment-provided TPU"
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=spec.tpu or "")
        if spec.tpu not in (None, "", "local"):
            tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as exc:
        raise BlueprintError(
            f"no TPU found at {where}: {_first_line(exc)}",
            spec.location,
            hint="Give the TPU's address (runtime.tpu: grpc://HOST:8470 or a TPU name), run "
            "on a TPU VM, or choose another strategy (--strategy default).",
        ) from exc


def precision_policy(spec: RuntimeSpec | None, strategy: Any = None) -> str:
    """The Keras dtype policy a section asks for on the strategy's devices.

    Args:
        spec: The ``runtime:`` section, or None.
        strategy: The strategy the model runs under (default: the current one).

    Returns:
        ``float32`` without ``mixed_precision``; else ``mixed_float16`` when the
        replicas are GPUs and ``mixed_bfloat16`` on TPUs and CPUs (float16 has no
        fast path on either, and bfloat16 keeps float32's range, needing no loss scaling).
    """
    if spec is None or not spec.mixed_precision:
        return FLOAT32
    devices = _replica_devices(strategy)
    if any(":tpu:" in d.lower() for d in devices):
        return MIXED_OTHER
    if any(":gpu:" in d.lower() for d in devices):
        return MIXED_GPU
    return MIXED_OTHER


def _replica_devices(strategy: Any) -> list[str]:
    import tensorflow as tf

    strategy = strategy or tf.distribute.get_strategy()
    try:
        return [str(d) for d in strategy.extended.worker_devices]
    except RuntimeError:  # the default strategy: TensorFlow places the ops itself
        gpus = tf.config.list_logical_devices("GPU")
        return [gpus[0].name if gpus else tf.config.list_logical_devices("CPU")[0].name]


@contextlib.contextmanager
def dtype_policy(name: str) -> Iterator[None]:
    """Sets Keras' global dtype policy inside the block and restores the previous one after.

    Layers read the global policy when they are constructed; the block is where a
    model is built (and compiled: Keras wraps the optimizer for loss scaling under
    ``mixed_float16``).

    Args:
        name: A Keras dtype policy name (``float32``, ``mixed_bfloat16``...).

    Yields:
        Nothing; the policy is in effect inside.
    """
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def jit_compile_for(spec: RuntimeSpec | None, compile_extra: Mapping[str, Any]) -> bool | str:
    """The ``jit_compile`` the model is compiled with.

    ``runtime.jit_compile: true|false`` (or ``--jit-compile``) wins: where the model
    runs decides whether XLA pays off there. ``auto`` (the default) leaves the
    choice to the ``compile:`` section's ``jit_compile``, and to Keras when it has none.

    Args:
        spec: The ``runtime:`` section, or None.
        compile_extra: The ``compile:`` section's further ``model.compile`` arguments.

    Returns:
        True, False or ``"auto"``.
    """
    chosen = spec.jit_compile if spec is not None else "auto"
    if chosen == "auto":
        return compile_extra.get("jit_compile", "auto")
    return chosen


def with_runtime_compile(blueprint: Blueprint) -> Blueprint:
    """The blueprint whose ``compile:`` carries the ``jit_compile`` :func:`jit_compile_for` chose.

    Args:
        blueprint: A resolved blueprint.

    Returns:
        The same blueprint when nothing changes; else a copy whose ``compile.extra``
        carries the chosen ``jit_compile``.
    """
    if blueprint.compile is None or blueprint.runtime is None:
        return blueprint
    extra = blueprint.compile.extra
    chosen = jit_compile_for(blueprint.runtime, extra)
    if extra.get("jit_compile", "auto") == chosen:
        return blueprint
    return replace(blueprint, compile=blueprint.compile.model_copy(update={"jit_compile": chosen}))


@contextlib.contextmanager
def activate(spec: RuntimeSpec | None) -> Iterator[Runtime]:
    """Runs the block under the section's strategy scope and dtype policy.

    Build and compile the model inside; the policy is restored on the way out
    (the strategy stays attached to the model, which trains and evaluates with it).

    Args:
        spec: The ``runtime:`` section, or None (default strategy, float32).

    Yields:
        The :class:`Runtime` in effect.

    Raises:
        BlueprintError: As :func:`configure` and :func:`strategy_for`.
    """
    spec = spec or RuntimeSpec()
    configure(spec)
    strategy = strategy_for(spec)
    policy = precision_policy(spec, strategy)
    runtime = Runtime(
        spec=spec,
        strategy=strategy,
        replicas=int(strategy.num_replicas_in_sync),
        policy=policy,
        chief=is_chief(spec),
    )
    with dtype_policy(policy), strategy.scope():
        yield runtime


@contextlib.contextmanager
def fitting(runtime: Runtime, model: Any) -> Iterator[None]:
    """Lets Keras' ``fit`` and ``evaluate`` run ``model`` under the runtime's strategy.

    Under ``MultiWorkerMirroredStrategy`` Keras 3 (3.15 still; keras-team/keras#20585)
    fails twice: before the first step it all-reduces a whole input batch (a nested
    structure the collective strategy cannot reduce), and after every step it reduces
    the scalar metrics along an axis they do not have. Inside this block the model
    builds its metrics and optimizer from this worker's share of the first batch, and
    scalar results are averaged over the replicas (they are synchronised already).
    Both fixes are undone on the way out; other strategies need neither.

    Args:
        runtime: The runtime in effect (from :func:`activate`).
        model: The model built under it.

    Yields:
        Nothing.
    """
    if runtime.spec.strategy != "multi_worker":
        yield
        return
    from keras_blueprints._compat.keras import multi_worker_fit

    with multi_worker_fit(model, runtime.strategy):
        yield


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
