"""``blueprint plot -o model.html``: an interactive, self-contained architecture view.

The page is built from the same resolved :class:`Blueprint` as the Graphviz
diagram: one JSON document of nodes (name, type, arguments, YAML lines, output
shape, block path) and a small script written here (no CDN, nothing fetched)
that lays the nodes out top to bottom, pans (drag), zooms (wheel or buttons),
opens and closes block instances, and shows a node's details when clicked
(its output shape and parameters too, when the model was built).
The JSON is embedded with ``<``, ``>`` and ``&`` escaped, and the script only
ever sets ``textContent``, so names and values from an untrusted blueprint stay text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from keras_blueprints.resolve.schema import Blueprint
from keras_blueprints.views.diagram import block_path

__all__ = ["graph_data", "to_html"]


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _yaml_lines(file: str, line: int, cache: dict[str, list[str]]) -> str:
    if line <= 0:
        return ""
    if file not in cache:
        try:
            cache[file] = Path(file).read_text(encoding="utf-8").splitlines()
        except OSError:
            cache[file] = []
    lines = cache[file]
    if line > len(lines):
        return ""
    first = lines[line - 1]
    indent = len(first) - len(first.lstrip())
    end = line
    while end < len(lines) and len(lines[end]) - len(lines[end].lstrip()) > indent:
        end += 1  # the rest of a block-style node: lines indented deeper than its "- "
    return "\n".join(lines[line - 1 : end])


def graph_data(
    blueprint: Blueprint,
    shapes: Mapping[str, str] | None = None,
    params: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """The view's data: inputs and nodes in order, with what the details panel shows.

    Args:
        blueprint: A resolved blueprint.
        shapes: Output shape text per name (see
            :func:`keras_blueprints.views.diagram.output_shapes`), or None.
        params: Parameters per name (see
            :func:`keras_blueprints.views.built.built_view`), or None.

    Returns:
        ``{"name", "nodes": [{"name", "type", "kind", "args", "inputs", "blocks",
        "where", "yaml", "shape", "params", "share"}]}``, JSON-serializable;
        ``shape`` and ``params`` are None where unknown.
    """
    shapes = shapes or {}
    params = params or {}
    cache: dict[str, list[str]] = {}
    nodes = [
        {
            "name": spec.name,
            "type": "Input",
            "kind": "input",
            "args": {},
            "inputs": [],
            "blocks": [],
            "where": "",
            "yaml": "",
            "shape": shapes.get(spec.name),
            "params": params.get(spec.name),
            "share": None,
        }
        for spec in blueprint.inputs
    ]
    for node in blueprint.nodes:
        loc = node.location
        nodes.append(
            {
                "name": node.name,
                "type": node.type,
                "kind": node.kind,
                "args": _plain(node.args),
                "inputs": [ref.node for ref in node.inputs],
                "blocks": list(block_path(node)),
                "where": f"{loc.file}:{loc.line}:{loc.col}" if loc.line else "",
                "yaml": _yaml_lines(loc.file, loc.line, cache),
                "shape": shapes.get(node.name),
                "params": params.get(node.name),
                "share": node.share,
            }
        )
    return {"name": blueprint.name, "nodes": nodes}


_SCRIPT = r"""
(function () {
  const data = JSON.parse(document.getElementById("graph-data").textContent);
  const svgNS = "http://www.w3.org/2000/svg";
  const svg = document.getElementById("canvas");
  const world = document.getElementById("world");
  const closed = new Set();
  let scale = 1, dx = 20, dy = 20;
  const apply = () => world.setAttribute("transform", `translate(${dx},${dy}) scale(${scale})`);
  function el(tag, attrs, text) {
    const e = document.createElementNS(svgNS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function show(node) {
    document.getElementById("d-name").textContent = node.name;
    document.getElementById("d-type").textContent = node.type;
    document.getElementById("d-shape").textContent = node.shape || "not built (--no-shapes)";
    const params = node.params == null ? null : node.params.toLocaleString("en-US");
    document.getElementById("d-params").textContent = params === null
      ? (node.shape ? "unknown" : "not built (--no-shapes)")
      : params + (node.share ? " (uses the weights of " + node.share + ")" : "");
    document.getElementById("d-where").textContent = node.where;
    document.getElementById("d-yaml").textContent = node.yaml;
    document.getElementById("d-args").textContent = JSON.stringify(node.args, null, 2);
    document.getElementById("details").hidden = false;
  }
  function draw() {
    world.replaceChildren();
    let y = 0;
    const shownBlocks = new Set();
    for (const node of data.nodes) {
      const hiddenBy = node.blocks.find((b) => closed.has(b));
      const depth = node.blocks.length;
      for (let i = 0; i < node.blocks.length; i++) {
        const block = node.blocks[i];
        if (shownBlocks.has(block)) continue;
        if (node.blocks.slice(0, i).some((b) => closed.has(b))) break;
        shownBlocks.add(block);
        const g = el("g", {
          class: "block", "data-block": block, transform: `translate(${i * 20},${y})`,
        });
        g.appendChild(el("rect", {width: 260, height: 26, rx: 4}));
        const mark = closed.has(block) ? "\u25b8 " : "\u25be ";
        g.appendChild(el("text", {x: 8, y: 17}, mark + block));
        g.addEventListener("click", () => {
          closed.has(block) ? closed.delete(block) : closed.add(block);
          draw();
        });
        world.appendChild(g);
        y += 34;
      }
      if (hiddenBy) continue;
      const g = el("g", {
        class: "node " + node.kind, "data-node": node.name,
        transform: `translate(${depth * 20},${y})`,
      });
      g.appendChild(el("rect", {width: 260, height: 40, rx: 8}));
      g.appendChild(el("text", {x: 10, y: 17}, node.name));
      const sub = node.type + (node.shape ? "  " + node.shape : "");
      g.appendChild(el("text", {x: 10, y: 33, class: "sub"}, sub));
      g.addEventListener("click", () => show(node));
      world.appendChild(g);
      y += 50;
    }
    apply();
  }
  let drag = null;
  svg.addEventListener("mousedown", (e) => { drag = [e.clientX - dx, e.clientY - dy]; });
  window.addEventListener("mouseup", () => { drag = null; });
  window.addEventListener("mousemove", (e) => {
    if (drag) { dx = e.clientX - drag[0]; dy = e.clientY - drag[1]; apply(); }
  });
  svg.addEventListener("wheel", (e) => {
    e.preventDefault(); scale *= e.deltaY < 0 ? 1.1 : 1 / 1.1; apply();
  });
  document.getElementById("zoom-in").addEventListener("click", () => { scale *= 1.25; apply(); });
  document.getElementById("zoom-out").addEventListener("click", () => { scale /= 1.25; apply(); });
  for (const node of data.nodes) for (const b of node.blocks) closed.add(b);  // blocks start closed
  draw();
})();
"""

_STYLE = """
body{margin:0;font-family:sans-serif;display:flex;height:100vh}
#canvas{flex:1;background:#fafafa;cursor:grab}
#side{width:340px;padding:1em;border-left:1px solid #ccc;overflow:auto}
.node rect{fill:#fff;stroke:#333}.node.input rect{fill:#dbe8fb}.node.block rect{fill:#fdecd2}
.block rect{fill:#eee;stroke:#999;stroke-dasharray:4 2}.sub{font-size:11px;fill:#555}
g{cursor:pointer}pre{background:#f3f3f3;padding:.5em;white-space:pre-wrap}
"""


def to_html(
    blueprint: Blueprint,
    shapes: Mapping[str, str] | None = None,
    params: Mapping[str, int] | None = None,
) -> str:
    """The self-contained interactive page of a blueprint's architecture.

    Args:
        blueprint: A resolved blueprint.
        shapes: Output shape text per name, or None.
        params: Parameters per name, or None.

    Returns:
        A complete HTML page (inline CSS and script, nothing fetched).
    """
    data = json.dumps(graph_data(blueprint, shapes, params))
    data = data.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    title = json.dumps(blueprint.name)[1:-1]
    title = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{_STYLE}</style></head><body>"
        '<svg id="canvas"><g id="world"></g></svg>'
        '<div id="side"><button id="zoom-in">+</button><button id="zoom-out">-</button>'
        "<p>Drag to pan, wheel to zoom; click a block to open or close it, a node to see it.</p>"
        '<div id="details" hidden><h2 id="d-name"></h2><p id="d-type"></p>'
        '<p>Output shape: <span id="d-shape"></span></p>'
        '<p>Parameters: <span id="d-params"></span></p><p id="d-where"></p>'
        '<pre id="d-yaml"></pre><h3>Arguments</h3><pre id="d-args"></pre></div></div>'
        f'<script type="application/json" id="graph-data">{data}</script>'
        f"<script>{_SCRIPT}</script></body></html>"
    )
