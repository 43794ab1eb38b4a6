"""Composing documents: extends, imports, ``set:``, ``--set`` overrides and provenance."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import keras_blueprints as kb
from keras_blueprints import zoo
from keras_blueprints._core.errors import BlueprintError, Location
from keras_blueprints.loading.document import (
    MAX_EXTENDS_DEPTH,
    load_document,
    parse_override,
    split_key,
)

BASE = """\
name: base
params:
  width: 16
  depth: 2
  act: relu
inputs:
  x: {shape: [8]}
graph:
  - name: stem
    Dense: {units: "${width}", activation: "${act}"}
  - name: head
    Dense: {units: 3}
compile:
  optimizer: {adam: {learning_rate: 0.001}}
  loss: mse
  metrics: [mae]
"""


def write(folder: Path, name: str, content: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(content).lstrip("\n"))
    return path


@pytest.fixture
def base(tmp_path) -> Path:
    return write(tmp_path, "base.yaml", BASE)


def at(path: Path, line: int = 0, col: int = 0) -> Location:
    return Location(str(path), line, col)


# -- extends -----------------------------------------------------------------------------


def test_extends_a_relative_path_and_deep_merges_params_and_compile(tmp_path, base):
    child = write(
        tmp_path,
        "sub/child.yaml",
        """
        extends: ../base.yaml
        params:
          width: 32
        compile:
          metrics: [mse]
          optimizer: {adam: {beta_1: 0.8}}
        """,
    )
    doc = load_document(child)
    assert doc.data["params"] == {"width": 32, "depth": 2, "act": "relu"}
    assert doc.data["compile"] == {
        "optimizer": {"adam": {"learning_rate": 0.001, "beta_1": 0.8}},
        "loss": "mse",
        "metrics": ["mse"],
    }
    assert "extends" not in doc.data
    assert doc.data["graph"][0] == {
        "name": "stem",
        "Dense": {"units": "${width}", "activation": "${act}"},
    }
    # Each value points at the file that set it.
    assert doc.sources.value(("params", "width")) == at(child, 3, 10)
    assert doc.sources.value(("params", "depth")) == at(base, 4, 10)
    assert doc.sources.value(("compile", "optimizer", "adam", "learning_rate")) == at(base, 14, 37)
    assert doc.sources.value(("compile", "optimizer", "adam", "beta_1")) == at(child, 6, 30)
    assert doc.sources.key(("graph", 0, "Dense", "units")) == at(base, 10, 13)
    assert doc.files == [str(child), str(base)]


def test_lists_replace_the_inherited_list(tmp_path, base):
    child = write(
        tmp_path,
        "child.yaml",
        """
        extends: base.yaml
        graph:
          - name: only
            Dense: {units: 2}
        """,
    )
    doc = load_document(child)
    assert doc.data["graph"] == [{"name": "only", "Dense": {"units": 2}}]
    assert doc.sources.value(("graph", 0, "Dense", "units")) == at(child, 4, 20)
    assert doc.sources.value(("graph", 1)) == at(child, 3, 3)  # the new list: none for head


def test_replace_tag_drops_the_inherited_keys(tmp_path, base):
    child = write(
        tmp_path,
        "child.yaml",
        """
        extends: base.yaml
        params: !replace
          width: 4
        compile: !replace {loss: mae}
        """,
    )
    doc = load_document(child)
    assert doc.data["params"] == {"width": 4}
    assert doc.data["compile"] == {"loss": "mae"}
    assert doc.sources.value(("params",)) == at(child, 2, 9)
    assert doc.sources.value(("compile", "optimizer")) == at(child, 4, 10)  # the mapping now
    assert doc.sources.replace == set()  # consumed by the merge


def test_extends_a_list_of_bases_later_bases_win(tmp_path, base):
    write(tmp_path, "other.yaml", "params:\n  depth: 5\n  extra: 1\ncompile:\n  loss: mae\n")
    child = write(tmp_path, "multi.yaml", "extends: [base.yaml, other.yaml]\nparams:\n  width: 8\n")
    doc = load_document(child)
    assert doc.data["params"] == {"width": 8, "depth": 5, "act": "relu", "extra": 1}
    assert doc.data["compile"]["loss"] == "mae"
    assert doc.data["compile"]["metrics"] == ["mae"]
    assert doc.files == [str(child), str(base), str(tmp_path / "other.yaml")]
    # Provenance keeps both bases, latest first.
    assert doc.provenance.why(("params", "depth")) == [
        at(tmp_path / "other.yaml", 2, 10),
        at(base, 4, 10),
    ]


def test_extends_zoo_blueprint(tmp_path):
    child = write(tmp_path, "mine.yaml", "extends: zoo:lenet5\nparams: {classes: 4}\n")
    bp = kb.load(child)
    assert dict(bp.params) == {
        "size": 32,
        "channels": 1,
        "classes": 4,
        "activation": "tanh",
        "c3_table": False,
    }
    assert bp.name == "lenet5"  # inherited like any other key
    assert [n.name for n in bp.nodes][-1] == "probabilities"
    assert bp.nodes[-1].args["units"] == 4
    assert load_document(child).files == [str(child), str(zoo.path("lenet5"))]


def test_extends_from_text_resolves_against_the_working_directory(tmp_path, base, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bp = kb.load("extends: base.yaml\nparams: {width: 5}\n")
    assert bp.nodes[0].args["units"] == 5


def test_one_line_text_ending_in_yaml_is_text_not_a_path(tmp_path, base, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert dict(kb.load("extends: base.yaml").params) == {"width": 16, "depth": 2, "act": "relu"}
    with pytest.raises(BlueprintError) as info:
        kb.load("missing.yaml")
    assert info.value.location == Location("missing.yaml")
    assert info.value.message == "file not found"


def test_diamond_extends_is_not_circular(tmp_path):
    write(tmp_path, "root.yaml", "params: {a: 1, b: 1, c: 1}\n")
    write(tmp_path, "left.yaml", "extends: root.yaml\nparams: {b: 2}\n")
    write(tmp_path, "right.yaml", "extends: root.yaml\nparams: {c: 3}\n")
    top = write(tmp_path, "top.yaml", "extends: [left.yaml, right.yaml]\n")
    # Later bases win whole: right.yaml, composed, says b: 1 (from root.yaml) after left's b: 2.
    assert load_document(top).data["params"] == {"a": 1, "b": 1, "c": 3}


def test_diamonds_of_extends_and_imports_read_each_file_once(tmp_path, monkeypatch):
    import keras_blueprints.loading.document as document

    write(tmp_path, "f0.yaml", "params: {a: 1}\nblocks:\n  b0:\n    graph: [Dense: {units: 2}]\n")
    for i in range(1, 5):  # each level names the one below ten times: 10**4 paths to f0
        below = ", ".join([f"f{i - 1}.yaml"] * 10)
        write(tmp_path, f"f{i}.yaml", f"extends: [{below}]\nimports: [{below}]\n")
    reads = []
    real = document.read_source
    monkeypatch.setattr(
        document, "read_source", lambda p, where=None: reads.append(p) or real(p, where)
    )
    doc = load_document(tmp_path / "f4.yaml")
    assert doc.data["params"] == {"a": 1} and "b0" in doc.imported_blocks
    assert len(reads) <= 2 * 4 * 2  # each file once per depth it is met at, not once per path
    assert len(doc.files) == 5
    assert doc.provenance.why(("params", "a")) == [at(tmp_path / "f0.yaml", 1, 13)]


def test_extends_chain_depth_is_limited(tmp_path):
    for i in range(MAX_EXTENDS_DEPTH + 1):
        write(tmp_path, f"f{i}.yaml", f"extends: f{i + 1}.yaml\n")
    write(tmp_path, f"f{MAX_EXTENDS_DEPTH + 1}.yaml", "params: {x: 1}\n")
    assert load_document(tmp_path / "f1.yaml").data == {"params": {"x": 1}}
    with pytest.raises(BlueprintError) as info:
        load_document(tmp_path / "f0.yaml")
    assert info.value.message == "'extends' chain too deep"
    assert info.value.location == at(tmp_path / f"f{MAX_EXTENDS_DEPTH}.yaml", 1, 10)


def test_unknown_zoo_name_in_extends_has_a_did_you_mean(tmp_path):
    child = write(tmp_path, "c.yaml", "extends: zoo:lenet\n")
    with pytest.raises(BlueprintError) as info:
        load_document(child)
    err = info.value
    assert err.location == at(child, 1, 10)
    assert err.message == "'lenet' is not a zoo blueprint"
    assert err.hint == "Did you mean 'lenet5'? 'blueprint zoo' lists them."


def test_zoo_name_too_long_for_a_path_is_a_blueprint_error():
    with pytest.raises(BlueprintError) as info:
        kb.load("zoo:" + "x" * 300)
    assert info.value.message == f"'{'x' * 300}' is not a zoo blueprint"


def test_missing_base_file(tmp_path):
    child = write(tmp_path, "c.yaml", "name: c\nextends: nothere.yaml\n")
    with pytest.raises(BlueprintError) as info:
        load_document(child)
    assert info.value.location == at(child, 2, 10)
    assert info.value.message == "file not found"
    assert info.value.received == "nothere.yaml"
    assert info.value.hint == "Paths are relative to the blueprint's folder."


def test_extends_entry_that_is_not_a_string(tmp_path, base):
    child = write(tmp_path, "c.yaml", "extends: [base.yaml, 3]\n")
    with pytest.raises(BlueprintError) as info:
        load_document(child)
    assert info.value.location == at(child, 1, 22)
    assert info.value.message == "'extends' takes a file path or zoo:NAME (or a list of them)"
    assert info.value.received == 3


def test_circular_extends_names_the_whole_chain(tmp_path):
    a = write(tmp_path, "a.yaml", "extends: b.yaml\n")
    write(tmp_path, "b.yaml", "params: {x: 1}\nextends: c.yaml\n")
    write(tmp_path, "c.yaml", "extends: a.yaml\n")
    with pytest.raises(BlueprintError) as info:
        load_document(a)
    err = info.value
    assert err.location == at(tmp_path / "c.yaml", 1, 10)
    assert err.message == "circular 'extends'"
    assert err.received == "a.yaml -> b.yaml -> c.yaml -> a.yaml"
    assert str(err) == (
        f"{tmp_path / 'c.yaml'}:1:10: error: circular 'extends'.\n"
        "  Received: a.yaml -> b.yaml -> c.yaml -> a.yaml."
    )


def test_a_file_extending_itself(tmp_path):
    me = write(tmp_path, "me.yaml", "extends: ./me.yaml\n")
    with pytest.raises(BlueprintError) as info:
        load_document(me)
    assert info.value.received == "me.yaml -> me.yaml"
    assert info.value.location == at(me, 1, 10)


# -- set: --------------------------------------------------------------------------------


def test_set_section_addresses_nodes_args_params_and_indices(tmp_path, base):
    child = write(
        tmp_path,
        "setter.yaml",
        """
        extends: base.yaml
        set:
          graph.stem.units: 48
          params.width: 12
          graph[1].units: 5
          graph.head.activation: softmax
        """,
    )
    doc = load_document(child)
    assert doc.data["graph"] == [
        {"name": "stem", "Dense": {"units": 48, "activation": "${act}"}},
        {"name": "head", "Dense": {"units": 5, "activation": "softmax"}},
    ]
    assert doc.data["params"] == {"width": 12, "depth": 2, "act": "relu"}
    assert "set" not in doc.data
    assert doc.sources.value(("graph", 0, "Dense", "units")) == at(child, 3, 21)
    assert doc.sources.key(("graph", 0, "Dense", "units")) == at(child, 3, 3)
    assert doc.sources.value(("graph", 1, "Dense", "activation")) == at(child, 6, 26)
    assert doc.provenance.why(("graph", 1, "Dense", "units")) == [
        at(child, 5, 19),
        at(base, 12, 20),
    ]


def test_set_section_reaches_nodes_inside_nested_groups(tmp_path):
    path = write(
        tmp_path,
        "nested.yaml",
        """
        inputs: {x: [4]}
        graph:
          - repeat: 2
            graph:
              - name: inner${i}
                Dense: {units: 3}
          - graph:
              - graph:
                  - name: deepest
                    Dense: {units: 2}
          - name: out
            Dense: {units: 1}
        set:
          graph.deepest.units: 9
          graph[1].graph[0].graph[0].activation: relu
          graph[0].repeat: 3
          graph.inner${i}.units: 4
        """,
    )
    doc = load_document(path)
    assert doc.data["graph"][:2] == [
        {"repeat": 3, "graph": [{"name": "inner${i}", "Dense": {"units": 4}}]},
        {"graph": [{"graph": [{"name": "deepest", "Dense": {"units": 9, "activation": "relu"}}]}]},
    ]
    deepest_units = ("graph", 1, "graph", 0, "graph", 0, "Dense", "units")
    assert doc.sources.value(deepest_units) == at(path, 14, 24)
    bp = kb.load(path)
    assert [(n.name, dict(n.args)) for n in bp.nodes] == [
        ("inner0", {"units": 4}),
        ("inner1", {"units": 4}),
        ("inner2", {"units": 4}),
        ("deepest", {"units": 9, "activation": "relu"}),
        ("out", {"units": 1}),
    ]


def test_set_section_expands_a_bare_layer_name(tmp_path):
    path = write(
        tmp_path,
        "bare.yaml",
        """
        inputs: {x: [4, 4]}
        graph:
          - Flatten
          - Dense: {units: 2}
        set:
          graph[0].dtype: float32
        """,
    )
    assert load_document(path).data["graph"][0] == {"Flatten": {"dtype": "float32"}}


def test_set_section_with_an_unknown_node_has_a_did_you_mean(tmp_path, base):
    child = write(tmp_path, "c.yaml", "extends: base.yaml\nset:\n  graph.stme.units: 3\n")
    with pytest.raises(BlueprintError) as info:
        load_document(child)
    err = info.value
    assert err.location == at(child, 3, 3)
    assert err.message == "'stme' is not a node name in 'graph'"
    assert err.expected == "one of: head, stem"
    assert err.hint == "Did you mean 'stem'?"


@pytest.mark.parametrize(
    ("value", "kind"), [("[1]", "a list"), ("3", "a number"), ("x", "a string")]
)
def test_set_section_must_be_a_mapping(tmp_path, base, value, kind):
    child = write(tmp_path, "c.yaml", f"extends: base.yaml\nset: {value}\n")
    with pytest.raises(BlueprintError) as info:
        load_document(child)
    assert info.value.location == at(child, 2, 6)
    assert info.value.message == "'set' takes a mapping of dotted keys to values"
    assert info.value.received == kind


# -- overrides -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "path", "value"),
    [
        ("params.width=64", ("params", "width"), 64),
        ("params.width=[1, 2]", ("params", "width"), [1, 2]),
        ("params.act=gelu", ("params", "act"), "gelu"),
        ("params.act='7'", ("params", "act"), "7"),
        ("params.act=", ("params", "act"), ""),
        ("params.width=0.5", ("params", "width"), 0.5),
        ("params.depth=true", ("params", "depth"), True),
        ("params.act=null", ("params", "act"), None),
        ("params.act={a: 1}", ("params", "act"), {"a": 1}),
        ("graph.stem.units=7", ("graph", 0, "Dense", "units"), 7),
        ("graph.stem.Dense.units=7", ("graph", 0, "Dense", "units"), 7),
        ("graph[-1].units=9", ("graph", 1, "Dense", "units"), 9),
        ("graph[1].name=top", ("graph", 1, "name"), "top"),
        (
            "compile.optimizer.adam.learning_rate=0.01",
            ("compile", "optimizer", "adam", "learning_rate"),
            0.01,
        ),
        (" params.width = 3", ("params", "width"), 3),
    ],
)  # fmt: skip
def test_override_values_are_parsed_as_yaml(base, override, path, value):
    doc = load_document(base, [override])
    data = doc.data
    for part in path:
        data = data[part]
    assert data == value
    assert type(data) is type(value)
    assert doc.sources.value(path) == Location(f"--set {override}")


def test_a_single_override_string_is_one_override(base):
    assert load_document(base, "params.width=3").data["params"]["width"] == 3


def test_override_pairs_take_python_values(base):
    doc = load_document(base, [("params.width", 12), ("graph.head.units", 4)])
    assert doc.data["params"]["width"] == 12
    assert doc.data["graph"][1]["Dense"]["units"] == 4
    assert doc.provenance.why(("params", "width"))[0] == Location("override params.width=12")


def test_overrides_apply_in_order(base):
    doc = load_document(base, ["params.width=1", "params.width=2"])
    assert doc.data["params"]["width"] == 2
    assert doc.provenance.why(("params", "width")) == [
        Location("--set params.width=2"),
        Location("--set params.width=1"),
        at(base, 3, 10),
    ]


def test_override_reaches_the_built_blueprint(base):
    bp = kb.load(base, ["params.width=24", "graph.head.units=6"])
    assert [dict(n.args) for n in bp.nodes] == [
        {"units": 24, "activation": "relu"},
        {"units": 6},
    ]


def test_unknown_node_name_in_an_override_has_a_did_you_mean(base):
    with pytest.raises(BlueprintError) as info:
        load_document(base, ["graph.sten.units=9"])
    err = info.value
    assert err.location == Location("--set graph.sten.units=9")
    assert err.message == "'sten' is not a node name in 'graph'"
    assert err.hint == "Did you mean 'stem'?"
    assert str(err) == (
        "--set graph.sten.units=9: error: 'sten' is not a node name in 'graph'.\n"
        "  Expected one of: head, stem. Did you mean 'stem'?"
    )


def test_misspelt_parameter_in_an_override_has_a_did_you_mean(base):
    with pytest.raises(BlueprintError) as info:
        load_document(base, ["params.widht=3"])
    err = info.value
    assert err.location == Location("--set params.widht=3")
    assert err.message == "'widht' is not a parameter of this blueprint"
    assert err.expected == "one of: act, depth, width"
    assert err.hint == (
        "Did you mean 'width'? Overrides change parameters the blueprint declares under 'params'."
    )


def test_unknown_node_inside_groups_lists_nested_names(tmp_path):
    path = write(
        tmp_path,
        "g.yaml",
        """
        inputs: {x: [4]}
        graph:
          - graph:
              - name: inner
                Dense: {units: 3}
          - name: out
            Dense: {units: 1}
        """,
    )
    with pytest.raises(BlueprintError) as info:
        load_document(path, ["graph.iner.units=2"])
    assert info.value.expected == "one of: inner, out"
    assert info.value.hint == "Did you mean 'inner'?"


@pytest.mark.parametrize("override", ["params.width", "=3", "  =3", ""])
def test_override_without_key_and_equals_is_malformed(base, override):
    with pytest.raises(BlueprintError) as info:
        load_document(base, [override])
    err = info.value
    assert err.location == Location(f"--set {override}")
    assert err.message == "an override must look like KEY=VALUE"
    assert err.received == override
    assert err.hint == "For example: --set params.width=32"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("params..width=3", "malformed key"),
        (".params=3", "malformed key"),
        ("graph[x].units=3", "malformed key"),
        ("graph[5].units=3", "index 5 is out of range"),
        ("params.width.x=3", "cannot set 'x' inside a number"),
        ("params.width=[1, 2", "invalid value: did not find expected ',' or ']'"),
        (
            "params.width=!!python/name:os.system",
            "the YAML tag '!!python/name:os.system' is not allowed",
        ),
    ],
)  # fmt: skip
def test_override_that_leads_nowhere(base, override, message):
    with pytest.raises(BlueprintError) as info:
        load_document(base, [override])
    assert info.value.message == message
    assert info.value.location == Location(f"--set {override}")


def test_split_key():
    where = Location("x")
    assert split_key("graph.stem.filters", where) == ["graph", "stem", "filters"]
    assert split_key("graph[2].units", where) == ["graph", 2, "units"]
    assert split_key("graph[-1]", where) == ["graph", -1]
    assert split_key("a.b[0][1].c", where) == ["a", "b", 0, 1, "c"]


def test_parse_override():
    assert parse_override("params.width=32") == ("params.width", 32)
    assert parse_override("a=b=c") == ("a", "b=c")
    assert parse_override("a=[x, 1]") == ("a", ["x", 1])


# -- provenance --------------------------------------------------------------------------


def test_provenance_lists_the_override_first_then_the_files(tmp_path, base):
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nparams:\n  width: 32\n")
    doc = load_document(child, ["params.width=64"])
    assert doc.provenance.why(("params", "width")) == [
        Location("--set params.width=64"),
        at(child, 3, 10),
        at(base, 3, 10),
    ]
    # A value nobody overrode has only its file.
    assert doc.provenance.why(("params", "depth")) == [at(base, 4, 10)]
    # A path below a value falls back to the value.
    assert doc.provenance.why(("compile", "metrics", 0)) == [at(base, 16, 13)]
    assert doc.provenance.why(("nothing",)) == []


def test_provenance_through_a_set_section_and_an_override(tmp_path, base):
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nset:\n  graph.stem.units: 20\n")
    doc = load_document(child, ["graph.stem.units=30"])
    assert doc.provenance.why(("graph", 0, "Dense", "units")) == [
        Location("--set graph.stem.units=30"),
        at(child, 3, 21),
        at(base, 10, 20),
    ]


# -- imports -----------------------------------------------------------------------------

BLOCKS = """\
blocks:
  mlp_block:
    params: {units: int}
    graph:
      - Dense: {units: "${units}", activation: relu}
      - Dropout: {rate: 0.1}
"""


def test_imports_bring_blocks_from_another_file(tmp_path):
    lib = write(tmp_path, "lib/blocks.yaml", BLOCKS)
    user = write(
        tmp_path,
        "user.yaml",
        """
        imports: [lib/blocks.yaml]
        inputs: {x: [4]}
        graph:
          - mlp_block: {units: 8}
          - Dense: {units: 1}
        """,
    )
    doc = load_document(user)
    assert list(doc.imported_blocks) == ["mlp_block"]
    assert "imports" not in doc.data
    bp = kb.load(user)
    assert [(n.name, n.type) for n in bp.nodes] == [
        ("mlp_block_dense", "Dense"),
        ("mlp_block_dropout", "Dropout"),
        ("dense", "Dense"),
    ]
    assert bp.nodes[0].args["units"] == 8
    # Nodes of the block point at the file that defines it.
    assert bp.nodes[0].location == at(lib, 5, 9)


def test_imports_a_single_file_without_a_list(tmp_path):
    write(tmp_path, "blocks.yaml", BLOCKS)
    user = write(tmp_path, "u.yaml", "imports: blocks.yaml\ninputs: {x: [4]}\ngraph: [mlp_block]\n")
    assert list(load_document(user).imported_blocks) == ["mlp_block"]


def test_importing_a_file_without_blocks_is_an_error(tmp_path):
    write(tmp_path, "noblocks.yaml", "params: {a: 1}\n")
    user = write(tmp_path, "u.yaml", "inputs: {x: [4]}\nimports: [noblocks.yaml]\ngraph: [Dense]\n")
    with pytest.raises(BlueprintError) as info:
        load_document(user)
    err = info.value
    assert err.location == at(user, 2, 11)
    assert err.message == "an imported file must declare 'blocks:'"
    assert err.received == "noblocks.yaml"
    assert err.hint == "'imports' brings blocks; use 'extends' to inherit a whole blueprint."


def test_circular_imports(tmp_path):
    a = write(tmp_path, "a.yaml", "imports: b.yaml\nblocks:\n  x1: {graph: [Dense]}\n")
    write(tmp_path, "b.yaml", "imports: a.yaml\nblocks:\n  x2: {graph: [Dense]}\n")
    with pytest.raises(BlueprintError) as info:
        load_document(a)
    assert info.value.message == "circular 'imports'"
    assert info.value.location == at(tmp_path / "b.yaml", 1, 10)
