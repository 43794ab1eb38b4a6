"""Parameters nothing uses: a located warning with the closest used name, never an error."""

from __future__ import annotations

import pickle
import textwrap

import pytest

import keras_blueprints as kb
from keras_blueprints import zoo
from keras_blueprints.cli import main


def warnings_of(text: str, overrides=()) -> list[str]:
    bp = kb.load(textwrap.dedent(text).lstrip("\n"), overrides)
    return [w.format() for w in bp.warnings]


def test_an_unused_parameter_is_warned_at_its_key_with_the_closest_used_name():
    assert warnings_of(
        """
        params:
          width: 8
          widht: 4
        inputs: {x: [8]}
        graph:
          - Dense: {units: "${width}"}
        """
    ) == ["<string>:3:3: warning: parameter 'widht' is never used (did you mean 'width'?)."]


def test_an_unused_parameter_far_from_every_used_name_has_no_suggestion():
    assert warnings_of(
        """
        params: {width: 8, dropout: 0.5}
        inputs: {x: [8]}
        graph:
          - Dense: {units: "${width}"}
        """
    ) == ["<string>:1:20: warning: parameter 'dropout' is never used."]


def test_an_unused_block_parameter_is_warned_with_the_closest_name_its_body_uses():
    assert warnings_of(
        """
        inputs: {x: [8]}
        blocks:
          fc:
            params: {units: int, unitz: {type: int, default: 2}, rate: float}
            graph:
              - Dense: {units: "${units}"}
              - Dropout: {rate: "${rate}"}
        graph:
          - fc: {units: 4, rate: 0.1}
        """
    ) == [
        "<string>:4:26: warning: parameter 'unitz' of block 'fc' is never used"
        " (did you mean 'units'?)."
    ]


@pytest.mark.parametrize(
    "use",
    [
        "graph:\n  - Dense: {units: 2, name: 'fc_${p}'}",  # inside a string
        "graph:\n  - Dense: {units: 2}\n    when: ${p > 0}",  # when:
        "graph:\n  - repeat: ${p}\n    graph: [{Dense: {units: 2}}]",  # repeat:
        "graph:\n  - Dense: {units: 2}\ntrain: {epochs: '${p}'}",  # a section
        "graph:\n  - Dense: {units: 2}\ncompile: {optimizer: adam, loss: '${p}'}",
        "graph:\n  - Dense: {units: 2}\noutputs: ${'dense' if p else 'x'}",
        "graph:\n  - Dense: {units: '${q}'}",  # through another parameter
        "graph:\n  - fc: {}\nblocks:\n  fc:\n    graph: [{Dense: {units: '${p}'}}]",  # a block
    ],
)
def test_every_place_an_expression_stands_counts_as_a_use(use):
    text = "params: {p: 1, q: '${p + 1}'}\ninputs: {x: [8]}\n" + use + "\n"
    bp = kb.load(text)
    assert [w.message for w in bp.warnings] in ([], ["parameter 'q' is never used"])
    assert "parameter 'p' is never used" not in [w.message for w in bp.warnings]


def test_keys_and_the_blueprints_name_are_never_evaluated_so_they_use_nothing():
    assert warnings_of(
        """
        params: {tag: one}
        name: net_${tag}
        description: the ${tag} net
        inputs: {x: [8]}
        graph:
          - Dense: {units: 2}
        """
    ) == ["<string>:1:10: warning: parameter 'tag' is never used."]


def test_a_block_parameter_shadowing_a_top_level_one_does_not_use_it():
    assert warnings_of(
        """
        params: {units: 3}
        inputs: {x: [8]}
        blocks:
          fc:
            params: {units: int}
            graph: [{Dense: {units: "${units}"}}]
        graph:
          - fc: {units: 4}
        """
    ) == ["<string>:1:10: warning: parameter 'units' is never used."]


def test_a_use_only_in_an_override_or_a_set_path_counts(tmp_path):
    text = "params: {width: 8}\ninputs: {x: [8]}\ngraph:\n  - name: fc\n    Dense: {units: 2}\n"
    assert warnings_of(text) == ["<string>:1:10: warning: parameter 'width' is never used."]
    assert warnings_of(text, ["graph.fc.units=${width}"]) == []
    (tmp_path / "base.yaml").write_text(text)
    (tmp_path / "child.yaml").write_text(
        "extends: base.yaml\nset:\n  graph.fc.units: ${width * 2}\n"
    )
    assert kb.load(tmp_path / "child.yaml").warnings == ()


def test_a_parent_parameter_used_by_an_extending_child_counts(tmp_path):
    (tmp_path / "base.yaml").write_text(
        "params: {width: 8, depth: 2}\ninputs: {x: [8]}\ngraph:\n  - Dense: {units: 2}\n"
    )
    (tmp_path / "child.yaml").write_text(
        "extends: base.yaml\ngraph:\n  - Dense: {units: '${width}'}\n"
    )
    (warning,) = kb.load(tmp_path / "child.yaml").warnings
    assert warning.message == "parameter 'depth' is never used"
    assert warning.location == kb.Location(str(tmp_path / "base.yaml"), 1, 20)


def test_a_parameter_that_is_a_search_space_or_used_in_tune_counts():
    assert not warnings_of(
        """
        params:
          lr: {float: [0.001, 0.1], sampling: log}
          trials: 3
        inputs: {x: [8]}
        graph:
          - Dense: {units: 2}
        compile: {optimizer: adam, loss: mse}
        tune: {max_trials: "${trials}"}
        """
    )


def test_a_blueprint_with_warnings_still_validates_and_prints_them(tmp_path, capsys):
    path = tmp_path / "w.yaml"
    path.write_text("params: {width: 8, widht: 2}\ninputs: {x: [8]}\ngraph:\n")
    path.write_text(path.read_text() + "  - Dense: {units: '${width}'}\n")
    assert main(["validate", "--no-build", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{path}: ok (1 nodes)\n"
    assert err == (
        f"{path}:1:20: warning: parameter 'widht' is never used (did you mean 'width'?).\n"
    )


def test_a_warning_keeps_its_fields_and_pickles():
    text = "params: {a: 1}\ninputs: {x: [8]}\ngraph: [{Dense: {units: 2}}]\n"
    (warning,) = kb.load(text).warnings
    assert isinstance(warning, kb.BlueprintWarning) and isinstance(warning, UserWarning)
    assert (warning.location.line, warning.location.col, warning.hint) == (1, 10, None)
    again = pickle.loads(pickle.dumps(warning))
    assert again == warning and str(again) == str(warning)


@pytest.mark.parametrize("name", zoo.names())
def test_zoo_blueprints_have_no_warnings(name):
    assert [w.format() for w in kb.load(f"zoo:{name}").warnings] == []
