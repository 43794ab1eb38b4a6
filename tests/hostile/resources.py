"""Hostile cases: a blueprint that asks for more memory or time than it may have."""

from __future__ import annotations

from . import case

case(
    "deep-flow-nesting",
    "validate",
    "--no-build",
    "deep.yaml",
    files={"deep.yaml": "inputs: {x: [2]}\ngraph: " + "[" * 100_000 + "]" * 100_000 + "\n"},
    where=r"deep\.yaml:2:\d+",
    seconds=30,
)
