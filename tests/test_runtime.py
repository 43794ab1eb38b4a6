"""The ``runtime:`` section: strategies, mixed precision, XLA, batch scaling, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError
from keras_blueprints.cli import main
from keras_blueprints.resolve.schema import RuntimeSpec
from keras_blueprints.training import runtime as rt
from keras_blueprints.training.run import load_trained, train
from tests.conftest import spiral_mlp

SPIRALS = spiral_mlp(points=60, epochs=2)

# A block output: under a mixed policy it is cast to float32 by NODE_float32.
BLOCK_OUTPUT = textwrap.dedent(
    """\
    name: block_out
    inputs: {image: [8, 8, 1]}
    graph:
      - {name: features, conv_stack: {filters: 4, depth: 1}}
    """
)


@pytest.fixture(scope="module")
def blueprint_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bp") / "spiral.yaml"
    path.write_text(SPIRALS)
    return path


# -- strategies -----------------------------------------------------------------------------
def test_default_and_one_device_strategies():
    import tensorflow as tf

    assert rt.strategy_for(None) is tf.distribute.get_strategy()
    assert rt.strategy_for(RuntimeSpec()) is tf.distribute.get_strategy()
    one = rt.strategy_for(RuntimeSpec(strategy="one_device"))
    assert isinstance(one, tf.distribute.OneDeviceStrategy)
    assert one.num_replicas_in_sync == 1
    assert one.extended.worker_devices[0].endswith("CPU:0")


def test_an_unknown_device_is_refused():
    with pytest.raises(BlueprintError) as info:
        rt.strategy_for(RuntimeSpec(strategy="mirrored", devices=("/gpu:0", "/gpu:1")))
    assert "no device '/gpu:0'" in info.value.message
    assert "/device:cpu:0" in info.value.expected


def test_virtual_cpus_after_tensorflow_started_is_a_clear_error():
    import tensorflow as tf

    tf.constant(1.0)  # the runtime is running in this process
    have = len(tf.config.list_logical_devices("CPU"))
    rt.configure(RuntimeSpec(virtual_cpus=have))  # what is already there is accepted
    with pytest.raises(BlueprintError) as info:
        rt.configure(RuntimeSpec(virtual_cpus=have + 2))
    assert "already started" in info.value.message
    assert "configure" in info.value.hint


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (None, "needs the cluster in the TF_CONFIG"),
        ("{cluster: ", "not valid JSON"),
        ('{"cluster": {"worker": "a:1"}, "task": {}}', "must hold a 'cluster'"),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}', "task is not"),
    ],
)
def test_tf_config_is_checked(monkeypatch, value, words):
    if value is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", value)
    spec = RuntimeSpec(strategy="multi_worker")
    with pytest.raises(BlueprintError) as info:
        rt.configure(spec)
    assert words in info.value.message


@pytest.mark.parametrize(
    ("cluster", "task", "chief"),
    [
        ({"worker": ["a:1", "b:1"]}, {"type": "worker", "index": 0}, True),
        ({"worker": ["a:1", "b:1"]}, {"type": "worker", "index": 1}, False),
        ({"chief": ["c:1"], "worker": ["a:1"]}, {"type": "worker", "index": 0}, False),
        ({"chief": ["c:1"], "worker": ["a:1"]}, {"type": "chief", "index": 0}, True),
    ],
)
def test_only_the_chief_writes_the_run(monkeypatch, cluster, task, chief):
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": task}))
    assert rt.is_chief(RuntimeSpec(strategy="multi_worker")) is chief
    assert rt.is_chief(RuntimeSpec()) is True  # other strategies: one process, the chief


# -- precision and XLA ----------------------------------------------------------------------
def test_jit_compile_precedence():
    assert rt.jit_compile_for(None, {}) == "auto"
    assert rt.jit_compile_for(RuntimeSpec(), {"jit_compile": False}) is False  # compile: decides
    assert rt.jit_compile_for(RuntimeSpec(jit_compile=True), {"jit_compile": False}) is True
    assert rt.jit_compile_for(RuntimeSpec(jit_compile=False), {}) is False
    bp = kb.load(SPIRALS + "runtime: {jit_compile: false}\n")
    assert dict(rt.with_runtime_compile(bp).compile.extra) == {"jit_compile": False}
    plain = kb.load(SPIRALS)
    assert rt.with_runtime_compile(plain) is plain


def test_mixed_precision_on_cpu_is_bfloat16_and_restored(clean_session):
    import keras

    assert rt.precision_policy(None) == "float32"
    assert rt.precision_policy(RuntimeSpec(mixed_precision=True)) == "mixed_bfloat16"
    with rt.dtype_policy("mixed_bfloat16"):
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == "float32"


def test_mixed_precision_keeps_outputs_and_variables_float32(clean_session):
    import keras

    from keras_blueprints.builders.model import build_model

    bp = kb.load(SPIRALS + "runtime: {mixed_precision: true}\n")
    with rt.activate(bp.runtime) as runtime:
        model = build_model(bp)
    assert runtime.policy == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == "float32"  # nothing leaks out
    hidden, out = model.get_layer("hidden"), model.get_layer("probabilities")
    assert (hidden.compute_dtype, hidden.variable_dtype) == ("bfloat16", "float32")
    assert (out.compute_dtype, out.variable_dtype) == ("float32", "float32")
    assert model.outputs[0].dtype == "float32"
    assert {w.dtype for w in model.weights} == {"float32"}

    blocks = kb.load(BLOCK_OUTPUT)
    with rt.activate(RuntimeSpec(mixed_precision=True)):
        model = build_model(blocks)
    assert model.outputs[0].dtype == "float32"
    assert model.layers[-1].name == "features_float32"
    assert model.get_layer("features_conv1").compute_dtype == "bfloat16"


def test_a_mixed_precision_run_records_its_runtime(blueprint_file, tmp_path, clean_session):
    import keras

    result = train(
        blueprint_file,
        [
            "runtime.mixed_precision=true",
            "runtime.jit_compile=false",
            "runtime.scale_batch_size=true",
            "train.epochs=1",
        ],
        run_dir=tmp_path / "run",
        verbose=0,
    )
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["status"] == "completed"
    assert info["runtime"] == {
        "strategy": "default",
        "replicas": 1,
        "devices": ["/device:CPU:0"],
        "policy": "mixed_bfloat16",
        "jit_compile": False,
        "global_batch_size": 16,
        "per_replica_batch_size": 16.0,
    }
    assert result.model.jit_compile is False
    assert result.model.get_layer("probabilities").compute_dtype == "float32"
    assert result.model.get_layer("hidden").compute_dtype == "bfloat16"
    assert 0.0 < result.metrics["train"]["loss"] < 1.0
    assert keras.config.dtype_policy().name == "float32"
    reloaded = load_trained(tmp_path / "run" / "model.keras")
    assert reloaded.get_layer("hidden").compute_dtype == "bfloat16"


# -- the command line -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("option", "words"),
    [
        ("multi_worker", "needs the cluster in the TF_CONFIG environment variable"),
        ("tpu", "no TPU found"),
    ],
)
def test_a_runtime_that_cannot_start_exits_2(
    blueprint_file, tmp_path, capsys, monkeypatch, option, words
):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    run_dir = tmp_path / "run"
    status = main(["train", str(blueprint_file), "--strategy", option, "--run-dir", str(run_dir)])
    err = capsys.readouterr().err
    assert status == 2
    assert words in err and "Traceback" not in err
    assert not run_dir.exists()  # nothing half-written


# -- MirroredStrategy on two logical CPUs ---------------------------------------------------
MIRROR_SCRIPT = textwrap.dedent(
    """\
    import json, sys
    from keras_blueprints.training.run import train

    blueprint, root = sys.argv[1:3]
    # 80 training examples: 5 whole batches of 16, so every replica always gets 8.
    # Unshuffled: Keras draws one batch to build a distributed model before the first
    # epoch, which moves a reshuffling pipeline on by one order.
    common = ["runtime.virtual_cpus=2", "data.shuffle=false",
              "data.source={spirals: {points_per_class: 50}}"]
    out = {}
    for name, extra in [
        ("one", ["runtime.strategy=one_device"]),
        ("mirrored", ["runtime.strategy=mirrored"]),
        # 8 per replica, scaled by the 2 replicas: the same global batch of 16
        ("scaled", ["runtime.strategy=mirrored", "runtime.scale_batch_size=true",
                    "data.batch_size=8"]),
    ]:
        result = train(blueprint, common + extra, run_dir=f"{root}/{name}", verbose=0)
        info = json.load(open(f"{root}/{name}/run.json"))
        out[name] = {
            "runtime": info["runtime"],
            "metrics": result.metrics,
            "weights": [w.tolist() for w in result.model.get_weights()],
        }
    print("RESULT " + json.dumps(out))
    """
)


def test_mirrored_on_two_cpus_matches_one_device(blueprint_file, tmp_path):
    import numpy as np

    script = tmp_path / "mirror.py"
    script.write_text(MIRROR_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), str(blueprint_file), str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    out = json.loads(lines[0].removeprefix("RESULT "))
    one, mirrored, scaled = out["one"], out["mirrored"], out["scaled"]
    assert (one["runtime"]["replicas"], mirrored["runtime"]["replicas"]) == (1, 2)
    assert mirrored["runtime"]["devices"][1].endswith("CPU:1")
    assert (
        mirrored["runtime"]["global_batch_size"],
        mirrored["runtime"]["per_replica_batch_size"],
    ) == (16, 8.0)
    assert (
        scaled["runtime"]["global_batch_size"],
        scaled["runtime"]["per_replica_batch_size"],
    ) == (16, 8.0)
    for other in (mirrored, scaled):
        for a, b in zip(one["weights"], other["weights"], strict=True):
            np.testing.assert_allclose(np.array(a), np.array(b), atol=1e-5)
        for split in ("train", "validation", "test"):
            for key, value in one["metrics"][split].items():
                assert other["metrics"][split][key] == pytest.approx(value, abs=1e-5)
    assert one["metrics"]["train"]["loss"] < 0.69  # it learned something: not a trivial match


def test_the_train_command_sets_up_virtual_cpus_before_tensorflow_starts(tmp_path):
    """Virtual devices must exist before TensorFlow starts: the CLI configures them first."""
    import json
    import subprocess
    import sys

    blueprint = tmp_path / "mirrored.yaml"
    blueprint.write_text(
        "inputs: {point: [2]}\n"
        "graph:\n"
        "  - {name: probabilities, Dense: {units: 2, activation: softmax}}\n"
        "compile: {optimizer: adam, loss: sparse_categorical_crossentropy}\n"
        "data: {source: {spirals: {points_per_class: 16}}, batch_size: 8}\n"
        "train: {epochs: 1}\n"
        "runtime: {strategy: mirrored, virtual_cpus: 2, scale_batch_size: true}\n"
    )
    run_dir = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "keras_blueprints", "train", str(blueprint), "--run-dir",
         str(run_dir), "--quiet"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    runtime = json.loads((run_dir / "run.json").read_text())["runtime"]
    assert (runtime["strategy"], runtime["replicas"], runtime["global_batch_size"]) == (
        "mirrored", 2, 16,
    )  # fmt: skip
