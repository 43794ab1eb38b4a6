"""Every resolution error kind, with its exact FILE:LINE:COL, message and hint."""

from __future__ import annotations

import textwrap

import pytest

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError, BlueprintErrors


def error_of(text: str, **kw) -> BlueprintError:
    with pytest.raises(BlueprintError) as info:
        kb.load(textwrap.dedent(text).lstrip("\n"), **kw)
    return info.value


def where(err: BlueprintError) -> tuple[int, int]:
    return err.location.line, err.location.col


def all_errors(err: BlueprintError) -> list[BlueprintError]:
    return list(err.errors) if isinstance(err, BlueprintErrors) else [err]


def test_unknown_layer_argument_points_at_the_key_with_did_you_mean():
    err = error_of(
        """
        inputs: {x: [8, 8, 1]}
        graph:
          - name: down3
            Conv2D: {filtres: 8, kernel_size: 3}
        """
    )
    assert where(err) == (4, 14)
    assert err.message == "'filtres' is not an argument of Conv2D"
    assert err.hint.startswith("Did you mean 'filters'?")
    assert err.expected.startswith("one of: filters, kernel_size, strides, padding")
    assert err.format().startswith("<string>:4:14: error: 'filtres' is not an argument of Conv2D.")


def test_unknown_argument_inside_a_block_says_which_block():
    err = error_of(
        """
        blocks:
          down:
            params: {f: int}
            graph:
              - Conv2D: {filtres: "${f}", kernel_size: 3}
        inputs: {x: [8, 8, 1]}
        graph:
          - name: down3
            down: {f: 4}
        """
    )
    assert where(err) == (5, 18)
    assert err.context == "in block 'down3'"
    assert "(in block 'down3')" in err.format()


def test_unknown_layer_suggests_the_closest_name():
    err = error_of(
        """
        inputs: {x: [4]}
        graph:
          - Dense: {units: 4}
          - Denes: {units: 2}
        """
    )
    assert where(err) == (4, 5)
    assert err.message == "'Denes' is not a known layer"
    assert err.hint.startswith("Did you mean 'Dense'?")
    assert "register_layer" in err.hint


def test_lambda_is_refused():
    err = error_of(
        """
        inputs: {x: [4]}
        graph:
          - Lambda: {function: "lambda x: x"}
        """
    )
    assert where(err) == (3, 5)
    assert err.message == "'Lambda' is not allowed in blueprints"
    assert "register a custom layer" in err.hint


def test_missing_required_argument():
    err = error_of(
        """
        inputs: {x: [4, 4, 1]}
        graph:
          - Conv2D: {filters: 3}
        """
    )
    assert where(err) == (3, 5)
    assert err.message == "Conv2D needs 'kernel_size'"


def test_dangling_from_reference_with_did_you_mean():
    err = error_of(
        """
        inputs: {image: [4]}
        graph:
          - name: encoder
            Dense: {units: 2}
          - name: head
            from: encodr
            Dense: {units: 1}
        """
    )
    assert where(err) == (6, 11)
    assert err.message == "'encodr' is not a node or input defined here"
    assert err.hint == "Did you mean 'encoder'?"


def test_dangling_reference_in_a_list():
    err = error_of(
        """
        inputs: {a: [4], b: [4]}
        graph:
          - name: cat
            from: [a, c]
            Concatenate: {}
        """
    )
    assert where(err) == (4, 15)


def test_cycle_is_reported_with_its_path():
    err = error_of(
        """
        inputs: {x: [4]}
        graph:
          - name: a
            from: [x, c]
            Add: {}
          - name: b
            Dense: {units: 4}
          - name: c
            Dense: {units: 4}
        outputs: [c]
        """
    )
    assert err.message == "the graph has a cycle"
    assert str(err.received) == "a -> b -> c -> a"
    assert where(err) == (3, 5)


def test_unused_node_and_unused_input():
    err = error_of(
        """
        inputs: {x: [4], unused_input: [2]}
        graph:
          - name: lost
            from: x
            Dense: {units: 3}
          - name: out
            from: x
            Dense: {units: 1}
        """
    )
    messages = {(e.message, where(e)) for e in all_errors(err)}
    assert messages == {
        ("node 'lost' is not used", (3, 5)),
        ("input 'unused_input' is not used", (1, 18)),
    }


def test_bad_expression_points_inside_the_string():
    err = error_of(
        """
        params: {width: 8}
        inputs: {x: [4]}
        graph:
          - Dense: {units: "${widht * 2}"}
        """
    )
    # The quote is at column 20; the name 'widht' starts 3 characters into the text.
    assert where(err) == (4, 23)
    assert err.message == "unknown name 'widht'"
    assert err.hint == "Did you mean 'width'?"


def test_expression_syntax_error():
    err = error_of(
        """
        inputs: {x: [4]}
        graph:
          - Dense: {units: ${2 +* 3}}
        """
    )
    assert err.location.line == 3
    assert err.location.col >= 20


def test_parameter_cycle():
    err = error_of(
        """
        params: {a: "${b}", b: "${a + 1}"}
        inputs: {x: [1]}
        graph: [{Dense: {units: 1}}]
        """
    )
    assert err.message == "parameters refer to each other in a cycle"
    assert str(err.received) == "a -> b -> a"


def test_wrong_types_in_the_schema():
    errors = all_errors(
        error_of(
            """
            inputs:
              x: {shape: [4, -1]}
            graph:
              - repeat: many
                Dense: {units: 1}
            """
        )
    )
    got = {(e.message, where(e)) for e in errors}
    assert ("the shape of input 'x' is not valid", (2, 14)) in got


def test_wrong_repeat_type():
    err = error_of(
        """
        inputs: {x: [4]}
        graph:
          - repeat: many
            Dense: {units: 1}
        """
    )
    assert err.message == "'repeat' must be a whole number"
    assert where(err) == (3, 13)
    assert err.received == "many"


def test_wrong_block_parameter_type_and_unknown_choice():
    errors = all_errors(
        error_of(
            """
            blocks:
              b:
                params:
                  n: int
                  act: {type: str, default: relu, choices: [relu, tanh]}
                graph: [{Dense: {units: "${n}", activation: "${act}"}}]
            inputs: {x: [4]}
            graph:
              - b: {n: "3", act: rellu}
            """
        )
    )
    got = {(e.message, where(e)) for e in errors}
    assert got == {
        ("parameter 'n' of block 'b' has the wrong type", (9, 12)),
        ("parameter 'act' of block 'b' is not one of its choices", (9, 22)),
    }


def test_missing_block_parameter():
    err = error_of(
        """
        blocks:
          b:
            params: {n: int}
            graph: [{Dense: {units: "${n}"}}]
        inputs: {x: [4]}
        graph:
          - b: {}
        """
    )
    assert err.message == "block 'b' needs 'n'"
    assert where(err) == (7, 5)


def test_unknown_section_with_did_you_mean():
    err = error_of(
        """
        inputs: {x: [4]}
        grahp: []
        """
    )
    (section,) = [e for e in all_errors(err) if "section" in e.message]
    assert section.message == "'grahp' is not a blueprint section"
    assert section.hint == "Did you mean 'graph'?"
    assert where(section) == (2, 1)


def test_node_with_two_layer_keys_and_misspelt_control_key():
    err = error_of(
        """
        inputs: {x: [4]}
        graph:
          - form: x
            Dense: {units: 1}
        """
    )
    assert err.message == "a node names exactly one layer or block"
    assert "Did you mean 'from'?" in err.hint


def test_duplicate_node_names():
    err = error_of(
        """
        inputs: {x: [4]}
        graph:
          - name: fc
            Dense: {units: 2}
          - name: fc
            Dense: {units: 2}
        """
    )
    assert err.message == "duplicate node name 'fc'"
    assert where(err) == (5, 11)
    assert "<string>:3:5" in err.hint


def test_repeat_without_index_in_name_is_a_duplicate():
    err = error_of(
        """
        inputs: {x: [4]}
        graph:
          - repeat: 2
            name: fc
            Dense: {units: 2}
        """
    )
    assert err.message == "duplicate node name 'fc'"
    assert "${i}" in err.hint


def test_several_independent_errors_are_reported_together():
    err = error_of(
        """
        inputs: {x: [4]}
        graph:
          - Dense: {unitz: 2}
          - Dropout: {rat: 0.1}
          - Dense: {units: 2, activaton: relu}
        """
    )
    assert isinstance(err, BlueprintErrors)
    assert [where(e) for e in err.errors] == [(3, 13), (4, 15), (5, 23)]
    text = err.format()
    assert text.count(": error: ") == 3


def test_model_with_several_inputs_needs_explicit_from():
    err = error_of(
        """
        inputs: {a: [4], b: [4]}
        graph:
          - Dense: {units: 2}
        """
    )
    assert err.message.startswith("this node needs 'from'")
    assert where(err) == (3, 5)


def test_unsafe_serialized_objects_are_refused():
    err = error_of(
        """
        inputs: {x: [4]}
        graph:
          - Dense:
              units: 2
              kernel_initializer: {module: os, class_name: system, config: {}}
        """
    )
    assert err.message == "a 'module' outside Keras is not allowed in a blueprint"
    assert where(err) == (5, 36)


@pytest.mark.parametrize(
    "module", ["keras.config", "keras", "keras.src.utils", "kerasevil", "keras.saving"]
)
def test_serialized_objects_name_only_the_modules_keras_serializes(module):
    err = error_of(
        f"""
        inputs: {{x: [4]}}
        graph:
          - Dense:
              units: 2
              kernel_initializer: {{module: {module}, class_name: set_floatx, config: {{}}}}
        """
    )
    assert "module" in err.message
    assert where(err) == (5, 36)


def test_serialized_objects_in_compile_name_only_allowed_modules():
    err = error_of(
        """
        inputs: {x: [4]}
        graph: [{Dense: {units: 2}}]
        compile:
          metrics: [{module: keras.config, class_name: enable_unsafe_deserialization, config: {}}]
        """
    )
    assert "keras.config" in err.message
    assert where(err) == (4, 22)


def test_serialized_objects_from_keras_public_modules_load():
    bp = kb.load(
        textwrap.dedent(
            """
            inputs: {x: [4]}
            graph:
              - Dense:
                  units: 2
                  kernel_initializer: {module: keras.initializers, class_name: HeNormal, config: {}}
            """
        )
    )
    assert bp.nodes[0].args["kernel_initializer"]["module"] == "keras.initializers"


def test_share_must_name_a_layer_node():
    err = error_of(
        """
        inputs: {x: [4]}
        graph:
          - name: s
            share: x
        """
    )
    assert err.message.startswith("'share' must name a layer node")


@pytest.mark.parametrize("value", ['""', "d1.0", "'1abc'", "[d1]"])
def test_share_of_a_malformed_name_is_located_at_the_value(value):
    err = error_of(
        f"""
        inputs: {{x: [4]}}
        graph:
          - {{name: d1, Dense: {{units: 2}}}}
          - share: {value}
        """
    )
    assert err.message == "'share' takes the name of another layer node"
    assert where(err) == (4, 12)


def test_compile_loss_for_unknown_output():
    err = error_of(
        """
        inputs: {x: [4]}
        graph:
          - name: out
            Dense: {units: 1}
        compile:
          loss: {outt: mse}
        """
    )
    assert err.message == "'outt' is not a model output"
    assert err.hint.startswith("Did you mean 'out'?")
    assert where(err) == (6, 10)


def test_missing_inputs_and_graph():
    errors = all_errors(error_of("name: nothing\n"))
    assert {e.message for e in errors} == {
        "a blueprint needs 'inputs'",
        "a blueprint needs a 'graph'",
    }


def test_error_pickles_with_its_fields():
    import pickle

    err = error_of("inputs: {x: [4]}\ngraph: [{Dense: {unitz: 1}}]\n")
    again = pickle.loads(pickle.dumps(err))
    assert (again.location, again.message, again.hint) == (err.location, err.message, err.hint)
    assert str(again) == str(err)


def test_blueprint_error_is_a_value_error():
    assert issubclass(BlueprintError, ValueError)


def test_block_given_the_wrong_number_of_inputs_points_at_from():
    err = error_of(
        """
        blocks:
          fuse:
            inputs: [left, right]
            graph: [{Concatenate: {}}]
        inputs: {a: [2]}
        graph:
          - name: f
            from: a
            fuse: {}
        """
    )
    assert err.message == "block 'fuse' takes 2 input(s)"
    assert where(err) == (8, 11)
    assert err.expected == "left, right"


def test_recursive_block_is_refused():
    err = error_of(
        """
        blocks: {loop: {graph: [{loop: {}}]}}
        inputs: {x: [4]}
        graph: [{loop: {}}]
        """
    )
    assert err.message == "block 'loop' uses itself"
    assert str(err.received) == "loop -> loop"
    assert where(err) == (1, 26)


def test_block_outputs_are_addressed_by_name_even_when_single():
    bp = kb.load(
        textwrap.dedent(
            """
            blocks:
              m:
                graph:
                  - name: fc1
                    Dense: {units: 2}
                  - name: fc2
                    Dense: {units: 2}
                outputs: fc2
            inputs: {x: [4]}
            graph:
              - name: m
                m: {}
              - name: head
                from: m.fc2
                Dense: {units: 1}
            """
        )
    )
    assert [str(r) for r in bp.node("head").inputs] == ["m_fc2"]
    err = error_of(
        """
        blocks:
          m: {graph: [{Dense: {units: 2}}]}
        inputs: {x: [4]}
        graph:
          - name: m
            m: {}
          - from: m.nope
            Dense: {units: 1}
        """
    )
    assert err.message == "'nope' is not an output of block instance 'm'"
    assert err.expected == "one of: dense"


def test_share_cannot_name_a_block_instance():
    err = error_of(
        """
        blocks:
          m: {graph: [{Dense: {units: 2}}]}
        inputs: {x: [4]}
        graph:
          - name: m
            m: {}
          - name: again
            from: x
            share: m
        """
    )
    assert err.message == "'share' must name a layer node; 'm' is a block instance"


def test_call_inputs_are_checked_against_the_layer_call():
    err = error_of(
        """
        inputs: {x: [null, 2], t: [null, 2]}
        graph:
          - name: enc
            from: x
            LSTM: {units: 2, return_state: true}
          - name: dec
            from: {inputs: t, initail_state: [enc.1, enc.2]}
            LSTM: {units: 2}
        """
    )
    assert err.message == "'initail_state' is not a call input of LSTM"
    assert err.hint == "Did you mean 'initial_state'?"
    assert where(err) == (7, 23)


def test_override_of_an_undeclared_parameter_is_refused():
    err = error_of("zoo:mlp", overrides=["params.widht=5"])
    assert err.message == "'widht' is not a parameter of this blueprint"
    assert err.hint.startswith("Did you mean 'width'?")
    assert str(err.location) == "--set params.widht=5"


def test_python_block_input_count(registered_block):
    err = error_of(
        """
        inputs: {a: [2], b: [2]}
        graph:
          - from: [a, b]
            one_input_block: {}
        """
    )
    assert err.message == "block 'one_input_block' takes one input"


def test_flat_metrics_on_several_outputs():
    err = error_of(
        """
        inputs: {x: [4]}
        graph:
          - name: a
            Dense: {units: 2}
          - name: b
            from: x
            Dense: {units: 2}
        outputs: [a, b]
        compile: {loss: mse, metrics: [accuracy]}
        """
    )
    assert err.message == "with several outputs, 'metrics' says which output each metric is for"


def test_output_names_are_the_layer_names_keras_uses():
    bp = kb.load(
        textwrap.dedent(
            """
            inputs: {x: [null, 2]}
            graph:
              - name: rnn
                LSTM: {units: 2, return_state: true}
            outputs: [rnn.0, rnn.1]
            """
        )
    )
    assert bp.output_names == ("rnn", "rnn")


@pytest.fixture
def registered_block():
    from keras_blueprints.catalog.components import BLOCKS

    kb.register_block(lambda x, *, name: x, name="one_input_block")
    yield
    BLOCKS.unregister("one_input_block")


def test_error_in_a_value_computed_from_an_override_names_the_override():
    text = textwrap.dedent(
        """
        params: {act: relu}
        blocks:
          b:
            params: {act: {type: str, choices: [relu, tanh]}}
            graph: [{Activation: {activation: "${act}"}}]
        inputs: {x: [4]}
        graph:
          - b: {act: "${act}"}
        """
    )
    with pytest.raises(BlueprintError) as info:
        kb.load(text, overrides=["params.act=rellu"])
    err = info.value
    assert where(err) == (9, 14)  # the block argument in the file (line 1 is empty)...
    assert err.hint == (  # ... and the override behind it
        "Did you mean 'relu'? The value is computed from parameters:"
        " 'act' comes from --set params.act=rellu."
    )
    with pytest.raises(BlueprintError) as info:  # written in the file: no such hint
        kb.load(text.replace("act: relu}", "act: rellu}"))
    assert info.value.hint == "Did you mean 'relu'?"


BLOCK_WITH_DIGIT_NODES = """
    inputs: {x: [8]}
    blocks:
      mine:
        graph:
          - name: 0_conv
            Dense: {UNITS: 4}
          - name: 1_conv
            Dense: {units: 4}
          - name: add
            from: [0_conv, 1_conv]
            Add: {}
        outputs: [add, 0_conv]
    graph:
      - name: conv2_block1
        mine: {}
      - Dense: {units: 2}
        from: conv2_block1.0_conv
    outputs: [dense, conv2_block1]
    """


def test_from_names_a_block_node_whose_local_name_starts_with_a_digit():
    bp = kb.load(textwrap.dedent(BLOCK_WITH_DIGIT_NODES.replace("UNITS", "units")))
    add = bp.node("conv2_block1_add")
    assert [r.node for r in add.inputs] == ["conv2_block1_0_conv", "conv2_block1_1_conv"]
    assert [r.node for r in bp.node("dense").inputs] == ["conv2_block1_0_conv"]


def test_a_failed_block_node_starting_with_a_digit_gives_no_knock_on_error():
    err = error_of(BLOCK_WITH_DIGIT_NODES.replace("UNITS", "unitz"))
    assert [(where(e), e.message) for e in all_errors(err)] == [
        ((6, 17), "'unitz' is not an argument of Dense")
    ]


def test_a_top_level_reference_starting_with_a_digit_is_located_with_did_you_mean():
    err = error_of(
        """
        inputs: {x: [8]}
        graph:
          - name: conv0
            Dense: {units: 4}
          - Dense: {units: 2}
            from: 0conv
        """
    )
    assert where(err) == (6, 11)
    assert err.message == "'0conv' is not a node or input defined here"
    assert err.hint.startswith("Did you mean 'conv0'?")


WHY_BLUEPRINT = """\
params: {width: 8, depth: 2}
inputs: {x: [8]}
graph:
  - repeat: ${depth}
    graph:
      - name: hidden${i + 1}
        Dense: {units: "${width}"}
  - name: out
    Dense: {units: 2}
"""


@pytest.mark.parametrize(
    ("key", "message", "suggestion"),
    [
        ("params.widht", "'widht' is not a parameter of this blueprint", "params.width"),
        ("widht", "'widht' is not a key in 'the blueprint'", "params.width"),
        ("graph.outt", "'outt' is not a node name in 'graph'", "graph.out"),
        ("graph.hiden1.units", "'hiden1' is not a node name in 'graph'", "graph.hidden1.units"),
        ("hidden2", "'hidden2' is not a key in 'the blueprint'", "graph.hidden2"),
    ],
)
def test_resolve_why_suggests_the_closest_key_written_or_generated(
    tmp_path, capsys, key, message, suggestion
):
    from keras_blueprints.cli import main

    path = tmp_path / "why.yaml"
    path.write_text(WHY_BLUEPRINT)
    assert main(["resolve", str(path), "--why", key]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"--why {key}: error: {message}."
    assert f"Did you mean '{suggestion}'?" in lines[1]


def test_resolve_why_lists_the_node_names_as_written():
    from keras_blueprints.commands.resolve import why_keys

    keys = why_keys(kb.load(WHY_BLUEPRINT))
    assert {"params.width", "graph.hidden${i + 1}", "graph.out", "graph.hidden1"} <= set(keys)
    assert keys.index("graph.hidden${i + 1}") < keys.index("graph.hidden1")  # written first


def test_share_names_a_block_node_whose_local_name_starts_with_a_digit():
    bp = kb.load(
        textwrap.dedent(
            """
            inputs: {x: [8]}
            blocks:
              twice:
                graph:
                  - name: 0_fc
                    Dense: {units: 8}
                  - name: again
                    share: 0_fc
            graph:
              - name: b1
                twice: {}
            """
        )
    )
    assert bp.node("b1_again").share == "b1_0_fc"
