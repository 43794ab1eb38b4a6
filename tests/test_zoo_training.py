"""Every zoo blueprint with a ``data:`` section trains on it: the data fits the model."""

from __future__ import annotations

import math

import pytest

import keras_blueprints as kb
from keras_blueprints import zoo

# Smaller shapes where the zoo's defaults are slow on two CPU cores (the data adapts).
SMALLER = {
    "unet": ["params.size=32", "params.depth=2", "data.source.shapes.count=64"],
    "seq2seq_lstm": ["data.source.sequences.count=64"],
    "seq2seq_gru_bidirectional": ["data.source.sequences.count=64"],
    "seq2seq_lstm_scheduled": ["data.source.sequences.count=64"],
    "seq2seq_attention_bahdanau": ["data.source.sequences.count=64"],
    "seq2seq_attention_luong": ["data.source.sequences.count=64"],
}

TRAINABLE = [name for name in zoo.names() if kb.load(f"zoo:{name}").data is not None]


def test_the_zoo_says_how_to_train_its_classics():
    assert {"mlp", "lenet5", "unet", "seq2seq_lstm", "autoencoder_dense", "vae"} <= set(TRAINABLE)


@pytest.mark.parametrize("name", TRAINABLE)
def test_zoo_blueprint_trains_on_its_data(name, tmp_path):
    from keras_blueprints.data import make_datasets
    from keras_blueprints.training.fit import fit_blueprint

    overrides = ["data.batch_size=8", "train.steps_per_epoch=2", *SMALLER.get(name, [])]
    bp = kb.load(f"zoo:{name}", overrides)
    model = kb.build(bp)
    sets = make_datasets(bp, seed=0, model=model)
    history = fit_blueprint(model, bp, sets, run_dir=tmp_path, epochs=2, verbose=0)
    losses = history.history["loss"]
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
