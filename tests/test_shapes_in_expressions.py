"""``shape("NAME")`` in a graph's expressions, and behaviours of blocks and ``set:`` (issue 12).

A block written in YAML reads its input's shape at load (``${shape("x")[-1]}``),
worked out by the same TensorFlow-free rules as the parameter budget; a shape the
load cannot know is an error at the name, saying why.
"""

from __future__ import annotations

import textwrap

import pytest

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError, BlueprintErrors, Location
from keras_blueprints.loading.document import load_document


def load(text: str):
    return kb.load(textwrap.dedent(text).lstrip("\n"))


def error_of(text: str) -> BlueprintError:
    with pytest.raises(BlueprintError) as info:
        load(text)
    err = info.value
    if isinstance(err, BlueprintErrors):
        assert len(err.errors) == 1, err
        err = err.errors[0]
    return err


RESIDUAL = """
inputs:
  img: {shape: [8, 8, 3]}
blocks:
  residual:
    params: {filters: int}
    graph:
      - Conv2D: {filters: "${filters}", kernel_size: 3, padding: same, name: conv}
      - Conv2D: {filters: "${shape('x')[-1]}", kernel_size: 1, name: up}
      - Add: {}
        from: [x, up]
graph:
  - residual: {filters: 4}
  - Conv2D: {filters: 6, kernel_size: 1, name: widen}
  - residual: {filters: 5}
"""


def test_a_block_up_projects_to_its_own_input_channels():
    bp = load(RESIDUAL)
    filters = {n.name: n.args.get("filters") for n in bp.nodes if n.type == "Conv2D"}
    assert filters == {
        "residual_conv": 4,
        "residual_up": 3,  # the first instance's input has 3 channels
        "widen": 6,
        "residual_1_conv": 5,
        "residual_1_up": 6,  # the second's, 6
    }
    model = kb.build(bp)
    # 3*3*3*4+4 + 4*3+3 | 3*6+6 | 3*3*6*5+5 + 5*6+6
    assert model.count_params() == 112 + 15 + 24 + 275 + 36 == 462
    assert model.get_layer("residual_1_add").output.shape[1:] == (8, 8, 6)


def test_shape_of_an_unknown_name_is_located_with_a_did_you_mean():
    err = error_of(RESIDUAL.replace("shape('x')", "shape('xx')"))
    assert err.location == Location("<string>", 8, 36)  # at 'xx'
    assert err.message == "'xx' is not a node or input defined here"
    assert err.received == "xx"
    assert err.hint.startswith("Did you mean 'x'?")


def test_shape_reads_model_inputs_nodes_and_block_instances_in_the_graph():
    bp = load(
        """
        inputs:
          seq: {shape: [null, 12]}
        blocks:
          pair:
            graph:
              - Dense: {units: 7, name: a}
              - Dense: {units: 9, name: b}
                from: x
            outputs: [a, b]
        graph:
          - pair: {}
            name: p
          - Dense: {units: "${shape('seq')[-1] + len(shape('seq'))}", name: d1}
            from: p.b
          - Dense: {units: "${shape('p.b')[-1] + shape('p')[-1]}", name: d2}
            from: p.a
          - Concatenate: {}
            from: [d1, d2]
          - Dense: {units: "${shape('concatenate')[-1]}", name: out}
        outputs: [out]
        """
    )
    units = {n.name: n.args.get("units") for n in bp.nodes if n.type == "Dense"}
    assert units == {"p_a": 7, "p_b": 9, "d1": 14, "d2": 16, "out": 30}


def test_unknown_dimensions_are_null():
    bp = load(
        """
        inputs:
          seq: {shape: [null, 12]}
        params:
          n: 1
        graph:
          - Dense: {units: "${3 if shape('seq')[0] == null else 4}"}
        """
    )
    assert bp.nodes[0].args["units"] == 3


def test_when_can_test_a_shape():
    text = """
    inputs:
      img: {shape: [8, 8, CHANNELS]}
    blocks:
      shortcut:
        params: {filters: int}
        graph:
          - Conv2D: {filters: "${filters}", kernel_size: 3, padding: same, name: conv}
          - Conv2D: {filters: "${filters}", kernel_size: 1, name: proj}
            from: x
            when: ${shape('x')[-1] != filters}
          - Add: {name: add}
            from: [proj, conv]
            when: ${shape('x')[-1] != filters}
          - Add: {name: add}
            from: [x, conv]
            when: ${shape('x')[-1] == filters}
    graph:
      - shortcut: {filters: 4}
    """
    projected = [n.name for n in load(text.replace("CHANNELS", "3")).nodes]
    same = [n.name for n in load(text.replace("CHANNELS", "4")).nodes]
    assert projected == ["shortcut_conv", "shortcut_proj", "shortcut_add"]
    assert same == ["shortcut_conv", "shortcut_add"]


def test_a_python_blocks_output_shape_is_not_known_at_load():
    err = error_of(
        """
        inputs:
          img: {shape: [8, 8, 3]}
        graph:
          - basic_block: {filters: 4}
            name: stem
          - Conv2D: {filters: "${shape('stem')[-1]}", kernel_size: 1}
        """
    )
    assert err.location == Location("<string>", 6, 32)
    assert err.message == "the shape of 'stem' is not known at load"
    assert "Python block 'basic_block'" in err.hint
    assert err.hint.endswith("Pass the value as a parameter instead.")


def test_a_layer_without_a_shape_rule_is_named_in_the_error():
    err = error_of(
        """
        inputs:
          img: {shape: [8, 8, 3]}
        graph:
          - ZeroPadding2D: {padding: 1}
            name: pad
          - Dense: {units: 3}
          - Conv2D: {filters: "${shape('dense')[-1]}", kernel_size: 1}
        """
    )
    assert err.location == Location("<string>", 7, 32)
    assert err.message == "the shape of 'dense' is not known at load"
    assert "ZeroPadding2D ('pad') has no shape rule" in err.hint


def test_shape_of_a_failed_node_adds_no_knock_on_error():
    err = error_of(
        """
        inputs:
          img: {shape: [8, 8, 3]}
        graph:
          - Conv2D: {filtres: 4, kernel_size: 1}
            name: a
          - Conv2D: {filters: "${shape('a')[-1]}", kernel_size: 1}
        """
    )
    assert err.message == "'filtres' is not an argument of Conv2D"


def test_shape_outside_a_graph_is_located():
    with pytest.raises(BlueprintError) as info:
        load(
            """
            params:
              width: "${shape('img')[-1]}"
            inputs:
              img: {shape: [8, 8, 3]}
            graph:
              - Dense: {units: "${width}"}
            """
        )
    errors = info.value.errors if isinstance(info.value, BlueprintErrors) else [info.value]
    err = errors[0]
    assert err.location == Location("<string>", 2, 13)  # at shape
    assert err.message == "shape() is not available here"


def test_per_stage_start_indices_with_cumsum_and_slices():
    bp = load(
        """
        params:
          blocks: [2, 1, 3]
          starts: "${cumsum([0] + blocks)[:-1]}"
        inputs:
          x: {shape: [4]}
        graph:
          - repeat: "${len(blocks)}"
            as: stage
            graph:
              - repeat: "${blocks[stage]}"
                graph:
                  - Dense: {units: 2, name: "b${starts[stage] + i}"}
        """
    )
    assert [n.name for n in bp.nodes] == ["b0", "b1", "b2", "b3", "b4", "b5"]


# -- behaviours authors rely on --------------------------------------------------------


def test_a_block_whose_last_node_is_switched_off_outputs_the_last_node_left():
    bp = load(
        """
        inputs:
          x: {shape: [4]}
        params:
          norm: false
        blocks:
          layer:
            graph:
              - Dense: {units: 3, name: dense}
              - LayerNormalization: {}
                when: ${norm}
        graph:
          - layer: {}
            name: l
          - Dense: {units: 2, name: out}
        """
    )
    assert [n.name for n in bp.nodes] == ["l_dense", "out"]
    assert [r.node for r in bp.nodes[1].inputs] == ["l_dense"]


def test_set_reaches_an_inputs_shape(tmp_path):
    (tmp_path / "base.yaml").write_text(
        "inputs:\n  x: {shape: [8]}\ngraph:\n  - Dense: {units: 2}\n", encoding="utf-8"
    )
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\nset:\n  inputs.x.shape: [16]\n", encoding="utf-8")
    assert kb.load(child).inputs[0].shape == (16,)
    doc = load_document(child)
    assert doc.sources.value(("inputs", "x", "shape")) == Location(str(child), 3, 19)
