"""`blueprint plot`: DOT text, rendered files, and the paths needing no TensorFlow or Graphviz."""

from __future__ import annotations

import html
import itertools
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from conftest import run_cli_isolated

import keras_blueprints as kb
from keras_blueprints.catalog.components import BLOCKS
from keras_blueprints.cli import main
from keras_blueprints.resolve.schema import Ref
from keras_blueprints.views.diagram import (
    BlockContents,
    InnerLayer,
    _quote,
    block_path,
    format_shape,
    to_dot,
)

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot is not installed"
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}"

NODE_RE = re.compile(r'^\s*"([^"]+)" \[label=<(.*)>(, [^<>]*)\];$')
EDGE_RE = re.compile(r'^\s*"([^"]+)" -> "([^"]+)"(?: \[(.*)\])?;$')

LENET_LABELS = {
    "image": r"image\nInput\n(None, 32, 32, 1)",
    "c1": r"c1\nConv2D\n(None, 28, 28, 6)",
    "s2": r"s2\nAveragePooling2D\n(None, 14, 14, 6)",
    "c3": r"c3\nConv2D\n(None, 10, 10, 16)",
    "s4": r"s4\nAveragePooling2D\n(None, 5, 5, 16)",
    "c5": r"c5\nConv2D\n(None, 1, 1, 120)",
    "flatten": r"flatten\nFlatten\n(None, 120)",
    "f6": r"f6\nDense\n(None, 84)",
    "probabilities": r"probabilities\nDense\n(None, 10)",
}
LENET_CHAIN = ["image", "c1", "s2", "c3", "s4", "c5", "flatten", "f6", "probabilities"]

# Two towers sharing one layer, a concatenation, a YAML block instance with a
# skip connection and a nested block, an LSTM with keyword state inputs and
# several outputs, and a Python block.
TOWERS = """\
name: towers
inputs:
  left: {shape: [8]}
  right: {shape: [8]}
  seq: {shape: [5, 3]}
  h0: {shape: [4]}
  c0: {shape: [4]}
blocks:
  inner:
    params: {units: int}
    graph:
      - name: d
        Dense: {units: "${units}"}
  residual:
    params: {units: int}
    graph:
      - name: dense
        Dense: {units: "${units}", activation: relu}
      - name: deeper
        inner: {units: "${units}"}
      - name: add
        Add: {}
        from: [x, deeper]
graph:
  - name: encode
    Dense: {units: 8}
    from: left
  - name: encode_right
    share: encode
    from: right
  - name: merged
    Concatenate: {}
    from: [encode, encode_right]
  - name: res
    residual: {units: 16}
  - name: lstm
    LSTM: {units: 4, return_state: true}
    from: {inputs: seq, initial_state: [h0, c0]}
  - name: proj
    plot_test_projection: {units: 3}
    from: lstm.1
outputs: [res, proj]
"""


def _nodes(dot: str) -> dict[str, tuple[str, str]]:
    """Node name -> (label text, its lines joined by a literal \\n; other attributes)."""
    return {
        m[1]: (_label_text(m[2]), m[3]) for line in dot.splitlines() if (m := NODE_RE.match(line))
    }


def _label_text(label: str) -> str:
    """The text of an HTML-like label: its table cells without markup, entities decoded."""
    cells = re.findall(r"<TD[^>]*>(.*?)</TD>", label)
    return r"\n".join(html.unescape(re.sub(r"<[^>]+>", "", cell)) for cell in cells)


def _edges(dot: str) -> dict[tuple[str, str], str]:
    """(tail, head) -> attributes ('' for none); fails on a duplicated edge."""
    edges: dict[tuple[str, str], str] = {}
    for line in dot.splitlines():
        if m := EDGE_RE.match(line):
            assert (m[1], m[2]) not in edges, f"duplicate edge {m[1]} -> {m[2]}"
            edges[(m[1], m[2])] = m[3] or ""
    return edges


def _clusters(dot: str) -> dict[str, tuple[str | None, set[str]]]:
    """Cluster name -> (enclosing cluster, names of the nodes directly inside it)."""
    clusters: dict[str, tuple[str | None, set[str]]] = {}
    stack: list[str] = []
    for line in dot.splitlines():
        if m := re.match(r'^\s*subgraph "cluster_([^"]+)" \{$', line):
            clusters[m[1]] = (stack[-1] if stack else None, set())
            stack.append(m[1])
        elif line.strip() == "}" and stack:
            stack.pop()
        elif (m := NODE_RE.match(line)) and stack:
            clusters[stack[-1]][1].add(m[1])
    return clusters


@pytest.fixture
def projection_block():
    """A Python block registered for the test only."""
    from keras import layers

    def plot_test_projection(x, *, name: str, units: int = 2):
        """Projects to ``units`` features."""
        return layers.Dense(units, name=f"{name}_dense")(x)

    kb.register_block(plot_test_projection)
    yield
    BLOCKS.unregister("plot_test_projection")


@pytest.fixture
def towers(tmp_path, projection_block):
    path = tmp_path / "towers.yaml"
    path.write_text(TOWERS)
    return path


# -- DOT text ---------------------------------------------------------------------------


def test_lenet5_dot_has_every_node_edge_and_shape(capsys):
    assert main(["plot", "zoo:lenet5"]) == 0
    dot = capsys.readouterr().out
    assert dot.startswith('digraph "lenet5" {\n')
    nodes = _nodes(dot)
    assert {name: label for name, (label, _) in nodes.items()} == LENET_LABELS
    assert _edges(dot) == dict.fromkeys(itertools.pairwise(LENET_CHAIN), "")
    assert "shape=ellipse" in nodes["image"][1]
    assert "peripheries=2" in nodes["probabilities"][1]  # the model output
    outlined = {name for name, (_, attrs) in nodes.items() if "peripheries" in attrs}
    assert outlined == {"probabilities"}
    assert _clusters(dot) == {}


def test_multi_input_graph_edges_clusters_and_shapes(towers, capsys):
    assert main(["plot", str(towers)]) == 0
    dot = capsys.readouterr().out
    edges = _edges(dot)
    assert set(edges) == {
        ("left", "encode"),
        ("right", "encode_right"),
        ("encode", "encode_right"),  # shares its layer
        ("encode", "merged"),
        ("encode_right", "merged"),
        ("merged", "res_dense"),
        ("merged", "res_add"),  # the skip connection
        ("res_dense", "res_deeper_d"),
        ("res_deeper_d", "res_add"),
        ("seq", "lstm"),
        ("h0", "lstm"),
        ("c0", "lstm"),
        ("lstm", "proj"),
    }
    assert edges[("encode", "encode_right")] == (
        'label="shares", style=dashed, color="#999999", arrowhead=empty'
    )
    assert edges[("h0", "lstm")] == edges[("c0", "lstm")] == 'label="initial_state", style=bold'
    assert edges[("lstm", "proj")] == 'label="1"'  # lstm.1: one output of several
    assert edges[("merged", "res_add")] == edges[("left", "encode")] == ""

    labels = {name: label for name, (label, _) in _nodes(dot).items()}
    assert labels["encode_right"] == r"encode_right\nDense (shared with encode)\n(None, 8)"
    assert labels["merged"] == r"merged\nConcatenate\n(None, 16)"
    assert labels["res_add"] == r"res_add\nAdd\n(None, 16)"
    assert labels["lstm"] == r"lstm\nLSTM\n[(None, 4), (None, 4), (None, 4)]"
    assert labels["proj"] == r"proj\nplot_test_projection\n(None, 3)"  # a Python block
    assert labels["seq"] == r"seq\nInput\n(None, 5, 3)"

    attrs = {name: rest for name, (_, rest) in _nodes(dot).items()}
    assert "shape=box3d" in attrs["proj"]
    assert "dashed" in attrs["encode_right"]
    assert {n for n, a in attrs.items() if "peripheries=2" in a} == {"res_add", "proj"}

    assert _clusters(dot) == {
        "res": (None, {"res_dense", "res_add"}),
        "res_deeper": ("res", {"res_deeper_d"}),
    }
    assert 'label="deeper"' in dot  # a nested cluster is labelled with its local name


def test_to_dot_without_shapes_is_pure():
    bp = kb.load("zoo:mlp")
    dot = to_dot(bp)
    labels = {name: label for name, (label, _) in _nodes(dot).items()}
    assert labels == {
        "features": r"features\nInput",
        "hidden1": r"hidden1\nDense",
        "dropout1": r"dropout1\nDropout",
        "hidden2": r"hidden2\nDense",
        "dropout2": r"dropout2\nDropout",
        "probabilities": r"probabilities\nDense",
    }
    assert dot == to_dot(bp)  # deterministic


def test_labels_are_escaped():
    # A name cannot hold a backslash (it names run directories): quotes it can.
    bp = kb.load("inputs: {x: [2]}\nname: 'say \"hi\" bye'\ngraph: [Flatten]\n")
    assert to_dot(bp).startswith('digraph "say \\"hi\\" bye" {')
    assert _quote('a \\ "b"') == '"a \\\\ \\"b\\""'


def test_format_shape_and_block_path():
    assert format_shape((None,)) == "(None,)"
    assert format_shape((None, 28, 28, 6)) == "(None, 28, 28, 6)"
    bp = kb.load(TOWERS.replace("plot_test_projection: {units: 3}", "Dense: {units: 3}"))
    assert block_path(bp.node("res_deeper_d")) == ("res", "res_deeper")
    assert block_path(bp.node("res_add")) == ("res",)
    assert block_path(bp.node("encode")) == ()


# -- files ------------------------------------------------------------------------------


@needs_dot
def test_png_file(tmp_path, capsys):
    out = tmp_path / "model.png"
    assert main(["plot", "zoo:lenet5", "-o", str(out)]) == 0
    assert out.read_bytes().startswith(PNG_MAGIC)
    assert capsys.readouterr().out == f"{out}: lenet5, 1 input(s), 8 node(s)\n"
    assert [p.name for p in tmp_path.iterdir()] == ["model.png"]  # no temporary file left


@needs_dot
def test_svg_file_is_xml_with_every_node(tmp_path):
    out = tmp_path / "model.svg"
    assert main(["plot", "zoo:lenet5", "--no-shapes", "-o", str(out)]) == 0
    root = ET.parse(out).getroot()
    assert root.tag == f"{SVG}svg"
    titles = {
        group.find(f"{SVG}title").text
        for group in root.iter(f"{SVG}g")
        if group.get("class") == "node"
    }
    assert titles == set(LENET_LABELS)


def test_dot_file_needs_no_graphviz(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    out = tmp_path / "model.dot"
    assert main(["plot", "zoo:mlp", "--no-shapes", "-o", str(out)]) == 0
    assert out.read_text() == to_dot(kb.load("zoo:mlp"))


def test_missing_dot_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    out = tmp_path / "model.png"
    assert main(["plot", "zoo:lenet5", "--no-shapes", "-o", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("blueprint plot: error: Graphviz's 'dot' program is not on PATH")
    assert "apt-get install graphviz" in captured.err
    assert not out.exists()


def test_missing_dot_fails_before_tensorflow_is_imported(tmp_path, monkeypatch):
    # With shapes asked for, the model would be built; without dot the command must
    # stop first: the isolated run reports every heavy module it imported.
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # the fresh interpreter inherits it
    out = tmp_path / "model.png"
    status, heavy, _ = run_cli_isolated(["plot", "zoo:lenet5", "-o", str(out)])
    assert (status, [m for m in heavy if m != "numpy"]) == (2, [])
    assert not out.exists()


def test_rankdir_and_dpi_reach_the_dot(capsys):
    assert main(["plot", "zoo:mlp", "--no-shapes", "--rankdir", "LR", "--dpi", "150"]) == 0
    graph = capsys.readouterr().out.splitlines()[1]
    assert graph.startswith("  graph [rankdir=LR, dpi=150, ")
    assert "dpi=" not in to_dot(kb.load("zoo:mlp")).splitlines()[1]  # default: Graphviz's own


def test_args_put_key_arguments_in_the_labels(capsys):
    assert main(["plot", "zoo:lenet5", "--no-shapes", "--args"]) == 0
    labels = {name: label for name, (label, _) in _nodes(capsys.readouterr().out).items()}
    assert labels["c1"] == "c1\\nConv2D\\nfilters=6, kernel_size=5, activation=tanh"
    plain = _nodes(to_dot(kb.load("zoo:lenet5")))
    assert plain["c1"][0] == "c1\\nConv2D"  # without --args: name and type only


def test_bad_rankdir_and_dpi_are_usage_errors(capsys):
    with pytest.raises(SystemExit) as bad_rankdir:
        main(["plot", "zoo:mlp", "--no-shapes", "--rankdir", "XY"])
    with pytest.raises(SystemExit) as bad_dpi:
        main(["plot", "zoo:mlp", "--no-shapes", "--dpi", "0"])
    assert (bad_rankdir.value.code, bad_dpi.value.code) == (2, 2)
    with pytest.raises(ValueError, match="rankdir='XY'"):
        to_dot(kb.load("zoo:mlp"), rankdir="XY")


def test_unknown_suffix_is_refused(tmp_path, capsys):
    assert main(["plot", "zoo:mlp", "--no-shapes", "-o", str(tmp_path / "model.bmp")]) == 2
    err = capsys.readouterr().err
    assert "cannot tell the format of" in err and ".png" in err and ".dot" in err


def test_shape_error_points_at_the_node(capsys):
    assert main(["plot", "zoo:lenet5", "--set", "params.size=3"]) == 2
    err = capsys.readouterr().err
    assert re.search(r"lenet5\.yaml:\d+:\d+: error: Keras could not call Conv2D 'c1'", err)
    assert "Received: input shape (None, 3, 3, 1)." in err


def test_no_shapes_does_not_import_tensorflow(tmp_path):
    out = tmp_path / "model.dot"
    status, heavy, _ = run_cli_isolated(["plot", "zoo:lenet5", "--no-shapes", "-o", str(out)])
    assert (status, [m for m in heavy if m != "numpy"]) == (0, [])
    assert _nodes(out.read_text())["c1"][0] == r"c1\nConv2D"


# -- --expand: Python blocks drawn with their layers -------------------------------------

SMALL_UNET = ["--set", "params.size=32", "--set", "params.filters=4", "--set", "params.depth=2"]


def test_expand_draws_each_python_block_as_a_cluster_of_its_layers(capsys):
    assert main(["plot", "zoo:unet", "--expand", *SMALL_UNET]) == 0
    dot = capsys.readouterr().out
    bp = kb.load("zoo:unet", [o for o in SMALL_UNET if o != "--set"])
    model = kb.build(bp, compile=False)
    blocks = [node.name for node in bp.nodes if node.kind == "block"]
    assert blocks == ["down0", "down1", "up2", "up1", "up0"]
    clusters = _clusters(dot)
    assert set(clusters) == set(blocks)
    for block in blocks:
        parent, inside = clusters[block]
        built = {layer.name for layer in model.layers if layer.name.startswith(f"{block}_")}
        assert parent is None
        assert inside == {f"{block}/{name}" for name in built}, block
        assert f'label="{block}: {bp.node(block).type}"' in dot
    nodes = _nodes(dot)
    edges = _edges(dot)
    assert {end for edge in edges for end in edge} <= set(nodes)  # no edge to a lost node
    assert set(nodes) - {end for edge in edges for end in edge} == set()  # none left alone
    # down1.pooled feeds the bottom; down1.skip (its second conv) the decoder level up1.
    assert ("down1/down1_pool", "up2/up2_1_conv") in edges
    assert ("down1/down1_2_relu", "up1/up1_concat") in edges
    assert ("up0/up0_2_relu", "mask") in edges
    assert "peripheries=2" in nodes["mask"][1]
    # The layers carry their own shapes, the labels their names without the block's.
    assert nodes["up2/up2_1_conv"][0] == r"1_conv\nConv2D\n(None, 8, 8, 16)"


def test_without_expand_a_python_block_stays_one_box(capsys):
    assert main(["plot", "zoo:unet", "--no-shapes", *SMALL_UNET]) == 0
    dot = capsys.readouterr().out
    assert _clusters(dot) == {}
    assert "shape=box3d" in _nodes(dot)["down0"][1]


@needs_dot
def test_an_expanded_diagram_renders(tmp_path):
    out = tmp_path / "unet.svg"
    assert main(["plot", "zoo:unet", "--expand", *SMALL_UNET, "-o", str(out)]) == 0
    root = ET.parse(out).getroot()
    titles = {
        group.find(f"{SVG}title").text
        for group in root.iter(f"{SVG}g")
        if group.get("class") == "node"
    }
    assert "up1/up1_concat" in titles and "mask" in titles


def test_to_dot_expand_joins_a_block_to_its_neighbours(projection_block):
    # Pure: the block's contents are given, as built_view would give them.
    bp = kb.load(TOWERS)
    contents = BlockContents(
        layers=(
            InnerLayer("proj_dense", "proj_dense", "Dense", "(None, 3)"),
            InnerLayer("proj_dense (call 2)", "proj_dense", "Dense", "(None, 3)"),
        ),
        edges=(("proj_dense", "proj_dense (call 2)"),),
        entries=((Ref("lstm", 1), "proj_dense"),),
        exits=((None, "proj_dense (call 2)"),),
    )
    dot = to_dot(bp, expand={"proj": contents, "merged": contents})
    assert _clusters(dot)["proj"] == (None, {"proj/proj_dense", "proj/proj_dense (call 2)"})
    edges = _edges(dot)
    assert edges[("lstm", "proj/proj_dense")] == 'label="1"'  # still lstm's output 1
    assert edges[("proj/proj_dense", "proj/proj_dense (call 2)")] == ""
    assert not any("proj" in edge for edge in edges)  # no edge to the block's box
    nodes = _nodes(dot)
    assert "proj" not in nodes and "merged" in nodes  # a layer node never expands
    assert nodes["proj/proj_dense"][0] == r"dense\nDense\n(None, 3)"
    assert "peripheries=2" in nodes["proj/proj_dense (call 2)"][1]  # the model's output
    assert 'label="proj: plot_test_projection"' in dot
    assert to_dot(bp, expand={}) == to_dot(bp)


def test_an_output_a_block_passes_on_leaves_from_where_it_came(projection_block):
    bp = kb.load(TOWERS)
    contents = BlockContents(
        layers=(InnerLayer("proj_dense", "proj_dense", "Dense"),),
        entries=((Ref("lstm", 1), "proj_dense"),),
        exits=((None, Ref("lstm", 1)),),  # the block returns its input as it came
    )
    nodes = _nodes(to_dot(bp, expand={"proj": contents}))
    assert "peripheries=2" in nodes["lstm"][1]  # the model's output 'proj' is lstm's
    assert "peripheries=2" not in nodes["proj/proj_dense"][1]


def test_built_view_finds_a_blocks_layers_and_parameters(projection_block, tmp_path):
    from keras_blueprints.views.built import built_view

    path = tmp_path / "towers.yaml"
    path.write_text(TOWERS)
    bp = kb.load(path)
    import keras

    keras.backend.clear_session()
    view = built_view(bp)
    proj = view.blocks["proj"]
    assert [layer.name for layer in proj.layers] == ["proj_dense"]
    assert proj.entries == ((Ref("lstm", 1), "proj_dense"),)
    assert proj.exit(None) == "proj_dense"
    assert set(view.blocks) == {"proj"}  # only Python blocks
    assert view.params["proj"] == 4 * 3 + 3
    assert view.params["encode"] == 8 * 8 + 8
    assert view.params["encode_right"] == 0  # reuses encode's weights
    assert view.params["left"] == 0
    assert view.shapes["proj"] == "(None, 3)"
    dot = to_dot(bp, view.shapes, expand=view.blocks)
    edges = _edges(dot)
    assert edges[("lstm", "proj/proj_dense")] == 'label="1"'
    assert "peripheries=2" in _nodes(dot)["proj/proj_dense"][1]  # the model's output


# -- labels -------------------------------------------------------------------------------


def test_a_label_is_a_table_one_row_a_line():
    dot = to_dot(kb.load("zoo:lenet5"), {"c1": "(None, 28, 28, 6)"})
    (line,) = [line for line in dot.splitlines() if line.startswith('  "c1" [')]
    assert line == (
        '  "c1" [label=<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">'
        "<TR><TD>c1</TD></TR>"
        '<TR><TD><FONT POINT-SIZE="10">Conv2D</FONT></TD></TR>'
        '<TR><TD><FONT POINT-SIZE="10">(None, 28, 28, 6)</FONT></TD></TR>'
        '</TABLE>>, shape=box, style="rounded,filled", fillcolor="#ffffff"];'
    )


HOSTILE = 'x</TD></TR></TABLE>>]; "y" -> "z"; <B>&amp;'


def test_a_hostile_name_stays_text_in_the_label(projection_block):
    # A layer's name and class come from Python code (a plugin's block): any text.
    contents = BlockContents(
        layers=(InnerLayer(HOSTILE, HOSTILE, HOSTILE, "(None, 3)"),),
        entries=((Ref("lstm", 1), HOSTILE),),
        exits=((None, HOSTILE),),
    )
    dot = to_dot(kb.load(TOWERS), expand={"proj": contents})
    assert "x&lt;/TD&gt;&lt;/TR&gt;&lt;/TABLE&gt;&gt;]; &quot;y&quot; -&gt; " in dot
    assert "&lt;B&gt;&amp;amp;" in dot
    if shutil.which("dot") is None:
        return
    done = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True, check=True)
    root = ET.fromstring(done.stdout)
    titles = {
        group.find(f"{SVG}title").text
        for group in root.iter(f"{SVG}g")
        if group.get("class") == "node"
    }
    assert "y" not in titles and "z" not in titles  # no node made from the name
    assert len([t for t in titles if t.startswith("proj/x</TD>")]) == 1
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert HOSTILE in texts  # the type line, as written
