"""MultiWorkerMirroredStrategy: two worker processes on 127.0.0.1 train one blueprint."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import spiral_mlp

BLUEPRINT = spiral_mlp(points=50, epochs=2, extra="runtime: {strategy: multi_worker}\n")

WORKER = textwrap.dedent(
    """\
    import json, sys
    from keras_blueprints.training.run import train

    result = train(sys.argv[1], run_dir=sys.argv[2], verbose=0)
    print("RESULT " + json.dumps({"run_dir": str(result.run_dir), "metrics": result.metrics}))
    """
)


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def test_two_workers_train_and_only_the_chief_writes(tmp_path: Path):
    blueprint = tmp_path / "spiral.yaml"
    blueprint.write_text(BLUEPRINT)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    run_dir = tmp_path / "run"
    scratch = tmp_path / "scratch"  # where the non-chief worker's temporary run goes
    scratch.mkdir()
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    procs = []
    for index in range(2):
        env = {
            **os.environ,
            "TF_CONFIG": json.dumps(
                {"cluster": cluster, "task": {"type": "worker", "index": index}}
            ),
            "TMPDIR": str(scratch),
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }
        procs.append(
            subprocess.Popen(
                [sys.executable, str(script), str(blueprint), str(run_dir)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=240)
            lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
            assert proc.returncode == 0 and lines, err[-3000:]
            outputs.append(json.loads(lines[0].removeprefix("RESULT ")))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    chief, worker = outputs
    assert chief["run_dir"] == worker["run_dir"] == str(run_dir)
    # Synchronous data parallelism: both workers end with the same model and metrics.
    assert chief["metrics"] == worker["metrics"]
    info = json.loads((run_dir / "run.json").read_text())
    assert (info["status"], info["epochs_done"]) == ("completed", 2)
    runtime = info["runtime"]
    assert (runtime["strategy"], runtime["replicas"]) == ("multi_worker", 2)
    assert (runtime["global_batch_size"], runtime["per_replica_batch_size"]) == (16, 8.0)
    assert runtime["devices"] == ["/job:worker/replica:0/task:0/device:CPU:0"]  # the chief's
    assert json.loads((run_dir / "metrics.json").read_text()) == chief["metrics"]
    assert (run_dir / "model.keras").is_file()
    assert not list(scratch.iterdir())  # the other worker's temporary run is gone
    assert 0.0 < chief["metrics"]["train"]["loss"] < 0.75
