"""Golden FLOPs counts, worked out by hand from the conventions in flops.py.

Per-element activation costs used below: relu 1, tanh 1, sigmoid 4, softmax 3.
"""

from __future__ import annotations

import keras
import pytest
from keras import layers

from keras_blueprints.views.flops import (
    FlopsReport,
    LayerFlops,
    flops_of,
    layer_flops,
    model_flops,
)


def _single_layer(layer: layers.Layer, input_shape: tuple) -> FlopsReport:
    inp = keras.Input(input_shape)
    return model_flops(keras.Model(inp, layer(inp)))


def _row(report: FlopsReport, name: str) -> LayerFlops:
    (row,) = [r for r in report.layers if r.name == name]
    return row


class Scale(layers.Layer):
    """A custom layer with no registered cost."""

    def call(self, x):
        return 2.0 * x


# ---------------------------------------------------------------- dense


def test_dense_mlp():
    inp = keras.Input((20,), name="x")
    h = layers.Dense(16, activation="relu", name="hidden")(inp)
    out = layers.Dense(3, activation="softmax", name="logits")(h)
    report = model_flops(keras.Model(inp, out))

    hidden = 2 * 20 * 16 + 16 + 16 * 1  # matmul + bias + relu
    logits = 2 * 16 * 3 + 3 + 3 * 3  # matmul + bias + softmax
    assert [r.name for r in report.layers] == ["x", "hidden", "logits"]
    assert [r.flops for r in report.layers] == [0, hidden, logits]
    assert report.total == hidden + logits == 780
    assert report.unknown == ()
    assert _row(report, "hidden") == LayerFlops(
        name="hidden", class_name="Dense", flops=hidden, output_shapes=((None, 16),), params=336
    )
    assert _row(report, "x").output_shapes == ((None, 20),)


def test_dense_without_bias_on_sequence_counts_every_position():
    report = _single_layer(layers.Dense(4, use_bias=False, name="d"), (5, 3))
    assert _row(report, "d").flops == 5 * (2 * 3 * 4)


# ---------------------------------------------------------------- convolutions


def test_conv2d_same_padding():
    report = _single_layer(layers.Conv2D(4, 3, padding="same", name="c"), (8, 8, 3))
    assert _row(report, "c").output_shapes == ((None, 8, 8, 4),)
    assert report.total == 8 * 8 * 4 * (2 * 3 * 3 * 3) + 8 * 8 * 4


def test_conv2d_valid_padding_with_strides_and_activation():
    conv = layers.Conv2D(5, 3, strides=2, padding="valid", activation="relu", name="c")
    report = _single_layer(conv, (8, 8, 4))
    # (8 - 3) // 2 + 1 = 3 positions per side.
    assert _row(report, "c").output_shapes == ((None, 3, 3, 5),)
    assert report.total == 3 * 3 * 5 * (2 * 3 * 3 * 4) + 3 * 3 * 5 + 3 * 3 * 5 * 1


def test_conv2d_with_groups():
    report = _single_layer(layers.Conv2D(6, 3, groups=2, padding="same", name="c"), (5, 5, 4))
    assert report.total == 5 * 5 * 6 * (2 * 3 * 3 * (4 // 2)) + 5 * 5 * 6


def test_conv1d_and_conv3d():
    assert _single_layer(layers.Conv1D(2, 3), (7, 3)).total == 5 * 2 * (2 * 3 * 3) + 5 * 2
    keras.backend.clear_session()
    assert _single_layer(layers.Conv3D(2, 2), (3, 3, 3, 1)).total == (
        2 * 2 * 2 * 2 * (2 * 2 * 2 * 2 * 1) + 2 * 2 * 2 * 2
    )


def test_depthwise_conv2d():
    conv = layers.DepthwiseConv2D(3, depth_multiplier=2, padding="valid", name="dw")
    report = _single_layer(conv, (6, 6, 3))
    assert _row(report, "dw").output_shapes == ((None, 4, 4, 6),)
    assert report.total == 4 * 4 * 6 * (2 * 3 * 3) + 4 * 4 * 6


def test_separable_conv2d():
    report = _single_layer(layers.SeparableConv2D(5, 3, padding="same", name="sep"), (6, 6, 3))
    depthwise = 6 * 6 * 3 * (2 * 3 * 3)
    pointwise = 6 * 6 * 5 * (2 * 3)
    assert report.total == depthwise + pointwise + 6 * 6 * 5


def test_conv2d_transpose_is_not_counted_as_conv2d():
    conv = layers.Conv2DTranspose(2, 3, strides=2, padding="same", name="up")
    report = _single_layer(conv, (4, 4, 3))
    assert _row(report, "up").output_shapes == ((None, 8, 8, 2),)
    # Each of the 4*4*3 input elements scatters into a 3x3 window of 2 filters.
    expected = 2 * (4 * 4 * 3) * (3 * 3) * 2 + 8 * 8 * 2
    assert report.total == expected
    # As a Conv2D over the output it would have been 8*8*2*(2*3*3*3) + 8*8*2.
    assert expected != 8 * 8 * 2 * (2 * 3 * 3 * 3) + 8 * 8 * 2


def test_channels_first_conv():
    conv = layers.Conv2D(4, 3, data_format="channels_first", name="c")
    report = _single_layer(conv, (3, 6, 6))
    assert report.total == 4 * 4 * 4 * (2 * 3 * 3 * 3) + 4 * 4 * 4


# ---------------------------------------------------------------- pooling


def test_max_pooling2d():
    report = _single_layer(layers.MaxPooling2D(2, name="pool"), (8, 8, 3))
    assert _row(report, "pool").output_shapes == ((None, 4, 4, 3),)
    assert report.total == 4 * 4 * 3 * (2 * 2)


def test_global_average_pooling2d():
    report = _single_layer(layers.GlobalAveragePooling2D(name="gap"), (4, 4, 3))
    assert _row(report, "gap").output_shapes == ((None, 3),)
    assert report.total == 4 * 4 * 3


# ---------------------------------------------------------------- recurrent


def test_simple_rnn():
    report = _single_layer(layers.SimpleRNN(4), (5, 3))
    per_step = 2 * 3 * 4 + 2 * 4 * 4 + 4 + 4 + 4 * 1  # matmuls, combine, bias, tanh
    assert report.total == 5 * per_step


def test_lstm():
    report = _single_layer(layers.LSTM(4, name="lstm"), (5, 3))
    units, width = 4, 4 * 4
    per_step = (
        2 * 3 * width
        + 2 * units * width  # input and recurrent matmuls
        + width  # combine them
        + width  # bias
        + 3 * units * 4  # sigmoid on input, forget, output gates
        + 2 * units * 1  # tanh on candidate and cell
        + 4 * units  # f*c + i*g, o*tanh(c)
    )
    assert per_step == 328
    assert report.total == 5 * per_step


def test_gru_reset_after():
    report = _single_layer(layers.GRU(4, name="gru"), (5, 3))
    units, width = 4, 3 * 4
    per_step = (
        2 * 3 * width
        + 2 * units * width
        + width  # combine
        + 2 * width  # input and recurrent biases
        + 2 * units * 4  # sigmoid on z, r
        + units * 1  # tanh on candidate
        + units  # r * (h @ U_h)
        + 4 * units  # z*h + (1-z)*candidate
    )
    assert per_step == 260
    assert report.total == 5 * per_step


def test_gru_reset_before():
    report = _single_layer(layers.GRU(4, reset_after=False), (5, 3))
    per_step = 2 * 3 * 12 + 2 * 4 * 12 + 12 + 12 + 2 * 4 * 4 + 4 * 1 + 4 + 4 * 4
    assert report.total == 5 * per_step


def test_bidirectional_is_both_directions():
    lstm_per_step = 2 * 3 * 16 + 2 * 4 * 16 + 16 + 16 + 3 * 4 * 4 + 2 * 4 + 4 * 4
    concat = _single_layer(layers.Bidirectional(layers.LSTM(4)), (5, 3))
    assert concat.total == 2 * 5 * lstm_per_step
    keras.backend.clear_session()
    summed = _single_layer(layers.Bidirectional(layers.LSTM(4), merge_mode="sum"), (5, 3))
    assert summed.total == 2 * 5 * lstm_per_step + 4


def test_time_distributed_is_wrapped_times_steps():
    report = _single_layer(layers.TimeDistributed(layers.Dense(3)), (4, 5))
    assert report.total == 4 * (2 * 5 * 3 + 3)


def test_dynamic_timesteps_are_unknown():
    report = _single_layer(layers.LSTM(4, name="lstm"), (None, 3))
    assert report.unknown == ("lstm",)
    assert _row(report, "lstm").flops is None
    assert report.total == 0


# ---------------------------------------------------------------- elementwise


def test_elementwise_layers():
    inp = keras.Input((6,))
    a = layers.Dense(6, use_bias=False, name="a")(inp)
    b = layers.BatchNormalization(name="bn")(a)
    c = layers.Activation("sigmoid", name="act")(b)
    total = layers.Add(name="add")([a, b, c])
    avg = layers.Average(name="avg")([a, total])
    out = layers.LayerNormalization(name="ln")(layers.Dropout(0.5, name="drop")(avg))
    report = model_flops(keras.Model(inp, out))
    flops = {r.name: r.flops for r in report.layers}
    assert flops["bn"] == 2 * 6
    assert flops["act"] == 4 * 6
    assert flops["add"] == (3 - 1) * 6
    assert flops["avg"] == 2 * 6
    assert flops["drop"] == 0
    assert flops["ln"] == (5 + 1 + 1) * 6


def test_zero_cost_layers():
    inp = keras.Input((4, 4, 2))
    x = layers.ZeroPadding2D(1)(inp)
    x = layers.Cropping2D(1)(x)
    x = layers.Permute((2, 1, 3))(x)
    x = layers.Reshape((16, 2))(x)
    x = layers.Flatten()(x)
    x = layers.RepeatVector(2)(x)
    report = model_flops(keras.Model(inp, x))
    assert report.total == 0
    assert report.unknown == ()
    assert all(r.flops == 0 for r in report.layers)


# ---------------------------------------------------------------- graph structure


def test_shared_dense_counts_once_per_call():
    inp = keras.Input((6,))
    shared = layers.Dense(6, name="shared")
    out = shared(shared(inp))
    report = model_flops(keras.Model(inp, out))
    row = _row(report, "shared")
    assert row.flops == 2 * (2 * 6 * 6 + 6)
    assert row.output_shapes == ((None, 6), (None, 6))
    assert row.params == 6 * 6 + 6  # weights counted once


def test_layer_also_used_in_another_model_counts_only_this_models_calls():
    inp = keras.Input((6,))
    shared = layers.Dense(6, name="shared")
    first = keras.Model(inp, shared(inp))
    second = keras.Model(inp, shared(shared(inp)))
    assert model_flops(first).total == 2 * 6 * 6 + 6
    assert model_flops(second).total == 2 * (2 * 6 * 6 + 6)


def test_nested_model_is_counted_recursively():
    inner_in = keras.Input((5,))
    inner = keras.Model(inner_in, layers.Dense(3)(inner_in), name="inner")
    inp = keras.Input((5,))
    out = layers.Dense(2, name="head")(inner(inp))
    report = model_flops(keras.Model(inp, out))
    assert _row(report, "inner").flops == 2 * 5 * 3 + 3
    assert _row(report, "inner").class_name == "Functional"
    assert report.total == (2 * 5 * 3 + 3) + (2 * 3 * 2 + 2)
    assert layer_flops(inner, [(None, 5)], [(None, 3)]) == 2 * 5 * 3 + 3


def test_nested_sequential_called_twice():
    block = keras.Sequential([keras.Input((4,)), layers.Dense(4, activation="relu")], name="block")
    inp = keras.Input((4,))
    report = model_flops(keras.Model(inp, block(block(inp))))
    assert _row(report, "block").flops == 2 * (2 * 4 * 4 + 4 + 4)


def test_unknown_custom_layer_is_reported():
    inp = keras.Input((4,))
    x = Scale(name="scale")(inp)
    out = layers.Dense(2, name="d")(x)
    report = model_flops(keras.Model(inp, out))
    assert report.unknown == ("scale",)
    assert _row(report, "scale").flops is None
    assert report.total == 2 * 4 * 2 + 2


def test_unknown_layer_inside_nested_model_is_named_through_it():
    inner_in = keras.Input((4,))
    inner = keras.Model(inner_in, layers.Dense(4)(Scale(name="scale")(inner_in)), name="enc")
    inp = keras.Input((4,))
    report = model_flops(keras.Model(inp, inner(inp)))
    assert report.unknown == ("enc/scale",)
    assert report.total == 2 * 4 * 4 + 4  # the known part
    assert layer_flops(inner, [(None, 4)], [(None, 4)]) is None


def test_unknown_activation_makes_the_layer_unknown():
    def cube(x):
        return x * x * x

    report = _single_layer(layers.Dense(3, activation=cube, name="d"), (2,))
    assert report.unknown == ("d",)


def test_subclassed_model_is_refused():
    class Net(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(TypeError, match="Received: Net"):
        model_flops(Net())


# ---------------------------------------------------------------- registry


def test_subclass_inherits_parent_cost():
    class MyDense(layers.Dense):
        pass

    report = _single_layer(MyDense(3, name="mine"), (4,))
    assert _row(report, "mine").flops == 2 * 4 * 3 + 3


def test_registering_a_cost_makes_a_custom_layer_known():
    class Doubler(layers.Layer):
        def call(self, x):
            return 2.0 * x

    @flops_of(Doubler)
    def _doubler(layer, input_shapes, output_shapes):
        return output_shapes[0][-1]

    report = _single_layer(Doubler(name="dbl"), (7,))
    assert report.unknown == ()
    assert report.total == 7


def test_registering_twice_raises():
    with pytest.raises(ValueError, match="already registered for Dense"):
        flops_of(layers.Dense)(lambda layer, i, o: 0)
    report = _single_layer(layers.Dense(3), (4,))
    assert report.total == 2 * 4 * 3 + 3  # the original cost is still in place


# ---------------------------------------------------------------- cross-check


def test_conv_net_matches_tensorflow_profiler():
    import tensorflow as tf

    inp = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, padding="same")(inp)
    x = layers.Conv2D(5, 3, strides=2)(x)
    x = layers.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
    out = layers.Dense(7)(layers.Flatten()(x))
    model = keras.Model(inp, out)

    spec = tf.TensorSpec((1, 8, 8, 3), tf.float32)
    # The traced graph itself: its variable reads have static shapes, which is all
    # the profiler needs (no freezing into constants).
    graph = tf.function(model).get_concrete_function(spec).graph
    profiler = tf.compat.v1.profiler
    options = (
        profiler.ProfileOptionBuilder(profiler.ProfileOptionBuilder.float_operation())
        .with_empty_output()
        .build()
    )
    root = profiler.profile(graph, cmd="scope", options=options)
    counted = {"Conv2D", "DepthwiseConv2dNative", "MatMul", "BiasAdd"}
    tf_flops = sum(
        node.float_ops
        for node in root.children
        if graph.get_operation_by_name(node.name).type in counted
    )
    assert tf_flops == model_flops(model).total == 18002 + 3 * 3 * 5 * (2 * 3 * 3)


# ---------------------------------------------------------------- keras-blueprints' layers


def test_table_conv2d_costs_the_dense_convolution_it_runs():
    from keras_blueprints.layers.table import TableConv2D

    layer = TableConv2D(table=[[0], [0, 1], [1, 2]], kernel_size=[3, 2], activation="tanh")
    report = _single_layer(layer, (6, 6, 3))
    out = 4 * 5 * 3  # valid 3x2 over 6x6, 3 maps
    assert report.total == 2 * (3 * 2 * 3) * out + out + out == 2280  # taps, bias, tanh


def test_leaky_rnn_cell_costs_a_simple_rnn_step_plus_the_leak():
    from keras_blueprints.layers.leaky import LeakyRNNCell

    plain = _single_layer(layers.RNN(LeakyRNNCell(4)), (5, 3))
    per_step = 2 * 3 * 4 + 2 * 4 * 4 + 4 + 4 + 4 * 1 + 4 * 4  # + (1 - a) * h + a * tanh
    assert plain.total == 5 * per_step == 420
    cell = LeakyRNNCell(4, alpha=0.5, learn_alpha=True, skip=2)
    both = _single_layer(layers.RNN(cell), (5, 3))
    assert both.total == 5 * (per_step + 2 * 4 * 4 + 4 + 4 * 4) == 680  # skip; sigmoid(rates)
    other = _single_layer(layers.RNN(layers.GRUCell(4), name="gru_cell"), (5, 3))
    assert other.unknown == ("gru_cell",)  # no formula for an RNN of another cell


def test_threshold_and_transformer_layers():
    from keras_blueprints.layers.threshold import Heaviside, HopfieldNet, Sign, ThresholdUnit
    from keras_blueprints.layers.transformer import CausalMask, ClassToken, PositionEmbedding

    cases = [
        (ThresholdUnit([1, 1, 1, 1]), (5, 4), (2 * 4 + 1) * 5),  # a dot product, a comparison
        (Heaviside(), (6,), 6),
        (Sign(), (6,), 3 * 6),
        (PositionEmbedding(), (5, 4), 5 * 4),
        (PositionEmbedding(add=False), (5, 4), 0),
        (CausalMask(), (5, 4), 5 * 5),
        (ClassToken(), (5, 4), 0),
    ]
    for layer, shape, flops in cases:
        report = _single_layer(layer, shape)
        assert (report.total, report.unknown) == (flops, ()), type(layer).__name__
        assert _single_layer(HopfieldNet(name="hopfield"), (6,)).unknown == ("hopfield",)
