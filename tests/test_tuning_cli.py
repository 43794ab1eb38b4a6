"""A search as a user sees it (issue 16): one line per trial, one numbering, a located refusal."""

from __future__ import annotations

import csv
import json
import re

from keras_blueprints.cli import main
from keras_blueprints.loading import zoo

LINE = re.compile(
    r"^trial (\S+) \((\d+) of 3\) COMPLETED in [0-9.]+ s, 1 epoch\(s\): (.*) -> val_accuracy"
    r" ([0-9.]+); best so far ([0-9.]+) \(trial (\S+)\)$"
)


def test_each_trial_is_reported_once_by_the_id_of_its_folder_and_row(tmp_path, capsys):
    search = tmp_path / "search"
    args = ["tune", "zoo:mlp_search", "--max-trials", "3", "--epochs", "1"]
    assert main([*args, "--run-dir", str(search)]) == 0
    out = capsys.readouterr().out
    found = [LINE.match(line) for line in out.splitlines() if line.startswith("trial ")]
    found = [m for m in found if m]
    assert [int(m.group(2)) for m in found] == [1, 2, 3]
    assert "Trial #" not in out and "\x1b" not in out  # keras-tuner's 1-based display is off
    with (search / "trials.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [m.group(1) for m in found] == [row["trial"] for row in rows]
    for m, row in zip(found, rows, strict=True):
        folder = search / "search" / f"trial_{m.group(1)}"
        assert json.loads((folder / "outcome.json").read_text())["epochs"] == 1
        assert float(m.group(4)) == float(f"{float(row['objective']):.4g}")
        assert f"width={row['width']}" in m.group(3)
    # "best so far" is the best objective of the trials up to that line, and names its trial.
    scores = [float(row["objective"]) for row in rows]
    for k, m in enumerate(found):
        best = max(range(k + 1), key=lambda i: scores[i])
        assert (m.group(6), float(m.group(5))) == (
            rows[best]["trial"],
            float(f"{scores[best]:.4g}"),
        )
    assert f"best trial: {rows[max(range(3), key=lambda i: scores[i])]['trial']} " in out


def test_a_blueprint_without_search_spaces_is_refused_before_a_search_exists(tmp_path, capsys):
    search = tmp_path / "search"
    assert main(["tune", "zoo:mlp", "--run-dir", str(search)]) != 0
    err = capsys.readouterr().err
    assert err.startswith(f"{zoo.path('mlp')}:1:1: error:")
    assert "choice" in err and "mlp_search" in err
    assert not search.exists()


def _hparams_in(folder) -> dict[str, object]:
    """The hyperparameters an HParams session-start summary in ``folder`` records."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import plugin_data_pb2

    found: dict[str, object] = {}
    for path in folder.glob("events.out.tfevents.*"):
        for record in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name != "hparams":
                    continue
                data = plugin_data_pb2.HParamsPluginData.FromString(
                    value.metadata.plugin_data.content
                )
                for name, hp in data.session_start_info.hparams.items():
                    kind = hp.WhichOneof("kind")
                    found[name] = getattr(hp, kind) if kind else None
    return found


def test_tensorboard_logs_each_trials_hyperparameters_inside_the_search(tmp_path, capsys):
    search = tmp_path / "search"
    args = ["tune", "zoo:mlp_search", "--max-trials", "2", "--epochs", "1", "--tensorboard"]
    assert main([*args, "--run-dir", str(search), "--quiet"]) == 0
    assert json.loads((search / "search.json").read_text())["tensorboard"] is True
    with (search / "trials.csv").open() as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        logged = _hparams_in(search / "tensorboard" / row["trial"] / "execution0")
        assert logged["width"] == float(row["width"]) and logged["depth"] == float(row["depth"])
