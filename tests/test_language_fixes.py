"""Fixes from issue 12: names authors could not write, and hints where they are likely wrong.

A block's node names are checked as full layer names, a reference into a block
instance says block internals are private, ``resolve --why`` accepts names a
``repeat`` generated, and ``set:`` reaches ``inputs.NAME.shape`` of an input
written in short form (``x: [8]``).
"""

from __future__ import annotations

import textwrap

import pytest

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError, BlueprintErrors
from keras_blueprints.cli import main


def load(text: str):
    return kb.load(textwrap.dedent(text).lstrip("\n"))


def error_of(text: str) -> BlueprintError:
    with pytest.raises(BlueprintError) as info:
        load(text)
    err = info.value
    if isinstance(err, BlueprintErrors):
        assert len(err.errors) == 1
        err = err.errors[0]
    return err


DIGIT_NODE = """
blocks:
  stage:
    graph:
      - name: 0_conv
        Dense: {units: 3}
      - name: 1_relu
        ReLU: {}
inputs: {x: [4]}
graph:
  - name: conv2_block1
    stage: {}
"""


def test_a_block_node_name_may_start_with_a_digit_when_the_full_name_is_valid():
    bp = load(DIGIT_NODE)
    assert [n.name for n in bp.nodes] == ["conv2_block1_0_conv", "conv2_block1_1_relu"]


def test_a_block_node_name_starting_with_a_digit_builds_the_keras_applications_name():
    model = kb.build(load(DIGIT_NODE))
    assert model.get_layer("conv2_block1_0_conv").units == 3


def test_a_top_level_node_name_starting_with_a_digit_is_still_refused_located():
    err = error_of(
        """
        inputs: {x: [4]}
        graph:
          - name: 0_conv
            Dense: {units: 3}
        """
    )
    assert (err.location.line, err.location.col) == (3, 11)
    assert err.message.startswith("a node name must be")


def test_a_block_node_name_invalid_as_a_full_name_is_still_refused_located():
    err = error_of(
        """
        blocks:
          stage:
            graph:
              - name: "conv.x"
                Dense: {units: 3}
        inputs: {x: [4]}
        graph:
          - name: b
            stage: {}
        """
    )
    assert (err.location.line, err.location.col) == (4, 15)
    assert err.message.startswith("a node name must be")


TWO_OUTPUTS = """
blocks:
  pair:
    graph:
      - name: hidden
        Dense: {units: 3}
      - name: left
        Dense: {units: 2}
      - name: right
        Dense: {units: 2}
        from: hidden
    outputs: [left, right]
inputs: {x: [4]}
graph:
  - name: enc
    pair: {}
  - Dense: {units: 1}
    from: %s
"""


@pytest.mark.parametrize("ref", ["enc_hidden", "enc.hidden"])
def test_a_reference_inside_a_block_instance_says_internals_are_private(ref):
    err = error_of(TWO_OUTPUTS % ref)
    assert (err.location.line, err.location.col) == (17, 11)
    assert "are private" in err.hint
    assert "enc.left, enc.right" in err.hint


def test_an_unknown_reference_unlike_an_instance_gets_no_private_hint():
    err = error_of(TWO_OUTPUTS % "encoder_x")
    assert (err.location.line, err.location.col) == (17, 11)
    assert "private" not in (err.hint or "")


REPEATED = """\
params: {width: 8}
inputs: {x: [4]}
graph:
  - repeat: 2
    graph:
      - name: hidden${i + 1}
        Dense: {units: "${width}", activation: relu}
"""


def test_resolve_why_accepts_a_node_name_generated_by_a_repeat(tmp_path, capsys):
    path = tmp_path / "deep.yaml"
    path.write_text(REPEATED)
    assert main(["resolve", str(path), "--why", "graph.hidden2.units"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["graph.hidden2.units = 8", f"  set by {path}:7:24"]


def test_resolve_why_on_a_generated_node_refuses_an_argument_it_lacks(tmp_path, capsys):
    path = tmp_path / "deep.yaml"
    path.write_text(REPEATED)
    assert main(["resolve", str(path), "--why", "graph.hidden2.unit"]) != 0
    err = capsys.readouterr().err
    assert "--why graph.hidden2.unit: error: 'unit' is not an argument" in err


def test_a_block_node_whose_name_starts_with_a_digit_can_be_referenced():
    bp = load(
        """
        blocks:
          bottleneck:
            graph:
              - {name: 0_conv, Dense: {units: 3}}
              - {name: 1_conv, from: x, Dense: {units: 3}}
              - {name: add, from: [0_conv, 1_conv], Add: {}}
        inputs: {x: [4]}
        graph:
          - {name: conv2_block1, bottleneck: {}}
        """
    )
    add = next(n for n in bp.nodes if n.name == "conv2_block1_add")
    assert [i.node for i in add.inputs] == ["conv2_block1_0_conv", "conv2_block1_1_conv"]


# -- set: reaches inputs.NAME.shape, whichever form the input is written in ---------------

SHORT_INPUT = """
inputs:
  x: [8, 3]
graph:
  - Dense: {units: 2}
"""

LONG_INPUT = """
inputs:
  x: {shape: [8, 3]}
graph:
  - Dense: {units: 2}
"""


@pytest.mark.parametrize("text", [SHORT_INPUT, LONG_INPUT], ids=["short", "long"])
def test_set_reaches_the_shape_of_an_input_in_either_form(text):
    bp = load(text + "set: {inputs.x.shape: [16]}\n")
    assert bp.inputs[0].shape == (16,)


@pytest.mark.parametrize("text", [SHORT_INPUT, LONG_INPUT], ids=["short", "long"])
def test_an_override_reaches_the_shape_and_dtype_of_an_input_in_either_form(text):
    bp = kb.load(
        textwrap.dedent(text).lstrip("\n"),
        overrides=["inputs.x.shape=[4, 5]", "inputs.x.dtype=float16"],
    )
    assert (bp.inputs[0].shape, bp.inputs[0].dtype) == ((4, 5), "float16")


def test_an_index_into_a_short_form_input_still_sets_one_dimension():
    bp = kb.load(textwrap.dedent(SHORT_INPUT).lstrip("\n"), overrides=["inputs.x.1=7"])
    assert bp.inputs[0].shape == (8, 7)


def test_a_short_form_input_keeps_its_locations_once_set_reaches_it():
    # The dtype set reaches the short form; the shape's own mistake is still told
    # where the list was written: line 2, column 6.
    text = "inputs:\n  x: [8, 0]\ngraph:\n  - Dense: {units: 2}\n"
    with pytest.raises(BlueprintError) as info:
        kb.load(text, overrides=["inputs.x.dtype=int32"])
    err = info.value
    errors = list(err.errors) if isinstance(err, BlueprintErrors) else [err]
    assert [(e.location.line, e.location.col) for e in errors] == [(2, 6)]
    assert errors[0].message == "the shape of input 'x' is not valid"


def test_a_misspelt_field_of_a_short_form_input_says_the_closest(tmp_path, capsys):
    path = tmp_path / "short.yaml"
    path.write_text(textwrap.dedent(SHORT_INPUT).lstrip("\n"))
    assert main(["validate", "--no-build", str(path), "--set", "inputs.x.shap=[3]"]) == 2
    err = capsys.readouterr().err
    assert "--set inputs.x.shap=[3]: error: 'shap' is not a field of input 'x'" in err
    assert "Did you mean 'shape'?" in err


def test_set_on_the_command_line_reaches_a_short_form_input_with_its_history(tmp_path, capsys):
    path = tmp_path / "short.yaml"
    path.write_text(textwrap.dedent(SHORT_INPUT).lstrip("\n"))
    assert main(["validate", "--no-build", str(path), "--set", "inputs.x.shape=[16]"]) == 0
    capsys.readouterr()
    why = ["resolve", str(path), "--why", "inputs.x.shape", "--set", "inputs.x.shape=[16]"]
    assert main(why) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "inputs.x.shape = [16]",
        "  set by --set inputs.x.shape=[16]",
        f"  overriding {path}:2:6",
    ]
