"""Blueprint node names to the Keras layers the builder made for them."""

from __future__ import annotations

from typing import Any

from keras_blueprints._core.errors import UsageError, did_you_mean

__all__ = ["conv_layers", "pick_layers"]


def conv_layers(model: Any) -> list[str]:
    """The names of the model's layers with a spatial (h, w, c) output."""
    return [
        layer.name
        for layer in model.layers
        if type(layer).__name__ != "InputLayer" and len(getattr(layer.output, "shape", ())) == 4
    ]


def pick_layers(model: Any, names: list[str] | None, valid: list[str]) -> list[str]:
    """The Keras layer names for blueprint node ``names`` (default: the last of ``valid``).

    The builder names each layer for its node, and a block's inner layers
    ``NODE/...`` or ``NODE_...``: a node name picks its own layer, else its last inner one.

    Raises:
        UsageError: A name that is no layer of ``valid``, with the closest valid one.
    """
    if not names:
        return valid[-1:]
    picked = []
    for name in names:
        inner = [v for v in valid if v.startswith((f"{name}/", f"{name}_"))]
        if name in valid:
            picked.append(name)
        elif inner:
            picked.append(inner[-1])
        else:
            raise UsageError(
                f"no layer '{name}' to inspect",
                "--layer",
                expected="one of " + ", ".join(valid),
                received=name,
                hint=did_you_mean(name, valid) or None,
            )
    return picked
