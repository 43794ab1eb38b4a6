"""The blueprint language: each construct resolves to the expected nodes."""

from __future__ import annotations

import textwrap

import pytest

import keras_blueprints as kb
from keras_blueprints.resolve.schema import NestedLayer, Ref


def load(text: str, **kw):
    return kb.load(textwrap.dedent(text).lstrip("\n"), **kw)


def names(bp):
    return [n.name for n in bp.nodes]


def edges(bp):
    return {n.name: [str(r) for r in n.inputs] for n in bp.nodes}


def test_plain_list_is_a_sequential_chain():
    bp = load(
        """
        inputs: {x: [4]}
        graph:
          - Dense: {units: 8}
          - dense: {units: 8}
          - Dropout: {rate: 0.5}
          - Dense: {units: 2}
        """
    )
    assert names(bp) == ["dense", "dense_1", "dropout", "dense_2"]
    assert edges(bp) == {
        "dense": ["x"],
        "dense_1": ["dense"],
        "dropout": ["dense_1"],
        "dense_2": ["dropout"],
    }
    assert [n.type for n in bp.nodes] == ["Dense", "Dense", "Dropout", "Dense"]
    assert bp.outputs == (Ref("dense_2"),)
    assert bp.output_names == ("dense_2",)


def test_automatic_names_skip_the_names_already_taken():
    bp = load(
        """
        inputs: {x: [4]}
        graph:
          - Dense: {units: 8}
          - {name: dense_2, Dense: {units: 8}}
          - Dense: {units: 8}
          - Dense: {units: 8}
          - {name: dense_4, Dense: {units: 8}}
          - Dense: {units: 2}
        """
    )
    assert names(bp) == ["dense", "dense_2", "dense_1", "dense_3", "dense_4", "dense_5"]


def test_bare_layer_name_and_null_args():
    bp = load(
        """
        inputs: {x: [2, 2]}
        graph:
          - Flatten
          - ReLU:
        """
    )
    assert [(n.type, dict(n.args)) for n in bp.nodes] == [("Flatten", {}), ("ReLU", {})]


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("conv2d", "Conv2D"),
        ("Convolution2D", "Conv2D"),
        ("batchnorm", "BatchNormalization"),
        ("batch_normalization", "BatchNormalization"),
        ("maxpool2d", "MaxPooling2D"),
        ("MaxPool2D", "MaxPooling2D"),
        ("max_pooling2d", "MaxPooling2D"),
        ("globalavgpool2d", "GlobalAveragePooling2D"),
        ("conv2d_transpose", "Conv2DTranspose"),
        ("lstm", "LSTM"),
        ("concat", "Concatenate"),
    ],
)
def test_aliases_resolve_to_the_keras_class(alias, canonical):
    args = "{filters: 2, kernel_size: 1}" if canonical.startswith("Conv") else "{}"
    if canonical == "LSTM":
        args = "{units: 2}"
    shape = "[4, 4, 2]" if canonical != "LSTM" else "[3, 2]"
    frm = "\n    from: [x, x]" if canonical == "Concatenate" else ""
    bp = load(f"inputs: {{x: {shape}}}\ngraph:\n  - {alias}: {args}{frm}\n")
    assert bp.nodes[0].type == canonical


def test_dag_with_named_inputs_merges_and_multiple_outputs():
    bp = load(
        """
        inputs:
          image: {shape: [8]}
          meta: {shape: [3], dtype: float32}
        graph:
          - name: a
            from: image
            Dense: {units: 4}
          - name: b
            from: meta
            Dense: {units: 4}
          - name: merged
            from: [a, b]
            Concatenate: {}
          - name: head1
            Dense: {units: 1}
          - name: head2
            from: merged
            Dense: {units: 2, activation: softmax}
        outputs: [head1, head2]
        """
    )
    assert edges(bp)["merged"] == ["a", "b"]
    assert edges(bp)["head1"] == ["merged"]
    assert bp.output_names == ("head1", "head2")


def test_forward_references_are_ordered_topologically():
    bp = load(
        """
        inputs: {x: [4]}
        graph:
          - name: late
            from: early
            Dense: {units: 2}
          - name: early
            from: x
            Dense: {units: 3}
        outputs: [late]
        """
    )
    assert names(bp) == ["early", "late"]


def test_shared_layer_used_twice():
    bp = load(
        """
        inputs: {a: [4], b: [4]}
        graph:
          - name: embed
            from: a
            Dense: {units: 3}
          - name: embed_b
            share: embed
            from: b
          - name: distance
            from: [embed, embed_b]
            Subtract: {}
        """
    )
    shared = bp.node("embed_b")
    assert (shared.kind, shared.share, shared.type) == ("share", "embed", "Dense")


def test_params_expressions_keep_types_and_interpolate():
    bp = load(
        """
        params:
          width: 16
          classes: 9
          half: ${width // 2}
          rate: ${1 / 4}
          act: relu
        inputs: {x: ["${width}"]}
        graph:
          - name: fc_${act}
            Dense: {units: "${max(half, classes + 1)}", activation: "${act}"}
          - Dropout: {rate: "${rate}"}
          - Dense: {units: "${classes}"}
        """
    )
    assert dict(bp.params) == {"width": 16, "classes": 9, "half": 8, "rate": 0.25, "act": "relu"}
    assert bp.inputs[0].shape == (16,)
    fc = bp.node("fc_relu")
    assert fc.args["units"] == 10 and isinstance(fc.args["units"], int)
    assert fc.args["activation"] == "relu"
    assert bp.nodes[1].args["rate"] == 0.25


def test_params_may_refer_to_later_params():
    bp = load(
        """
        params: {a: "${b * 2}", b: 3}
        inputs: {x: [1]}
        graph: [{Dense: {units: "${a}"}}]
        """
    )
    assert bp.nodes[0].args["units"] == 6


def test_repeat_node_with_index():
    bp = load(
        """
        inputs: {x: [4]}
        graph:
          - repeat: 3
            name: fc${i}
            Dense: {units: "${2 ** (i + 1)}"}
        """
    )
    assert [(n.name, n.args["units"]) for n in bp.nodes] == [("fc0", 2), ("fc1", 4), ("fc2", 8)]
    assert edges(bp) == {"fc0": ["x"], "fc1": ["fc0"], "fc2": ["fc1"]}


def test_repeat_group_nested_with_named_indices():
    bp = load(
        """
        inputs: {x: [32, 32, 3]}
        graph:
          - repeat: 2
            as: stage
            graph:
              - repeat: 2
                as: layer
                name: s${stage}_conv${layer}
                Conv2D: {filters: "${8 * 2 ** stage}", kernel_size: 3, padding: same}
              - name: s${stage}_pool
                MaxPooling2D: {}
        """
    )
    assert names(bp) == [
        "s0_conv0", "s0_conv1", "s0_pool", "s1_conv0", "s1_conv1", "s1_pool",
    ]  # fmt: skip
    assert [n.args.get("filters") for n in bp.nodes] == [8, 8, None, 16, 16, None]
    assert edges(bp)["s1_conv0"] == ["s0_pool"]


def test_repeat_zero_and_when_false_skip_nodes():
    bp = load(
        """
        params: {use_bn: false, extra: 0}
        inputs: {x: [4]}
        graph:
          - Dense: {units: 4}
          - when: ${use_bn}
            BatchNormalization: {}
          - repeat: ${extra}
            Dense: {units: 4}
          - name: out
            Dense: {units: 1}
        """
    )
    assert names(bp) == ["dense", "out"]
    assert edges(bp)["out"] == ["dense"]


def test_yaml_block_expands_to_prefixed_layers():
    bp = load(
        """
        blocks:
          conv_bn:
            params:
              filters: int
              kernel_size: {type: int, default: 3}
              activation: {type: str, default: relu, choices: [relu, tanh]}
            graph:
              - name: conv
                Conv2D: {filters: "${filters}", kernel_size: "${kernel_size}", padding: same}
              - name: bn
                BatchNormalization: {}
              - name: act
                Activation: {activation: "${activation}"}
        inputs: {x: [8, 8, 3]}
        graph:
          - name: stem
            conv_bn: {filters: 16, kernel_size: 5}
          - conv_bn: {filters: 32, activation: tanh}
          - conv_bn: {filters: 32}
        """
    )
    assert names(bp) == [
        "stem_conv", "stem_bn", "stem_act",
        "conv_bn_conv", "conv_bn_bn", "conv_bn_act",
        "conv_bn_1_conv", "conv_bn_1_bn", "conv_bn_1_act",
    ]  # fmt: skip
    assert bp.node("stem_conv").args["kernel_size"] == 5
    assert bp.node("conv_bn_act").args["activation"] == "tanh"
    assert bp.node("conv_bn_1_conv").args["kernel_size"] == 3
    assert edges(bp)["conv_bn_conv"] == ["stem_act"]
    assert bp.node("stem_conv").context == "in block 'stem'"


def test_block_with_two_inputs_and_named_outputs():
    bp = load(
        """
        blocks:
          fuse:
            inputs: [left, right]
            graph:
              - name: cat
                from: [left, right]
                Concatenate: {}
              - name: proj
                Dense: {units: 2}
            outputs: [proj, cat]
        inputs: {a: [3], b: [3]}
        graph:
          - name: f
            from: [a, b]
            fuse: {}
          - name: head
            from: [f.proj, f.cat]
            Concatenate: {}
        """
    )
    assert edges(bp)["f_cat"] == ["a", "b"]
    assert edges(bp)["head"] == ["f_proj", "f_cat"]


def test_blocks_can_use_blueprint_params_and_repeat_inside():
    bp = load(
        """
        params: {width: 6}
        blocks:
          stack:
            params: {depth: int}
            graph:
              - repeat: ${depth}
                name: fc${i}
                Dense: {units: "${width}"}
        inputs: {x: [2]}
        graph:
          - name: s
            stack: {depth: 2}
        """
    )
    assert [(n.name, n.args["units"]) for n in bp.nodes] == [("s_fc0", 6), ("s_fc1", 6)]


def test_multi_output_layer_and_call_inputs():
    bp = load(
        """
        inputs:
          enc_in: {shape: [null, 5]}
          dec_in: {shape: [null, 5]}
        graph:
          - name: enc
            from: enc_in
            LSTM: {units: 8, return_state: true}
          - name: dec
            from: {inputs: dec_in, initial_state: [enc.1, enc.2]}
            LSTM: {units: 8, return_sequences: true}
        """
    )
    dec = bp.node("dec")
    assert [str(r) for r in dec.inputs] == ["dec_in"]
    assert [str(r) for r in dec.call_inputs["initial_state"]] == ["enc.1", "enc.2"]
    assert bp.inputs[0].shape == (None, 5)


def test_nested_layer_arguments():
    bp = load(
        """
        inputs: {x: [null, 3]}
        graph:
          - Bidirectional:
              layer: {LSTM: {units: 4}}
              backward_layer: {lstm: {units: 4, go_backwards: true}}
        """
    )
    args = bp.nodes[0].args
    assert args["layer"] == NestedLayer("LSTM", {"units": 4})
    assert args["backward_layer"].type == "LSTM"


def test_layer_name_argument_names_the_node():
    bp = load(
        """
        inputs: {x: [2]}
        graph:
          - Dense: {units: 1, name: out}
        """
    )
    assert names(bp) == ["out"] and "name" not in bp.nodes[0].args


def test_inputs_shorthand_and_dtypes():
    bp = load(
        """
        inputs:
          tokens: {shape: [null], dtype: int32}
          pixels: [4, 4]
        graph:
          - name: emb
            from: tokens
            Embedding: {input_dim: 10, output_dim: 4}
          - name: pool
            GlobalAveragePooling1D: {}
          - name: flat
            from: pixels
            Flatten: {}
          - name: cat
            from: [pool, flat]
            Concatenate: {}
        """
    )
    assert [(i.name, i.shape, i.dtype) for i in bp.inputs] == [
        ("tokens", (None,), "int32"),
        ("pixels", (4, 4), "float32"),
    ]


def test_compile_section():
    bp = load(
        """
        inputs: {x: [4]}
        graph:
          - name: a
            Dense: {units: 2}
          - name: b
            from: x
            Dense: {units: 1}
        outputs: [a, b]
        compile:
          optimizer: {SGD: {learning_rate: 0.1, momentum: 0.9, nesterov: true}}
          loss: {a: sparse_categorical_crossentropy, b: mse}
          loss_weights: {a: 1.0, b: 0.3}
          metrics: {a: [accuracy]}
        """
    )
    spec = bp.compile
    assert spec.optimizer == "SGD"
    assert dict(spec.optimizer_args) == {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}
    assert dict(spec.loss) == {"a": "sparse_categorical_crossentropy", "b": "mse"}
    assert dict(spec.loss_weights) == {"a": 1.0, "b": 0.3}


def test_blueprint_is_frozen():
    bp = load("inputs: {x: [2]}\ngraph: [{Dense: {units: 1}}]\n")
    with pytest.raises(AttributeError):
        bp.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        bp.nodes[0].args["units"] = 3  # type: ignore[index]


def test_load_blueprint_again_with_overrides():
    bp = kb.load("zoo:mlp")
    wider = kb.load(bp, overrides=["params.width=256"])
    assert bp.node("hidden1").args["units"] == 128
    assert wider.node("hidden1").args["units"] == 256
    assert wider.node("hidden2").args["units"] == 128


def test_default_name_comes_from_the_file(tmp_path):
    path = tmp_path / "tiny_net.yaml"
    path.write_text("inputs: {x: [2]}\ngraph: [{Dense: {units: 1}}]\n")
    assert kb.load(path).name == "tiny_net"
    assert kb.load(str(path)).source == str(path)
