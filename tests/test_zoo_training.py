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
}

TRAINABLE = [name for name in zoo.names() if kb.load(f"zoo:{name}").data is not None]


def test_the_zoo_says_how_to_train_its_classics():
    assert {"mlp", "lenet5", "unet", "seq2seq_lstm", "autoencoder_dense", "vae"} <= set(TRAINABLE)


@pytest.mark.parametrize("name", TRAINABLE)
def test_zoo_blueprint_trains_on_its_data(name):
    from keras_blueprints.callbacks.registry import CALLBACKS, CallbackContext
    from keras_blueprints.data import make_datasets
    from keras_blueprints.resolve.schema import thaw

    bp = kb.load(f"zoo:{name}", ["data.batch_size=8", *SMALLER.get(name, [])])
    model = kb.build(bp)
    sets = make_datasets(bp, seed=0, model=model)
    context = CallbackContext(blueprint=bp, run_dir=None, datasets=sets)
    callbacks = [
        CALLBACKS.get(c.name).fn(context, **thaw(c.args))
        for c in bp.train.callbacks
        if c.name == "teacher_forcing"
    ]
    history = model.fit(
        sets.train, epochs=2, steps_per_epoch=2, callbacks=callbacks, verbose=0, shuffle=False
    )
    losses = history.history["loss"]
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
