"""`blueprint schema`: a valid JSON Schema that accepts what the resolver accepts."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import run_cli_isolated
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

import keras_blueprints as kb
from keras_blueprints import zoo
from keras_blueprints.catalog import keras_layers
from keras_blueprints.catalog.components import BLOCKS, LAYERS
from keras_blueprints.catalog.docs import layer_doc
from keras_blueprints.cli import main
from keras_blueprints.loading.document import CONTROL_KEYS
from keras_blueprints.resolve import TOP_LEVEL_KEYS
from keras_blueprints.views.jsonschema import DRAFT, blueprint_schema

# Every construct of the language at least once; it loads, so the schema must accept it.
RICH = """\
name: rich
params: {n: 3, width: 8}
inputs:
  x: {shape: ["${n}", 3]}
  y: [5, 3]
blocks:
  conv_bn:
    params:
      filters: int
      k: {type: "int | list", default: 3}
      act: {type: "str?", default: null, choices: [relu, null]}
    graph:
      - Conv1D: {filters: "${filters}", kernel_size: "${k}", use_bias: false, padding: same}
      - bn: {}
      - relu
graph:
  - name: stem
    Conv1D: {filters: "${width}", kernel_size: 1}
    from: x
  - name: stem_y
    share: stem
    from: y
  - repeat: 2
    as: j
    graph:
      - name: c${j}
        conv_bn: {filters: 8}
  - name: bi
    Bidirectional: {layer: {LSTM: {units: 4}}, merge_mode: concat}
  - Flatten:
  - name: pooled
    GlobalAveragePooling1D: {}
    from: stem_y
  - name: out
    Concatenate: {axis: -1}
    from: [flatten, pooled]
    when: "${n > 2}"
outputs: [out]
compile: {optimizer: {adam: {learning_rate: 0.01}}, loss: mse, jit_compile: auto}
"""


@pytest.fixture(scope="module")
def schema() -> dict:
    return blueprint_schema()


@pytest.fixture(scope="module")
def validator(schema) -> Draft202012Validator:
    return Draft202012Validator(schema)


def _best(validator: Draft202012Validator, text: str):
    return best_match(validator.iter_errors(yaml.safe_load(text)))


def test_schema_is_valid_draft_2020_12(schema):
    assert schema["$schema"] == DRAFT
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", zoo.names())
def test_zoo_blueprints_validate(validator, name):
    doc = yaml.safe_load(zoo.path(name).read_text(encoding="utf-8"))
    assert [e.message for e in validator.iter_errors(doc)] == []


def test_every_construct_validates_and_loads(validator):
    assert kb.load(RICH).name == "rich"  # the resolver accepts it...
    errors = [e.message for e in validator.iter_errors(yaml.safe_load(RICH))]
    assert errors == []  # ...so must the schema


def test_misspelt_layer_argument_fails(validator):
    text = "inputs: {x: [28, 28, 1]}\ngraph:\n  - Conv2D: {filtres: 6, kernel_size: 5}\n"
    error = _best(validator, text)
    assert list(error.absolute_path) == ["graph", 0, "Conv2D"]
    assert error.message == "Additional properties are not allowed ('filtres' was unexpected)"
    with pytest.raises(kb.BlueprintError, match="'filtres' is not an argument of Conv2D"):
        kb.load(text)  # the resolver agrees


@pytest.mark.parametrize(
    ("graph", "path", "message"),
    [
        ("- bn: {momentm: 0.9}", ["graph", 0, "bn"], "'momentm' was unexpected"),
        (
            "- Bidirectional: {layer: {LSTM: {unitz: 4}}}",
            ["graph", 0, "Bidirectional", "layer", "LSTM"],
            "'unitz' was unexpected",
        ),
        ("- Conv2D: {filters: 6}", ["graph", 0, "Conv2D"], "'kernel_size' is a required property"),
        ("- Dense: {units: 2, use_bias: 'yes'}", ["graph", 0, "Dense", "use_bias"], "'yes'"),
        ("- Dense: {units: 2, momentum: 0.9}", ["graph", 0, "Dense"], "'momentum' was unexpected"),
        ("- Dense: {units: 2}\n    Dropout: {rate: 0.1}", ["graph", 0], "is not one of"),
        ("- share: a\n    Dense: {units: 2}", ["graph", 0], "'Dense' is not one of"),
        ("- repeat: -1\n    graph: [Flatten]", ["graph", 0, "repeat"], ""),
        ("- name: x\n    doc: only control keys", ["graph", 0], ""),
    ],
)
def test_invalid_nodes_fail(validator, graph, path, message):
    error = _best(validator, f"inputs: {{x: [4]}}\ngraph:\n  {graph}\n")
    assert error is not None
    assert list(error.absolute_path) == path
    assert message in error.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("grpah: []", "'grpah' was unexpected"),
        ("inputs: {x: {shape: [4], dtyp: float32}}", "'dtyp' was unexpected"),
        ("inputs: {x: {shape: [0]}}", ""),
        ("compile: {optimiser: adam}", "'optimiser' was unexpected"),
        ("blocks: {b: {params: {n: integer}, graph: [Flatten]}}", ""),
    ],
)
def test_invalid_sections_fail(validator, text, message):
    error = _best(validator, text)
    assert error is not None
    assert message in error.message


def test_expressions_are_accepted_for_typed_values(validator):
    text = (
        "params: {bias: false, n: 2}\ninputs: {x: [4]}\ngraph:\n"
        "  - Dense: {units: 2, use_bias: '${bias}'}\n"
        "  - repeat: '${n}'\n    graph: [{Dropout: {rate: 0.1}}]\n"
    )
    assert list(validator.iter_errors(yaml.safe_load(text))) == []


def test_sections_and_node_keys_come_from_the_resolver(schema):
    assert set(schema["properties"]) == {*TOP_LEVEL_KEYS, "extends", "imports", "set"}
    assert all(schema["properties"].values())  # every section is described
    node = schema["$defs"]["nodeMapping"]["properties"]
    assert all(node[key] for key in CONTROL_KEYS)


def test_every_layer_and_alias_is_a_node_key(schema):
    node = schema["$defs"]["nodeMapping"]
    for name in LAYERS.names():
        for key in (name, *LAYERS.aliases_of(name)):
            assert node["properties"][key]["$ref"] == f"#/$defs/layer.{name}"
            assert set(node["dependentSchemas"][key]["propertyNames"]["enum"]) == {
                "name", "from", "repeat", "as", "when", "doc", key,
            }  # fmt: skip


def test_layer_arguments_match_the_catalog(schema):
    for name, signature in keras_layers().items():
        layer = schema["$defs"][f"layer.{name}"]
        assert list(layer["properties"]) == list(signature.param_names), name
        assert layer.get("required", []) == list(signature.required), name
        assert layer["additionalProperties"] is False
    conv = schema["$defs"]["layer.Conv2D"]["properties"]
    docs = layer_doc("Conv2D").args  # the docstring's text, then the default
    assert conv["padding"]["description"] == docs["padding"] + ' Default: "valid".'
    assert conv["padding"]["default"] == "valid"
    assert conv["strides"]["description"] == docs["strides"] + " Default: [1, 1]."
    assert conv["filters"]["description"] == docs["filters"] + " Required."
    assert conv["use_bias"]["anyOf"] == [
        {"type": "boolean"},
        {"$ref": "#/$defs/expression"},
        {"$ref": "#/$defs/searchSpace"},
    ]


def test_python_blocks_are_in_the_schema():
    def schema_test_block(x, *, name: str, units: int, mode: str = "a"):
        """A block for this test."""
        return x

    kb.register_block(schema_test_block)
    try:
        schema = blueprint_schema()
    finally:
        BLOCKS.unregister("schema_test_block")
    block = schema["$defs"]["block.schema_test_block"]
    assert block["required"] == ["units"]
    assert block["properties"]["mode"]["description"] == 'Default: "a".'
    validator = Draft202012Validator(schema)
    good = "inputs: {x: [4]}\ngraph:\n  - schema_test_block: {units: 2}\n"
    assert list(validator.iter_errors(yaml.safe_load(good))) == []
    error = _best(validator, good.replace("units: 2", "units: two"))
    assert list(error.absolute_path) == ["graph", 0, "schema_test_block", "units"]


def test_command_prints_the_schema(capsys, schema):
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == schema


def test_command_writes_the_file(tmp_path, capsys, schema):
    out = tmp_path / "blueprint.schema.json"
    assert main(["schema", "-o", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == schema
    count = len(LAYERS.names())
    assert capsys.readouterr().out.startswith(f"{out}: JSON Schema of blueprints ({count} layers, ")
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_command_does_not_import_tensorflow(tmp_path):
    out = tmp_path / "schema.json"
    status, heavy, _ = run_cli_isolated(["schema", "-o", str(out)])
    assert (status, heavy) == (0, [])
    assert json.loads(out.read_text(encoding="utf-8"))["$schema"] == DRAFT
