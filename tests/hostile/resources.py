"""Hostile cases: a blueprint that asks for more memory or time than it may have."""

from __future__ import annotations

from . import case

_TINY = "inputs: {x: [4]}\ngraph:\n  - Dense: {units: 4}\n"
"""A valid rest of a blueprint, after whatever a case puts first."""

case(
    "deep-flow-nesting",
    "validate",
    "--no-build",
    "deep.yaml",
    files={"deep.yaml": "inputs: {x: [2]}\ngraph: " + "[" * 100_000 + "]" * 100_000 + "\n"},
    where=r"deep\.yaml:2:\d+",
    seconds=30,
)

# A search range as wide as memory: its domain used to be listed (to work out the
# conditions of what the repeat governs) before the enumeration limit was checked.
_HUGE_REPEAT = """\
inputs: {x: [4]}
params: {depth: {int: [1, 1000000000]}}
graph:
  - repeat: ${depth}
    graph:
      - Dense: {units: 4}
"""
case(
    "space-huge-repeat-range",
    "validate",
    "--no-build",
    "bp.yaml",
    files={"bp.yaml": _HUGE_REPEAT},
    exit=0,
    seconds=20,
)
case(
    "space-huge-repeat-range-table",
    "space",
    "bp.yaml",
    files={"bp.yaml": _HUGE_REPEAT},
    exit=0,
    seconds=20,
)

# Diamonds of extends and imports: six files of a few bytes name the file below them
# ten times each, 10**5 paths to the bottom. Each file used to be read and composed
# once per path (minutes); now once per load.
_DIAMOND = {"f0.yaml": "inputs: {x: [4]}\nblocks:\n  b0:\n    graph: [Dense: {units: 2}]\n"}
for _i in range(1, 6):
    _below = ", ".join([f"f{_i - 1}.yaml"] * 10)
    _DIAMOND[f"f{_i}.yaml"] = f"extends: [{_below}]\nimports: [{_below}]\n"
_DIAMOND["bp.yaml"] = "extends: f5.yaml\ngraph:\n  - b0: {}\n  - Dnese: {units: 2}\n"
case(
    "extends-imports-diamond",
    "validate",
    "--no-build",
    "bp.yaml",
    files=_DIAMOND,
    where=r"bp\.yaml:4:\d+",
    seconds=20,
)

# A '<<' merge of 60k keys: each merged key used to copy its locations by scanning the
# whole source map (N**2), and every parameter's dependencies were intersected with a
# fresh set of all parameters.
_MERGE_KEYS = "".join(f"  k{i}: {i}\n" for i in range(60_000))
case(
    "merge-key-60k",
    "validate",
    "--no-build",
    "bp.yaml",
    files={"bp.yaml": f"base: &b\n{_MERGE_KEYS}params:\n  <<: *b\n" + _TINY},
    where=r"bp\.yaml:1:1",
    seconds=30,
)

# A 'set:' of 25k dotted keys over 25k parameters: each one dropped and grafted
# locations by scanning the whole source map.
_PARAMS = "".join(f"  p{i}: {i}\n" for i in range(25_000))
_SETS = "".join(f"  params.p{i}: {i + 1}\n" for i in range(25_000))
case(
    "set-25k-keys",
    "validate",
    "--no-build",
    "bp.yaml",
    files={"bp.yaml": f"params:\n{_PARAMS}{_TINY}set:\n{_SETS}  params.nope: 1\n"},
    where=r"bp\.yaml:50006:3",
    seconds=30,
)

# The largest graph allowed (MAX_NODES): automatic names used to be found by probing
# dense_1, dense_2, ... from the start for every node, and the build order intersected
# each node's inputs with a fresh set of every node (both N**2: minutes).
case(
    "repeat-99990-nodes",
    "validate",
    "--no-build",
    "bp.yaml",
    files={
        "bp.yaml": "inputs: {x: [4]}\ngraph:\n  - repeat: 9999\n    graph:\n"
        "      - repeat: 10\n        graph:\n          - Dense: {units: 4}\n"
        "outputs: nowhere\n"
    },
    where=r"bp\.yaml:8:\d+",
    seconds=40,
)

# 148 bytes of nested lists: each level's outer list is short, but the value holds
# 10**12 elements that later steps (freezing, copying, comparing) walked for hours.
case(
    "expression-nested-lists",
    "validate",
    "--no-build",
    "bp.yaml",
    files={
        "bp.yaml": 'params:\n  a: "${[1]*10000}"\n  b: "${[a]*10000}"\n  c: "${[b]*10000}"\n'
        + _TINY
    },
    where=r"bp\.yaml:3:\d+",
    seconds=20,
)

# The parameter budget (--max-params, default 1e9), counted at load from the resolved
# graph: each of these used to allocate its weights (12.8 GB for the first) or fail
# with exit 70 and no location.
for _id, _input, _layer, _col in (
    ("params-dense-50m-after-64", "[64]", "Dense: {units: 50000000}", 20),
    ("params-dense-1e12", "[4]", "Dense: {units: 1000000000000}", 20),
    ("params-embedding-1e10", "[8]", "Embedding: {input_dim: 10000000000, output_dim: 4}", 28),
    ("params-conv2d-1e9-filters", "[8, 8, 1]", "Conv2D: {filters: 1000000000, kernel_size: 3}", 23),
):
    case(
        _id,
        "validate",
        "--no-build",
        "bp.yaml",
        files={"bp.yaml": f"inputs: {{x: {_input}}}\ngraph:\n  - {_layer}\n"},
        where=rf"bp\.yaml:3:{_col}",
        seconds=20,
    )

# The builder checks again with the real shapes, before Keras allocates: the block's
# output is unknown at load, the Dense after it would allocate 12.8 GB.
case(
    "params-after-a-block-at-build",
    "validate",
    "bp.yaml",
    files={
        "bp.yaml": "inputs: {x: [64]}\ngraph:\n  - dense_stack: {units: 64}\n"
        "  - Dense: {units: 50000000}\n"
    },
    where=r"bp\.yaml:4:20",
    tensorflow=True,
    memory_mb=3000,
    seconds=120,
)

# A Python block (or a wrapper such as Bidirectional) has no formula: its layers are
# created in a stateless scope, counted, and given memory only within the budget.
case(
    "params-inside-a-block-at-build",
    "validate",
    "bp.yaml",
    files={"bp.yaml": "inputs: {x: [64]}\ngraph:\n  - dense_stack: {units: 50000000}\n"},
    where=r"bp\.yaml:3:\d+",
    tensorflow=True,
    memory_mb=3000,
    seconds=120,
)

# Data held at once (--max-data, default 1e9 elements): generated data sets, one
# example, the shuffle buffer (1e12 made TensorFlow crash with a segfault and left
# the run marked running), all refused at load.
_DATA_GRAPH = "graph:\n  - Flatten\n  - Dense: {units: 2}\n"
for _id, _input, _data, _line in (
    ("data-spirals-1e10", "[2]", "{source: {spirals: {points_per_class: 10000000000}}}", 5),
    ("data-shapes-1e9", "[32, 32, 1]", "{source: {shapes: {count: 1000000000}}}", 5),
    ("data-digits-50000x50000", "[50000, 50000]", "digits", 1),
    ("data-shuffle-1e12", "[64]", "{source: digits, shuffle: 1000000000000}", 5),
):
    case(
        _id,
        "validate",
        "--no-build",
        "bp.yaml",
        files={"bp.yaml": f"inputs: {{x: {_input}}}\n{_DATA_GRAPH}data: {_data}\n"},
        where=rf"bp\.yaml:{_line}:\d+",
        seconds=20,
    )
case(
    "data-shuffle-1e12-train",
    "train",
    "bp.yaml",
    files={
        "bp.yaml": f"inputs: {{x: [64]}}\n{_DATA_GRAPH}"
        "data: {source: digits, shuffle: 1000000000000}\n"
    },
    where=r"bp\.yaml:5:\d+",
    tensorflow=True,
    memory_mb=3000,
    seconds=120,
)

# One value is bounded (MAX_SIZE), but 1 MB holds 40,000 expressions that each build
# that much: 3 GB and a MemoryError (exit 70) before the total was bounded too.
case(
    "expressions-total-40k",
    "validate",
    "--no-build",
    "bp.yaml",
    files={
        "bp.yaml": "params:\n"
        + "".join(f'  p{i}: "${{[0]*10000}}"\n' for i in range(40_000))
        + _TINY
    },
    where=r"bp\.yaml:1001:\d+",
    seconds=20,
)

# 'blueprint space' re-resolves the blueprint with each value of each hyperparameter to
# find hidden spaces: 200 spaces of 64 values made 12,800 loads (minutes); now at most
# MAX_LOADS, and the table says the exploration stopped.
case(
    "space-exploration-200x64",
    "space",
    "bp.yaml",
    files={
        "bp.yaml": "params:\n" + "".join(f"  p{i}: {{int: [1, 64]}}\n" for i in range(200)) + _TINY
    },
    exit=0,
    seconds=20,
)
