"""`blueprint schema`: a valid JSON Schema that accepts what the resolver accepts."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml
from conftest import run_cli_isolated
from jsonschema import Draft7Validator, Draft202012Validator
from jsonschema.exceptions import best_match

import keras_blueprints as kb
from keras_blueprints import zoo
from keras_blueprints.catalog import keras_layers
from keras_blueprints.catalog.components import BLOCKS, LAYERS
from keras_blueprints.catalog.docs import layer_doc
from keras_blueprints.catalog.signatures import argument_docs, summary_line
from keras_blueprints.cli import main
from keras_blueprints.loading.document import CONTROL_KEYS
from keras_blueprints.resolve import TOP_LEVEL_KEYS
from keras_blueprints.views.drafts import DRAFT_07, to_draft_07
from keras_blueprints.views.jsonschema import DRAFT, blueprint_schema

GENERATOR = Path(__file__).resolve().parent.parent / "tools" / "gen_layer_catalog.py"

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


# --- draft 07, descriptions and types (issue 13) ---------------------------------------


@pytest.fixture(scope="module")
def schema07() -> dict:
    return blueprint_schema("07")


@pytest.fixture(scope="module", params=["2020-12", "07"])
def any_validator(request, validator, schema07):
    return validator if request.param == "2020-12" else Draft7Validator(schema07)


def _keys(node, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        found.update(node)
        for value in node.values():
            _keys(value, found)
    elif isinstance(node, list):
        for value in node:
            _keys(value, found)
    return found


def test_schema_is_valid_draft_07(schema07):
    assert schema07["$schema"] == DRAFT_07
    Draft7Validator.check_schema(schema07)
    keys = _keys(schema07, set())
    assert not keys & {"$defs", "dependentSchemas", "prefixItems"}
    assert "#/$defs/" not in json.dumps(schema07)
    assert set(schema07["definitions"]) == set(blueprint_schema()["$defs"])


def test_draft_07_keeps_the_keywords_draft_07_ignores_beside_ref(schema07):
    graph = schema07["properties"]["graph"]  # {$ref, minItems} in 2020-12
    assert graph == {"minItems": 1, "allOf": [{"$ref": "#/definitions/graph"}]}
    pairs = schema07["properties"]["train"]["properties"]["pretrain"]["properties"]["pairs"]
    pair = next(s for s in pairs["anyOf"] if s.get("type") == "array")["items"]
    assert pair["items"] == [{"minLength": 1, "type": "string"}] * 2  # prefixItems in 2020-12
    assert "additionalItems" not in pair
    error = best_match(Draft7Validator(schema07).iter_errors({"graph": []}))
    assert list(error.absolute_path) == ["graph"]  # minItems still checked


def test_draft_07_refuses_what_it_cannot_express():
    schema = {"$schema": DRAFT, "properties": {"a": {"unevaluatedProperties": False}}}
    with pytest.raises(ValueError, match="#/properties/a: 'unevaluatedProperties'"):
        to_draft_07(schema)


@pytest.mark.parametrize("name", zoo.names())
def test_zoo_blueprints_validate_in_draft_07(schema07, name):
    doc = yaml.safe_load(zoo.path(name).read_text(encoding="utf-8"))
    assert [e.message for e in Draft7Validator(schema07).iter_errors(doc)] == []


def test_every_construct_validates_in_draft_07(schema07):
    errors = [e.message for e in Draft7Validator(schema07).iter_errors(yaml.safe_load(RICH))]
    assert errors == []


# Values Keras and the resolver accept: the typed arguments must not refuse them.
ACCEPTED = [
    "- Conv2D: {filters: 4, kernel_size: [3, '${k}'], padding: SAME, strides: 2}",
    "- Conv2D: {filters: '${k}', kernel_size: 3, activation: null, data_format: channels_last}",
    "- Dense: {units: 2, kernel_initializer: {class_name: HeNormal, config: {seed: 1}}}",
    "- Dense: {units: {choice: [2, 4]}, activation: {choice: [relu, tanh]}}",
    "- Dense: {units: 2, kernel_regularizer: l2, bias_initializer: zeros, dtype: mixed_float16}",
    "- ZeroPadding2D: {padding: 2}",
    "- ZeroPadding2D: {padding: [[1, 0], [0, 1]]}",
    "- Dropout: {rate: 0.5, seed: null}",
    "- Bidirectional: {layer: {LSTM: {units: 4, recurrent_activation: hard_sigmoid}}}",
    "- MaxPooling2D: {pool_size: 2, strides: null, padding: same}",
]


@pytest.mark.parametrize("graph", ACCEPTED)
def test_typed_arguments_accept_what_keras_accepts(any_validator, graph):
    text = f"params: {{k: 3}}\ninputs: {{x: [8, 8, 3]}}\ngraph:\n  {graph}\n"
    assert kb.load(text).nodes  # the resolver accepts it...
    assert [e.message for e in any_validator.iter_errors(yaml.safe_load(text))] == []


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("graph:\n  - Dense: {units: 2, activation: relux}", ["graph", 0, "Dense", "activation"]),
        (
            "graph:\n  - Conv2D: {filters: 2, kernel_size: 3, padding: sideways}",
            ["graph", 0, "Conv2D", "padding"],
        ),
        ("graph:\n  - Dense: {units: four}", ["graph", 0, "Dense", "units"]),
        ("graph:\n  - Dense: {units: 0}", ["graph", 0, "Dense", "units"]),
        ("graph:\n  - Dropout: {rate: 1.5}", ["graph", 0, "Dropout", "rate"]),
        (
            "graph:\n  - Dense: {units: 2, kernel_initializer: glorot}",
            ["graph", 0, "Dense", "kernel_initializer"],
        ),
        ("graph:\n  - Flatten: {data_format: last}", ["graph", 0, "Flatten", "data_format"]),
        ("graph:\n  - Flatten\nmodle: x", []),
    ],
)
def test_typed_arguments_refuse_invalid_values(any_validator, text, path):
    doc = yaml.safe_load(f"inputs: {{x: [8, 8, 3]}}\n{text}\n")
    error = best_match(any_validator.iter_errors(doc))
    assert error is not None
    assert list(error.absolute_path) == path


def test_invalid_values_are_refused_by_the_resolver_too():
    base = "inputs: {x: [4]}\ngraph:\n  - Dense: {units: 2, %s}\n"
    for bad in ("activation: relux", "kernel_initializer: glorot"):
        with pytest.raises(kb.BlueprintError):
            kb.load(base % bad)


def test_layer_arguments_are_described_and_typed(schema):
    defs = schema["$defs"]
    dense = defs["layer.Dense"]
    assert dense["description"] == (
        "Arguments of keras.layers.Dense. Just your regular densely-connected NN layer."
    )
    units = dense["properties"]["units"]
    assert units["description"] == "Positive integer, dimensionality of the output space. Required."
    assert units["anyOf"][0] == {"type": "integer", "minimum": 1}
    padding = defs["layer.Conv2D"]["properties"]["padding"]
    assert padding["anyOf"][0] == {"$ref": "#/$defs/enum.padding"}
    assert defs["enum.padding"]["anyOf"][0] == {"enum": ["causal", "same", "valid"]}
    activation = dense["properties"]["activation"]
    assert activation["anyOf"][0] == {"$ref": "#/$defs/activations"}
    options = defs["activations"]["anyOf"]
    assert {"relu", "gelu", "softmax"} <= set(options[0]["enum"])
    assert {"type": "object", "description": "{class_name: ..., config: {...}}"} in options
    kernel_size = defs["layer.Conv2D"]["properties"]["kernel_size"]
    assert kernel_size["anyOf"][:2] == [
        {"type": "integer"},
        {
            "type": "array",
            "items": {
                "anyOf": [
                    {"type": "integer"},
                    {"$ref": "#/$defs/expression"},
                    {"$ref": "#/$defs/searchSpace"},
                ]
            },
        },
    ]


def test_every_default_is_accepted_by_its_own_schema(schema):
    """Keras' defaults are valid values: a type inferred too narrowly refuses its own default."""
    refused = []
    for key, component in schema["$defs"].items():
        if not key.startswith(("layer.", "block.", "source.", "callback.")):
            continue
        for name, prop in component["properties"].items():
            if "default" not in prop:
                continue
            ref = {"$defs": schema["$defs"], "$ref": f"#/$defs/{key}/properties/{name}"}
            if not Draft202012Validator(ref).is_valid(prop["default"]):
                refused.append(f"{key}.{name}={prop['default']!r}")
    assert refused == []


def test_most_layer_arguments_have_a_description_and_a_type(schema):
    """Issue 13 counted 1,598 arguments described only by their default, 1,062 untyped."""
    props = [
        prop
        for key, layer in schema["$defs"].items()
        if key.startswith("layer.")
        for prop in layer["properties"].values()
    ]
    bare = [p for p in props if p["description"].split(" ")[0] in ("Required.", "Default:")]
    untyped = [p for p in props if not set(p) & {"anyOf", "$ref", "type"}]
    assert len(props) >= 1500
    assert len(bare) < len(props) // 20
    assert len(untyped) < len(props) // 3


def test_layers_of_the_package_are_described(schema):
    layer = schema["$defs"]["layer.PeepholeLSTMCell"]
    assert layer["description"].startswith("Arguments of keras_blueprints.layers.")
    assert "Gers & Schmidhuber" in layer["description"]
    units = layer["properties"]["units"]
    assert units["description"] == "Positive integer, the size of the state and output. Required."


def test_python_block_parameters_are_described_and_typed(schema):
    block = schema["$defs"]["block.bottleneck_block"]["properties"]
    assert block["filters"]["description"] == (
        "Channels of the bottleneck; the block outputs ``4 * filters``. Required."
    )
    assert block["filters"]["anyOf"][0] == {"type": "integer", "exclusiveMinimum": 0}
    stride = "Stride of the block (and of the shortcut). Default: 1."
    assert block["stride"]["description"] == stride


def test_docstring_reader_reads_args_sections():
    class Base:
        """A base.

        Args:
            name: String name of the layer.
            seed: Inherited, not read: the subclass describes it.
        """

    class Widget(Base):
        """Makes widgets.

        More text.

        Args:
            units: Positive integer,
                the width.

                A second paragraph, dropped.
            seed: Random seed.
            **kwargs: Base keywords.

        Returns:
            Nothing read here: not an argument.
        """

    assert summary_line(Widget) == "Makes widgets."
    assert argument_docs(Widget, Base) == {
        "name": "String name of the layer.",
        "seed": "Random seed.",
        "units": "Positive integer, the width.",
    }
    assert argument_docs(Widget, Widget) == {
        "seed": "Random seed.",
        "units": "Positive integer, the width.",
    }


def test_shipped_layer_docs_match_the_docstrings():
    spec = importlib.util.spec_from_file_location("gen_layer_catalog", GENERATOR)
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    path = GENERATOR.parent.parent / "keras_blueprints" / "catalog" / "layer_docs.json"
    text = path.read_text(encoding="utf-8")
    assert text == generator.render(generator.collect_docs()), (
        "layer_docs.json is stale: run `python tools/gen_layer_catalog.py` and commit it"
    )


def test_command_writes_draft_07(tmp_path, capsys, schema07):
    out = tmp_path / "blueprint.schema.json"
    assert main(["schema", "--draft", "07", "-o", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == schema07
    assert capsys.readouterr().out.rstrip().endswith(" bytes, draft 07)")
    assert main(["schema", "--draft", "07"]) == 0
    assert json.loads(capsys.readouterr().out)["$schema"] == DRAFT_07


def test_draft_07_command_does_not_import_tensorflow(tmp_path):
    out = tmp_path / "schema.json"
    status, heavy, _ = run_cli_isolated(["schema", "--draft", "07", "-o", str(out)])
    assert (status, heavy) == (0, [])
    assert json.loads(out.read_text(encoding="utf-8"))["$schema"] == DRAFT_07
