"""Search spaces written in place: parsing, checks, names, conditions, ``blueprint space``."""

from __future__ import annotations

import textwrap

import pytest

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError
from keras_blueprints.resolve.spaces import Condition, DefaultProvider, Space, ValuesProvider

SEARCH = textwrap.dedent(
    """\
    params:
      width: {int: [16, 128], step: 16, default: 64}
      depth: {int: [1, 3]}
      kind: {choice: [plain, wide]}
    inputs: {features: [64]}
    graph:
      - repeat: ${depth}
        graph:
          - name: hidden${i + 1}
            Dense: {units: "${width}", activation: relu}
          - name: drop${i + 1}
            Dropout: {rate: {float: [0.0, 0.5], step: 0.1}}
      - name: extra
        when: ${kind == 'wide'}
        Dense: {units: {choice: [32, 64]}}
      - {name: out, Dense: {units: 10, activation: softmax}}
    compile:
      optimizer: {adam: {learning_rate: {float: [1.0e-4, 1.0e-2], sampling: log, name: lr}}}
      loss: sparse_categorical_crossentropy
    train: {epochs: {int: [1, 5], name: epochs}}
    """
)


def test_defaults_build_the_blueprint_as_written():
    provider = DefaultProvider()
    bp = kb.load(SEARCH, provider=provider)
    assert [n.name for n in bp.nodes] == ["hidden1", "drop1", "out"]
    assert bp.node("hidden1").args["units"] == 64
    assert bp.node("drop1").args["rate"] == 0.0
    assert bp.compile.optimizer_args["learning_rate"] == 1e-4
    assert bp.train.epochs == 1
    assert list(provider.seen) == ["width", "depth", "kind", "drop1/rate", "lr", "epochs"]
    assert kb.load(SEARCH) == bp  # loading without a provider uses the defaults


def test_chosen_values_reach_every_place_and_conditions_follow_the_structure():
    provider = ValuesProvider(
        {"depth": 3, "kind": "wide", "width": 32, "drop3/rate": 0.4, "extra/units": 64, "lr": 0.01}
    )
    bp = kb.load(SEARCH, provider=provider)
    assert [n.name for n in bp.nodes] == [
        "hidden1", "drop1", "hidden2", "drop2", "hidden3", "drop3", "extra", "out",
    ]  # fmt: skip
    assert {bp.node(f"hidden{i}").args["units"] for i in (1, 2, 3)} == {32}
    assert bp.node("drop3").args["rate"] == 0.4
    assert bp.node("extra").args["units"] == 64
    assert bp.compile.optimizer_args["learning_rate"] == 0.01
    conditions = {name: c for name, (_, c) in provider.seen.items()}
    assert conditions["drop1/rate"] == ()
    assert conditions["drop2/rate"] == (Condition("depth", (2, 3)),)
    assert conditions["drop3/rate"] == (Condition("depth", (3,)),)
    assert conditions["extra/units"] == (Condition("kind", ("wide",)),)


def test_a_space_as_the_repeat_count_and_inside_blocks_is_scoped_by_instance():
    text = textwrap.dedent(
        """\
        blocks:
          stage:
            params: {units: int}
            graph:
              - name: dense
                Dense: {units: "${units}"}
        inputs: {x: [4]}
        graph:
          - name: stage1
            stage: {units: {choice: [8, 16]}}
          - name: stage2
            stage: {units: {choice: [8, 16]}}
          - repeat: {int: [0, 2], name: extra}
            graph:
              - name: more${i}
                Dense: {units: {choice: [4, 8]}}
        """
    )
    provider = ValuesProvider({"stage2/units": 16, "extra": 2, "more1/units": 8})
    bp = kb.load(text, provider=provider)
    assert [(n.name, n.args["units"]) for n in bp.nodes] == [
        ("stage1_dense", 8), ("stage2_dense", 16), ("more0", 4), ("more1", 8),
    ]  # fmt: skip
    seen = {name: c for name, (_, c) in provider.seen.items()}
    assert seen["more0/units"] == (Condition("extra", (1, 2)),)
    assert seen["more1/units"] == (Condition("extra", (2,)),)


@pytest.mark.parametrize(
    ("space", "message", "column"),
    [
        ("{choice: []}", "a choice needs at least one value", 29),
        ("{int: [8, 2]}", "the int range's minimum is above its maximum", 26),
        ("{float: [0.0, 1.0], sampling: log}", "log sampling needs a positive minimum", 28),
        ("{int: [1, 4], default: 9}", "the default is outside the range", 43),
        ("{choice: [a, b], default: c}", "the default is not one of the choices", 46),
        ("{int: [1, 4], step: 0}", "'step' must be a positive integer", 40),
        ("{int: [1, 4], sampling: lg}", "'lg' is not a sampling", 44),
        (
            "{choice: [a, b], step: 2}",
            "'step' applies to int and float ranges, not to a choice space",
            37,
        ),
    ],
)
def test_bad_spaces_are_located_errors(space, message, column):
    text = f"inputs: {{x: [4]}}\ngraph:\n  - Dense: {{units: {space}}}\n"
    with pytest.raises(BlueprintError) as info:
        kb.load(text)
    err = info.value
    assert err.message == message
    assert (err.location.line, err.location.col) == (3, column)


def test_one_name_for_two_different_spaces_is_refused():
    text = textwrap.dedent(
        """\
        inputs: {x: [4]}
        graph:
          - Dense: {units: {choice: [4, 8], name: w}}
          - Dense: {units: {choice: [4, 16], name: w}}
        """
    )
    with pytest.raises(BlueprintError, match="two different search spaces are both named 'w'"):
        kb.load(text)
    same = text.replace("[4, 16]", "[4, 8]")
    provider = ValuesProvider({"w": 8})
    bp = kb.load(same, provider=provider)
    assert [n.args["units"] for n in bp.nodes] == [8, 8]  # one hyperparameter, two places


def test_domains_and_sizes():
    assert Space("int", low=1, high=9, step=4).domain() == [1, 5, 9]
    assert Space("int", low=16, high=256, step=2, sampling="log").domain() == [16, 32, 64, 128, 256]
    assert Space("float", low=0.0, high=0.5, step=0.1).domain() == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert Space("float", low=1e-4, high=1e-2, sampling="log").size() is None
    assert Space("boolean").size() == 2


def test_a_huge_range_is_counted_without_being_listed():
    wide = Space("int", low=1, high=10**12)
    assert wide.size() == 10**12
    assert wide.domain(limit=1000) is None  # refused before a list of 1e12 is built
    assert Space("int", low=1, high=9, step=4).domain(limit=3) == [1, 5, 9]
    assert Space("float", low=0.0, high=1e300, step=1e-300).size() == 2**62
    assert Space("float", low=0.0, high=1e300, step=1e-300).domain(limit=10) is None


def test_a_huge_repeat_range_resolves_without_enumerating(tmp_path, capsys):
    from keras_blueprints.cli import main

    text = "params: {depth: {int: [1, 1000000000000]}}\ninputs: {x: [4]}\ngraph:\n"
    text += "  - repeat: ${depth}\n    graph:\n      - Dense: {units: 4}\n"
    (tmp_path / "r.yaml").write_text(text)
    assert main(["validate", "--no-build", str(tmp_path / "r.yaml")]) == 0
    assert main(["space", str(tmp_path / "r.yaml")]) == 0
    assert "at most 1,000,000,000,000 combinations" in capsys.readouterr().out


def test_space_command_lists_hidden_spaces_with_conditions(tmp_path):
    from conftest import run_cli_isolated

    (tmp_path / "s.yaml").write_text(SEARCH)
    status, heavy, out = run_cli_isolated(["space", str(tmp_path / "s.yaml")])
    assert (status, heavy) == (0, [])  # reading a space imports no TensorFlow
    lines = out.splitlines()
    assert lines[0].split() == ["hyperparameter", "values", "default", "active", "when", "where"]
    rows = {line.split()[0]: line for line in lines[1:-1]}
    assert set(rows) == {
        "width", "depth", "kind", "drop1/rate", "lr", "epochs", "drop2/rate", "drop3/rate",
        "extra/units",
    }  # fmt: skip
    assert "depth in {2, 3}" in rows["drop2/rate"]
    assert "kind = wide" in rows["extra/units"]
    assert lines[-1] == "9 hyperparameters; infinite (continuous ranges)"


def test_space_size_of_a_finite_space(tmp_path, capsys):
    from keras_blueprints.cli import main

    text = "inputs: {x: [4]}\ngraph:\n  - Dense: {units: {choice: [4, 8, 16]}}\n"
    text += "  - Dropout: {rate: {float: [0.0, 0.5], step: 0.25}}\n"
    (tmp_path / "f.yaml").write_text(text)
    assert main(["space", str(tmp_path / "f.yaml")]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "2 hyperparameters; at most 9 combinations"


def test_choosing_the_block_type_is_a_choice_and_when():
    text = textwrap.dedent(
        """\
        params:
          body: {choice: [residual, dense]}
        inputs: {image: [8, 8, 8]}
        graph:
          - name: res
            when: ${body == 'residual'}
            basic_block: {filters: 8}
          - name: dense
            when: ${body == 'dense'}
            dense_block: {num_layers: {int: [1, 3]}, growth_rate: 4}
          - name: pool
            GlobalAveragePooling2D: {}
        """
    )
    models = {}
    for body in ("residual", "dense"):
        provider = ValuesProvider({"body": body, "dense/num_layers": 2})
        bp = kb.load(text, provider=provider)
        models[body] = kb.build(bp)
        conditions = {name: c for name, (_, c) in provider.seen.items()}
        if body == "dense":
            assert conditions["dense/num_layers"] == (Condition("body", ("dense",)),)
        else:
            assert "dense/num_layers" not in conditions
    # Residual: two 3x3 convolutions 8 -> 8 with batch norm, 2 * (576 + 8 + 32) = 1,232.
    # Dense: 8 channels plus 2 layers of growth 4 = 16 channels after pooling.
    assert models["residual"].count_params() == 1232
    assert models["dense"].output.shape == (None, 16)


def test_exploring_many_spaces_stops_at_a_bounded_number_of_loads(tmp_path, capsys, monkeypatch):
    import keras_blueprints.api as api
    from keras_blueprints.cli import main
    from keras_blueprints.commands import space

    params = "".join(f"  p{i}: {{int: [1, 64]}}\n" for i in range(50))  # 3,150 values
    (tmp_path / "m.yaml").write_text(
        f"params:\n{params}inputs: {{x: [4]}}\ngraph: [Dense: {{units: 2}}]\n"
    )
    loads = []
    real = api.load
    monkeypatch.setattr(api, "load", lambda *a, **k: loads.append(1) or real(*a, **k))
    assert main(["space", str(tmp_path / "m.yaml")]) == 0
    assert len(loads) <= space.MAX_LOADS + 1
    out = capsys.readouterr().out.splitlines()
    assert out[-2] == "50 hyperparameters; at most about 10**90 combinations"
    assert out[-1].startswith(f"(explored the first {space.MAX_LOADS} values")
