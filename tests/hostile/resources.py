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
