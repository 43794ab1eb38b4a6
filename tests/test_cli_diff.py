"""`blueprint diff` and the pure comparison behind it, `diff_blueprints`."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import keras_blueprints as kb
from keras_blueprints.cli import main
from keras_blueprints.views.diffing import (
    ABSENT,
    BlueprintDiff,
    Change,
    Defaulted,
    ItemDiff,
    diff_blueprints,
    format_diff,
    format_value,
    same,
)

# Parameter counts worked out by hand.
LENET5_PARAMS = 61_706  # 156 + 2,416 + 48,120 + 10,164 + 850
LENET5_C1_8_PARAMS = 62_558  # c1: 5*5*1*8 + 8 = 208 (+52); c3: 5*5*8*16 + 16 = 3,216 (+800)
MLP_PARAMS = 17_226  # 64*128+128 + 128*64+64 + 64*10+10
MLP_DEPTH3_PARAMS = 18_986  # + hidden3 64*32+32 = 2,080; output 32*10+10 = 330 (-320)

OLD = """\
name: old
inputs:
  image: {shape: [28, 28, 1]}
  mask: {shape: [4]}
graph:
  - name: conv
    Conv2D: {filters: 8, kernel_size: 3}
    from: image
  - name: pool
    MaxPooling2D: {}
  - name: flat
    Flatten: {}
  - name: extra
    Dense: {units: 4}
  - name: gate
    Multiply: {}
    from: [extra, mask]
  - name: twin
    share: extra
    from: mask
  - name: head
    Dense: {units: 10, activation: softmax}
    from: flat
outputs: [head, gate, twin]
compile:
  optimizer: {adam: {learning_rate: 0.001}}
  loss: [sparse_categorical_crossentropy, mse, mse]
"""

NEW = """\
name: new
inputs:
  image: {shape: [32, 32, 1], dtype: float16}
  mask: {shape: [4]}
graph:
  - name: conv
    DepthwiseConv2D: {kernel_size: 3}
    from: image
  - name: pool
    MaxPooling2D: {pool_size: 3}
  - name: flat
    Flatten: {}
  - name: extra
    Dense: {units: 4}
  - name: other
    Dense: {units: 4}
    from: extra
  - name: twin
    share: other
    from: mask
  - name: head
    Dense: {units: 10, activation: softmax}
    from: flat
outputs: [head, twin]
compile:
  optimizer: sgd
  loss: [sparse_categorical_crossentropy, mse]
  jit_compile: false
"""


def _write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# -- diff_blueprints --------------------------------------------------------------------


def test_identical_blueprints():
    diff = diff_blueprints(kb.load("zoo:lenet5"), kb.load("zoo:lenet5"))
    assert diff == BlueprintDiff()
    assert diff.identical
    assert format_diff(diff) == []


def test_one_changed_argument():
    diff = diff_blueprints(kb.load("zoo:lenet5"), kb.load("zoo:lenet5", ["graph.c1.filters=8"]))
    assert not diff.identical
    assert diff == BlueprintDiff(changed=(ItemDiff("c1", "Conv2D", (Change("filters", 6, 8),)),))
    assert format_diff(diff) == ["~ c1: Conv2D filters 6 -> 8"]


def test_a_parameter_changes_every_node_that_uses_it():
    diff = diff_blueprints(kb.load("zoo:lenet5"), kb.load("zoo:lenet5", ["params.activation=relu"]))
    assert format_diff(diff) == [
        f"~ {name}: {kind} activation tanh -> relu"
        for name, kind in (("c1", "Conv2D"), ("c3", "Conv2D"), ("c5", "Conv2D"), ("f6", "Dense"))
    ]


def test_an_argument_left_at_its_default_is_compared_with_the_default():
    base = kb.load("zoo:lenet5")
    assert diff_blueprints(base, kb.load("zoo:lenet5", ["graph.c1.padding=valid"])).identical
    diff = diff_blueprints(base, kb.load("zoo:lenet5", ["graph.c1.padding=same"]))
    (item,) = diff.changed
    assert item.changes == (Change("padding", Defaulted("valid"), "same"),)
    assert format_diff(diff) == ["~ c1: Conv2D padding valid (default) -> same"]


def test_a_number_matches_a_tuple_default_of_that_number():
    base = kb.load("zoo:lenet5")
    same_pool = kb.load("zoo:lenet5", ["graph.c1.strides=1", "graph.c1.dilation_rate=[1, 1]"])
    assert diff_blueprints(base, same_pool).identical
    diff = diff_blueprints(base, kb.load("zoo:lenet5", ["graph.c1.strides=2"]))
    assert format_diff(diff) == ["~ c1: Conv2D strides [1, 1] (default) -> 2"]


def test_mlp_depth_adds_nodes_and_rewires_the_output():
    diff = diff_blueprints(kb.load("zoo:mlp"), kb.load("zoo:mlp", ["params.depth=3"]))
    assert [n.name for n in diff.added] == ["hidden3", "dropout3"]
    assert diff.removed == ()
    assert diff.changed == (
        ItemDiff("probabilities", "Dense", (Change("from", "dropout2", "dropout3"),)),
    )
    assert format_diff(diff) == [
        "~ probabilities: Dense from dropout2 -> dropout3",
        "+ hidden3: Dense {units: 32, activation: relu} from dropout2",
        "+ dropout3: Dropout {rate: 0.2} from hidden3",
    ]


def test_inputs_nodes_outputs_and_compile(tmp_path):
    old = kb.load(_write(tmp_path, "old.yaml", OLD))
    new = kb.load(_write(tmp_path, "new.yaml", NEW))
    diff = diff_blueprints(old, new)
    assert diff.inputs_changed == (
        ItemDiff(
            "image",
            "Input",
            (Change("shape", (28, 28, 1), (32, 32, 1)), Change("dtype", "float32", "float16")),
        ),
    )
    assert [n.name for n in diff.removed] == ["gate"]
    assert [n.name for n in diff.added] == ["other"]
    assert diff.outputs == Change("outputs", ("head", "gate", "twin"), ("head", "twin"))
    assert format_diff(diff) == [
        "~ input image: shape [28, 28, 1] -> [32, 32, 1]",
        "~ input image: dtype float32 -> float16",
        "- gate: Multiply from [extra, mask]",
        "~ conv: type Conv2D -> DepthwiseConv2D",
        "~ conv: DepthwiseConv2D filters 8 -> (unset)",
        "~ pool: MaxPooling2D pool_size [2, 2] (default) -> 3",
        "~ twin: Dense (shares other) share extra -> other",
        "+ other: Dense {units: 4} from extra",
        "~ outputs [head, gate, twin] -> [head, twin]",
        "~ compile optimizer adam -> sgd",
        "~ compile optimizer.learning_rate 0.001 -> (unset)",
        "~ compile loss [sparse_categorical_crossentropy, mse, mse]"
        " -> [sparse_categorical_crossentropy, mse]",
        "~ compile jit_compile (unset) -> false",
    ]


def test_keyword_call_inputs_are_compared(yaml_text):
    text = yaml_text(
        """
        inputs: {seq: [5, 3], h: [4], c: [4]}
        graph:
          - name: lstm
            LSTM: {units: 4}
            from: {inputs: seq, initial_state: [h, c]}
        """
    )
    swapped = text.replace("initial_state: [h, c]", "initial_state: [c, h]")
    diff = diff_blueprints(kb.load(text), kb.load(swapped))
    assert format_diff(diff) == ["~ lstm: LSTM from.initial_state [h, c] -> [c, h]"]


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [
        (1, 1.0, True),
        (True, 1, False),
        (False, 0, False),
        ((1, 1), [1, 1], True),
        ((1, 1), (1, 2), False),
        ({"a": 1}, {"a": 1}, True),
        ({"a": 1}, {"b": 1}, False),
        ("valid", Defaulted("valid"), True),
        (Defaulted((2, 2)), 2, True),
        (2, Defaulted(((2, 2), (2, 2))), True),
        (Defaulted((2, 2)), 3, False),
        (Defaulted((2, 2)), True, False),
        ((2, 2), 2, False),  # written values compare as written
        (None, 0, False),
        ("1", 1, False),
    ],
)
def test_same(x, y, expected):
    assert same(x, y) is expected


def test_format_value():
    assert format_value(ABSENT) == "(unset)"
    assert format_value(Defaulted((1, 1))) == "[1, 1] (default)"
    assert format_value(None) == "null"
    assert format_value(True) == "true"
    assert format_value("relu") == "relu"
    assert format_value("no") == '"no"'  # would read as a boolean in YAML
    assert format_value("a b") == '"a b"'
    assert format_value({"units": 3, "activation": None}) == "{units: 3, activation: null}"
    nested = (
        kb.load("inputs: {x: [5, 3]}\ngraph:\n  - Bidirectional: {layer: {LSTM: {units: 2}}}\n")
        .nodes[0]
        .args["layer"]
    )
    assert format_value(nested) == "{LSTM: {units: 2}}"


# -- the command ------------------------------------------------------------------------


def test_identical_exits_0_silently(capsys):
    assert main(["diff", "zoo:lenet5", "zoo:lenet5"]) == 0
    assert capsys.readouterr() == ("", "")


def test_different_exits_1_with_the_parameter_change(capsys):
    assert main(["diff", "zoo:lenet5", "--set-b", "graph.c1.filters=8"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "--- zoo:lenet5",
        "+++ zoo:lenet5 --set graph.c1.filters=8",
        "~ c1: Conv2D filters 6 -> 8",
        f"parameters: {LENET5_PARAMS:,} -> {LENET5_C1_8_PARAMS:,} (+852)",
    ]


def test_set_applies_to_both_sides_and_set_b_to_one(capsys):
    assert main(["diff", "zoo:mlp", "zoo:mlp", "--set", "params.width=32"]) == 0
    assert main(["diff", "zoo:mlp", "--set", "params.depth=3", "--set-a", "params.depth=2"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [
        "--- zoo:mlp --set params.depth=3 --set params.depth=2",
        "+++ zoo:mlp --set params.depth=3",
    ]
    assert out[-1] == f"parameters: {MLP_PARAMS:,} -> {MLP_DEPTH3_PARAMS:,} (+1,760)"


def test_a_parameter_neutral_change_says_unchanged(capsys):
    assert main(["diff", "zoo:mlp", "--set-b", "params.dropout=0.5"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[2:] == [
        "~ dropout1: Dropout rate 0.2 -> 0.5",
        "~ dropout2: Dropout rate 0.2 -> 0.5",
        f"parameters: {MLP_PARAMS:,} (unchanged)",
    ]


def test_two_files(tmp_path, capsys):
    old, new = _write(tmp_path, "old.yaml", OLD), _write(tmp_path, "new.yaml", NEW)
    assert main(["diff", old, new, "--no-build"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [f"--- {old}", f"+++ {new}"]
    assert "- gate: Multiply from [extra, mask]" in out
    assert not any(line.startswith("parameters") for line in out)


def test_a_blueprint_error_exits_2(tmp_path, capsys):
    bad = _write(tmp_path, "bad.yaml", OLD.replace("filters: 8", "filtres: 8"))
    assert main(["diff", "zoo:lenet5", bad, "--no-build"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{bad}:7:14: error: 'filtres' is not an argument of Conv2D." in captured.err


def test_no_build_does_not_import_tensorflow():
    code = (
        "import json, sys\n"
        "from keras_blueprints.cli import main\n"
        "status = main(['diff', 'zoo:lenet5', '--set-b', 'graph.c1.filters=8', '--no-build'])\n"
        "heavy = sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)\n"
        "print(json.dumps([status, heavy]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2] == "~ c1: Conv2D filters 6 -> 8"
    assert json.loads(result.stdout.splitlines()[-1]) == [1, []]
