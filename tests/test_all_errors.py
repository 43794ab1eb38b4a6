"""All mistakes at once, each once: every independent error in one run, no knock-on.

A failed parameter or input is reported once: what uses it adds nothing.

Also Keras' whole reason when a layer cannot be called, and the hints where a user
is likely wrong (an unquoted ``${...}`` in flow style, ``enc[1]``, ``${kind}:`` as
a layer key), each at its exact line and column.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

import keras_blueprints as kb
from keras_blueprints._core.errors import (
    BlueprintError,
    BlueprintErrors,
    ErrorCollector,
    KnockOn,
    Location,
)


def error_of(text: str, **kw) -> BlueprintError:
    with pytest.raises(BlueprintError) as info:
        kb.load(textwrap.dedent(text).lstrip("\n"), **kw)
    return info.value


def all_errors(err: BlueprintError) -> list[BlueprintError]:
    return list(err.errors) if isinstance(err, BlueprintErrors) else [err]


def places(err: BlueprintError) -> list[tuple[int, int]]:
    return [(e.location.line, e.location.col) for e in all_errors(err)]


MANY_MISTAKES = """
blocks:
  down:
    params: {f: int}
    graph:
      - Dense: {units: "${f}"}
inputs: {x: [8]}
graph:
  - name: a
    down: {g: 4}
  - name: b
    down: {f: "four"}
  - name: c
    down: {h: 4}
  - name: d
    Dnese: {units: 3}
  - name: e
    Dense: {units: 3}
    from: nothere
  - Concatenate: {}
    from: [a, b, c, d, e]
outputs: [a, d, e]
"""


def test_n_independent_mistakes_report_exactly_n_errors_sorted():
    # Three wrong block arguments (a misspelt name, a wrong type, another misspelt
    # name), an unknown layer and a bad reference: five mistakes. The nodes and
    # outputs that name the failed nodes add nothing.
    err = error_of(MANY_MISTAKES)
    assert places(err) == [(9, 12), (11, 15), (13, 12), (15, 5), (18, 11)]
    messages = [e.message for e in all_errors(err)]
    assert messages[0] == "'g' is not a parameter of block 'down'"
    assert messages[1] == "parameter 'f' of block 'down' has the wrong type"
    assert messages[2] == "'h' is not a parameter of block 'down'"
    assert messages[3] == "'Dnese' is not a known layer"
    assert messages[4] == "'nothere' is not a node or input defined here"


def test_a_misspelt_block_argument_is_one_error_naming_the_missing_parameter():
    err = error_of(
        """
        blocks:
          down:
            params: {filters: int}
            graph:
              - Dense: {units: "${filters}"}
        inputs: {x: [8]}
        graph:
          - down: {filtres: 4}
        """
    )
    assert not isinstance(err, BlueprintErrors)
    assert (err.location.line, err.location.col) == (8, 12)
    assert err.message == "'filtres' is not a parameter of block 'down'"
    assert "Did you mean 'filters'?" in err.hint
    assert "Parameter 'filters' has no value." in err.hint


def test_a_missing_block_parameter_alone_is_still_reported():
    err = error_of(
        """
        blocks:
          down:
            params: {f: int}
            graph:
              - Dense: {units: "${f}"}
        inputs: {x: [8]}
        graph:
          - down: {}
        """
    )
    assert err.message == "block 'down' needs 'f'"


def test_a_node_after_a_failed_one_still_has_its_arguments_checked():
    err = error_of(
        """
        inputs: {x: [8]}
        graph:
          - Dnese: {units: 3}
          - Dense: {unit: 3}
          - Dropout: {rate: 0.5}
        """
    )
    assert places(err) == [(3, 5), (4, 13)]


def test_every_wrong_reference_of_a_node_is_reported():
    err = error_of(
        """
        inputs: {x: [8]}
        graph:
          - Concatenate: {}
            from: [x, nope, nada]
        """
    )
    assert places(err) == [(4, 15), (4, 21)]


def test_a_mistake_in_a_block_body_is_reported_once_for_all_instances():
    err = error_of(
        """
        blocks:
          down:
            graph:
              - Dense: {units: 4, activaton: relu}
        inputs: {x: [8]}
        graph:
          - down: {}
          - down: {}
          - down: {}
        """
    )
    assert places(err) == [(4, 27)]
    assert err.message == "'activaton' is not an argument of Dense"


def test_a_block_body_fed_by_a_failed_node_is_still_checked():
    err = error_of(
        """
        blocks:
          down:
            graph:
              - Dense: {units: 4, activaton: relu}
        inputs: {x: [8]}
        graph:
          - Dnese: {units: 3}
          - down: {}
        """
    )
    assert places(err) == [(4, 27), (7, 5)]


def test_a_named_group_is_reported_and_its_nodes_still_checked():
    err = error_of(
        """
        inputs: {x: [8]}
        graph:
          - name: grp
            graph:
              - Dense: {unit: 3}
          - Dense: {units: 2}
            from: grp
        """
    )
    assert places(err) == [(3, 5), (5, 17)]


def test_an_unknown_layer_in_an_extended_file_has_no_knock_on_in_the_parent(tmp_path: Path):
    (tmp_path / "base.yaml").write_text(
        textwrap.dedent(
            """
            params: {width: 8}
            inputs: {x: [8]}
            graph:
              - name: position_embedding
                PositionEmbeddin: {}
              - name: head
                Dense: {units: "${width}"}
                from: position_embedding
            outputs: [head, position_embedding]
            """
        ).lstrip("\n")
    )
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\nparams: {width: 4}\n")
    with pytest.raises(BlueprintError) as info:
        kb.load(child)
    (err,) = all_errors(info.value)
    assert err.message == "'PositionEmbeddin' is not a known layer"
    assert Path(err.location.file).name == "base.yaml"
    assert (err.location.line, err.location.col) == (5, 5)


def test_the_collector_keeps_an_error_met_again_at_the_same_place_once():
    errors = ErrorCollector()
    at = Location("a.yaml", 3, 4)
    errors.add(BlueprintError("wrong", at))
    errors.add(BlueprintErrors([BlueprintError("wrong", at), BlueprintError("other", at)]))
    errors.add(BlueprintError("wrong", Location("a.yaml", 5, 1)))
    assert [(str(e.location), e.message) for e in errors.errors] == [
        ("a.yaml:3:4", "wrong"),
        ("a.yaml:3:4", "other"),
        ("a.yaml:5:1", "wrong"),
    ]


# -- Keras' reason -------------------------------------------------------------------


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_a_keras_call_error_keeps_the_whole_reason_and_shows_the_input_shape():
    bp = kb.load(
        textwrap.dedent(
            """
            inputs: {x: [8]}
            graph:
              - name: reshape
                Reshape: {target_shape: [1, 1, 9]}
            """
        ).lstrip("\n")
    )
    with pytest.raises(BlueprintError) as info:
        kb.build(bp)
    err = info.value
    assert (err.location.line, err.location.col) == (3, 5)
    assert err.message.startswith("Keras could not call Reshape 'reshape': ")
    cause = _plain(str(err.__cause__)).strip()
    first, *rest = [line.strip() for line in cause.splitlines() if line.strip()]
    reason = err.message.removeprefix("Keras could not call Reshape 'reshape': ")
    assert reason.rstrip(".") != first.rstrip(".")  # more than Keras' first line
    assert rest and rest[0] in reason
    assert "(None, 8)" in err.format()  # the input shape


def test_the_reason_drops_only_the_boilerplate_lines():
    from keras_blueprints.builders.model import _keras_reason

    exc = ValueError(
        "Exception encountered when calling Thing.call().\n\n"
        "\x1b[1mThe sizes differ. Received: a=(8,)\x1b[0m\n"
        "They must match.\n\n"
        "Arguments received by Thing.call():\n  • args=('<tensor>',)"
    )
    assert _keras_reason(exc) == "The sizes differ. Received: a=(8,) They must match."
    assert _keras_reason(ValueError("one line")) == "one line"
    assert _keras_reason(ValueError("Exception encountered when calling X.")) == (
        "Exception encountered when calling X."
    )


# -- hints ---------------------------------------------------------------------------


def test_an_unquoted_expression_in_flow_style_says_quote_it():
    err = error_of(
        """
        params: {n: 4}
        inputs: {x: [8]}
        graph:
          - Dense: {units: ${n * 2}, activation: relu}
        """
    )
    assert (err.location.line, err.location.col) == (4, 20)
    assert err.message.startswith("YAML syntax error")
    assert err.hint.startswith('Quote it: write "${n * 2}".')


def test_an_unquoted_expression_in_a_flow_list_says_quote_it():
    err = error_of(
        """
        params: {n: 4}
        inputs: {x: [8]}
        graph:
          - Reshape: {target_shape: [2, "${n}", ${n}]}
        """
    )
    assert (err.location.line, err.location.col) == (4, 41)
    assert err.hint.startswith('Quote it: write "${n}".')


def test_a_python_style_index_suggests_name_dot_index():
    err = error_of(
        """
        inputs: {x: [8, 2]}
        graph:
          - name: enc
            LSTM: {units: 4, return_state: true}
          - Dense: {units: 3}
            from: enc[1]
        """
    )
    assert (err.location.line, err.location.col) == (6, 11)
    assert err.message == "'from' takes node or input names"
    assert err.hint.startswith("Write 'enc.1'")


def test_a_python_style_index_in_outputs_suggests_name_dot_index():
    err = error_of(
        """
        inputs: {x: [8, 2]}
        graph:
          - name: enc
            LSTM: {units: 4, return_state: true}
        outputs: ["enc[0]"]
        """
    )
    assert (err.location.line, err.location.col) == (5, 11)
    assert err.hint.startswith("Write 'enc.0'")


def test_an_expression_as_a_layer_key_says_keys_are_never_evaluated():
    err = error_of(
        """
        params: {kind: Dense}
        inputs: {x: [8]}
        graph:
          - "${kind}": {units: 3}
        """
    )
    assert (err.location.line, err.location.col) == (4, 5)
    assert err.message == "a node's layer or block cannot be chosen by an expression"
    assert "Keys are never evaluated" in err.hint


def test_a_failed_node_keeps_its_name_and_a_group_lends_its_name_to_no_one():
    # A second node named like a failed one is a duplicate, pointing at the first;
    # a node inside a wrongly named group may take the group's name.
    err = error_of(
        """
        inputs: {x: [8]}
        graph:
          - name: h
            Dnese: {units: 2}
          - name: h
            Dense: {units: 2}
          - name: g
            graph:
              - name: g
                Dense: {units: 2}
          - Dense: {units: 1}
            from: g
        """
    )
    assert places(err) == [(4, 5), (5, 11), (7, 5)]
    duplicate = all_errors(err)[1]
    assert duplicate.message == "duplicate node name 'h'"
    assert "<string>:3:5" in duplicate.hint


# --- the sections around a failed graph ------------------------------------------------

GRAPH_AND_COMPILE = """
inputs:
  x: {shape: [8]}
graph:
  - Dense: {units: 4, activation: softmx, kernel_initializer: glorot_unifrom}
  - Dense: {units: 2, activation: softmax}
compile:
  optimizer: adamm
  loss: sparse_categorical_crossentopy
"""


def test_the_sections_are_checked_even_when_the_graph_has_errors():
    err = error_of(GRAPH_AND_COMPILE)
    assert places(err) == [(4, 35), (4, 63), (7, 14), (8, 9)]
    text = textwrap.dedent(GRAPH_AND_COMPILE).lstrip("\n").splitlines()
    words = ["softmx", "glorot_unifrom", "adamm", "sparse_categorical_crossentopy"]
    for (line, col), word in zip(places(err), words, strict=True):
        assert text[line - 1].index(word) + 1 == col
    assert [e.message for e in all_errors(err)] == [
        "'softmx' is not a Keras activation",
        "'glorot_unifrom' is not a Keras initializer",
        "'adamm' is not a Keras optimizer",
        "'sparse_categorical_crossentopy' is not a Keras loss",
    ]


def test_a_graph_error_and_an_unknown_train_key_are_both_reported():
    err = error_of(
        """
        inputs: {x: [8]}
        graph:
          - Dnese: {units: 2}
        train:
          epohcs: 3
        """
    )
    assert places(err) == [(3, 5), (5, 3)]
    assert "'epochs'" in all_errors(err)[1].hint


def test_a_graph_error_gives_no_knock_on_error_in_a_per_output_loss():
    # With the graph failed, its outputs are unknown: the per-output mapping is not
    # checked against them (its loss names still are, below).
    err = error_of(
        """
        inputs: {x: [8]}
        graph:
          - name: out
            Dnese: {units: 2}
        compile:
          optimizer: adam
          loss: {out: mse}
        """
    )
    assert places(err) == [(4, 5)]
    assert err.message == "'Dnese' is not a known layer"


def test_a_per_output_loss_name_is_still_checked_when_the_graph_has_errors():
    err = error_of(
        """
        inputs: {x: [8]}
        graph:
          - name: out
            Dnese: {units: 2}
        compile:
          optimizer: adam
          loss: {out: mse, other: msee}
        """
    )
    assert places(err) == [(4, 5), (7, 27)]


def test_a_graph_error_gives_no_knock_on_error_in_pretrain_pairs_or_monitors():
    err = error_of(
        """
        inputs: {x: [8]}
        graph:
          - name: enc
            Dnese: {units: 2}
          - name: dec
            Dense: {units: 8}
        compile: {optimizer: adam, loss: mse, metrics: [accuracy]}
        train:
          monitor: val_accuracy
          pretrain: {pairs: [[enc, dec]]}
        """
    )
    assert places(err) == [(4, 5)]
    # A monitor that is wrong on its own (val_acc) is no knock-on: it is reported too.
    err = error_of(
        """
        inputs: {x: [8]}
        graph:
          - name: enc
            Dnese: {units: 2}
          - name: dec
            Dense: {units: 8}
        compile: {optimizer: adam, loss: mse, metrics: [accuracy]}
        train:
          monitor: val_acc
          pretrain: {pairs: [[enc, dec]]}
        """
    )
    assert places(err) == [(4, 5), (9, 12)]
    assert all_errors(err)[1].hint.startswith("Did you mean 'val_accuracy'?")


def test_a_failed_parameter_stops_before_the_sections():
    # The sections may use the parameters: with one failed, they are not read.
    err = error_of(
        """
        params: {a: "${b}", b: "${a}"}
        inputs: {x: [8]}
        graph:
          - Dense: {units: 2}
        train:
          epohcs: 3
        """
    )
    assert all(e.message != "'epohcs' is not a train setting" for e in all_errors(err))


def test_an_unused_node_and_a_compile_mistake_are_both_reported():
    err = error_of(
        """
        inputs: {x: [8]}
        graph:
          - name: lost
            Dense: {units: 3}
            from: x
          - name: out
            Dense: {units: 1}
            from: x
        compile: {optimizer: adamm, loss: mse}
        """
    )
    assert places(err) == [(3, 5), (9, 22)]
    assert all_errors(err)[0].message == "node 'lost' is not used"


def test_an_input_over_the_data_budget_gives_no_knock_on_error_in_its_data():
    err = error_of(
        """
        inputs: {x: [50000, 50000]}
        graph:
          - Dense: {units: 1}
        data: digits
        train:
          epohcs: 3
        """
    )
    assert places(err) == [(1, 10), (6, 3)]


THIRTEEN_KINDS = """
blocks:
  down:
    params: {f: int}
    graph:
      - Dense: {units: "${f}"}
inputs: {x: [8]}
graph:
  - Dense: {units: 4, activation: softmx}
  - Dense: {units: 4, kernel_initializer: glorot_unifrom}
  - Dense: {units: 4, kernel_regularizer: l3}
  - Dnese: {units: 3}
  - down: {g: 4}
  - Dense: {unitz: 4}
  - dense_stack: {units: [4], dropout: 1.5}
  - inception_aux_head: {classes: 3, activation: sofmax}
  - Reshape: {target_shape: [1, 1, 4]}
  - Conv2D: {filters: 2, kernel_size: 1, padding: smae}
compile:
  optimizer: adamm
  loss: sparse_categorical_crossentopy
  metrics: [accuracy]
train:
  epohcs: 3
tune:
  objective: val_acc
"""


def test_n_mistakes_of_different_kinds_report_exactly_n_errors_each_at_its_word():
    # An activation, an initializer, a regularizer, an unknown layer, a misspelt block
    # parameter (whose missing 'f' adds nothing), a misspelt layer argument (whose
    # missing 'units' adds nothing), a block value out of range, a Python block's
    # activation, an enumerated value, an optimizer, a loss, a train key and a
    # monitored metric: thirteen mistakes, thirteen errors, none a knock-on.
    err = error_of(THIRTEEN_KINDS)
    words = [
        "softmx", "glorot_unifrom", "l3", "Dnese", "g", "unitz", "1.5", "sofmax", "smae",
        "adamm", "sparse_categorical_crossentopy", "epohcs", "val_acc",
    ]  # fmt: skip
    assert len(all_errors(err)) == len(words)
    lines = THIRTEEN_KINDS.lstrip("\n").splitlines()
    expected = []
    for word in words:
        line = next(i for i, text in enumerate(lines) if re.search(rf"\b{re.escape(word)}\b", text))
        expected.append((line + 1, re.search(rf"\b{re.escape(word)}\b", lines[line]).start() + 1))
    assert places(err) == expected
    assert places(err)[:4] == [(8, 35), (9, 43), (10, 43), (11, 5)]
    assert [e.message for e in all_errors(err)] == [
        "'softmx' is not a Keras activation",
        "'glorot_unifrom' is not a Keras initializer",
        "'l3' is not a Keras regularizer",
        "'Dnese' is not a known layer",
        "'g' is not a parameter of block 'down'",
        "'unitz' is not an argument of Dense",
        "parameter 'dropout' of block 'dense_stack' is out of range",
        "'sofmax' is not a Keras activation",
        "'smae' is not a value of Conv2D's 'padding'",
        "'adamm' is not a Keras optimizer",
        "'sparse_categorical_crossentopy' is not a Keras loss",
        "'epohcs' is not a train setting",
        "'val_acc' is not a metric this model logs",
    ]


def test_a_misspelt_layer_argument_is_one_error_not_a_missing_required_one_too():
    err = error_of("inputs: {x: [8]}\ngraph:\n  - Dense: {unitz: 4}\n")
    assert places(err) == [(3, 13)]
    assert err.message == "'unitz' is not an argument of Dense"
    assert err.hint.startswith("Did you mean 'units'?")


def test_a_monitor_is_checked_when_compile_has_another_mistake():
    err = error_of(
        """
        inputs: {x: [8]}
        graph:
          - Dense: {units: 2}
        compile: {optimizer: adamm, loss: mse, metrics: [accuracy]}
        train: {monitor: val_acc}
        """
    )
    assert places(err) == [(4, 22), (5, 18)]
    assert all_errors(err)[1].hint.startswith("Did you mean 'val_accuracy'?")


def test_a_monitor_is_not_refused_because_of_a_misspelt_metric():
    # 'val_acuracy' is logged as written: the metric's own error is the only one.
    err = error_of(
        """
        inputs: {x: [8]}
        graph:
          - Dense: {units: 2}
        compile: {optimizer: adam, loss: mse, metrics: [acuracy]}
        train: {monitor: val_accuracy}
        """
    )
    assert places(err) == [(4, 49)]


@pytest.fixture
def projection_block():
    from keras_blueprints.catalog.components import BLOCKS

    @kb.register_block
    def all_errors_projection(
        x, *, name: str, units: int, kernel_initializer: str = "glorot_uniform", mode: str = "x"
    ):
        """A Dense projection whose initializer is a parameter."""
        import keras

        return keras.layers.Dense(units, kernel_initializer=kernel_initializer, name=name)(x)

    yield "all_errors_projection"
    BLOCKS.unregister("all_errors_projection")


def test_a_python_blocks_identifier_parameters_are_checked_at_the_value(projection_block):
    err = error_of(
        f"""
        inputs: {{x: [8]}}
        graph:
          - {projection_block}: {{units: 2, kernel_initializer: he_normall, mode: anything}}
          - inception_aux_head: {{classes: 3, activation: sofmax}}
        """
    )
    assert places(err) == [(3, 59), (4, 50)]
    assert [e.message for e in all_errors(err)] == [
        "'he_normall' is not a Keras initializer",
        "'sofmax' is not a Keras activation",
    ]
    assert all_errors(err)[0].hint.startswith("Did you mean 'he_normal'?")
    assert all_errors(err)[1].hint.startswith("Did you mean 'softmax'?")


def test_a_python_blocks_identifier_of_the_wrong_type_is_one_error(projection_block):
    err = error_of(
        f"""
        inputs: {{x: [8]}}
        graph:
          - {projection_block}: {{unit: 2, kernel_initializer: 3}}
        """
    )
    assert [e.message for e in all_errors(err)] == [
        f"'unit' is not a parameter of block '{projection_block}'",
        f"parameter 'kernel_initializer' of block '{projection_block}' has the wrong type",
    ]


# -- a failed parameter is reported once; what uses it adds no knock-on -----------------

FAILED_PARAM_USED_THREE_TIMES = """
params:
  width: ${2 * undefined_name}
  depth: 2
inputs: {x: [8]}
graph:
  - Dense: {units: "${width}"}
  - Dnese: {units: 3}
  - name: head
    Dense: {units: 4}
    when: ${width > 3}
  - Dense: {units: 2, activation: softmax}
    from: head
    repeat: ${depth}
outputs: [head]
compile:
  optimizer: {class_name: Adam, config: {learning_rate: "${width / 1000}"}}
  loss: sparse_categorical_crossentopy
"""


def test_a_failed_parameter_used_in_three_places_is_one_error_among_the_independent_ones():
    # 'width' fails; the node, the 'when:' (and so 'head', its 'from:' and the
    # output naming it) and the optimizer that use it add nothing. The good
    # parameter 'depth' is still known, and the two independent mistakes (an
    # unknown layer, a misspelt loss) are both reported: exactly three errors.
    err = error_of(FAILED_PARAM_USED_THREE_TIMES)
    assert places(err) == [(2, 16), (7, 5), (17, 9)]
    messages = [e.message for e in all_errors(err)]
    assert messages == [
        "unknown name 'undefined_name'",
        "'Dnese' is not a known layer",
        "'sparse_categorical_crossentopy' is not a Keras loss",
    ]


FAILED_PARAM_CHAIN = """
params:
  width: ${1/0}
  twice: ${width * 2}
  again: ${twice + 1}
  depth: 2
blocks:
  mlp:
    params: {f: int}
    graph:
      - Dense: {units: "${f + width}"}
      - Dense: {units: "${f}", activation: relux}
inputs: {x: ["${twice}"]}
graph:
  - Dense: {units: "${again}"}
    repeat: ${depth}
  - name: m
    mlp: {f: 3}
    from: x
outputs: [m]
train:
  epochs: ${twice}
"""


def test_parameters_depending_on_a_failed_one_are_not_reported_again():
    # 'twice' uses 'width' and 'again' uses 'twice': the division by zero is the
    # one error of the chain. The input, the graph fed by it, the block's body and
    # 'train:' using them add nothing; the block body's own mistake is reported.
    err = error_of(FAILED_PARAM_CHAIN)
    assert places(err) == [(2, 13), (11, 44)]
    assert [e.message for e in all_errors(err)] == [
        "division by zero",
        "'relux' is not a Keras activation",
    ]


def test_a_failed_input_adds_no_knock_on_where_it_is_used():
    # The input fails on its own (a bad dtype): the first node, fed by it without
    # 'from:', and a node naming it add nothing; a later mistake is still reported.
    err = error_of(
        """
        inputs:
          x: {shape: [8], dtype: flaot32}
        graph:
          - Dense: {units: 3}
          - Dense: {units: 2}
            from: x
          - Dense: {units: 2, activation: relux}
        """
    )
    assert places(err) == [(2, 26), (7, 35)]


def test_a_knock_on_counts_as_a_failure_but_is_never_reported():
    errors = ErrorCollector()
    errors.add(KnockOn("this value uses parameter 'w', whose value has an error", Location("a")))
    assert (errors.errors, errors.failures) == ([], 1)
    with pytest.raises(KnockOn):  # alone, it still fails what collected it
        errors.raise_if_any()
    real = BlueprintError("real", Location("a", 1, 1))
    errors.add(BlueprintErrors([real, KnockOn("knock-on", Location("a", 2, 1))]))
    assert (errors.errors, errors.failures) == ([real], 3)
    with pytest.raises(BlueprintError) as info:
        errors.raise_if_any()
    assert info.value is real
