"""Checks that a block argument is refused at load time, at the value, without TensorFlow."""

from __future__ import annotations

import re
import textwrap

import pytest

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError

OUT_OF_RANGE = "is out of range"
NOT_A_CHOICE = "is not one of its choices"


def assert_refused_at_load(
    text: str, key: str, expected: str, received: object, why: str = OUT_OF_RANGE
) -> BlueprintError:
    """Loads ``text`` (dedented) and checks the error: at ``key``'s value, with its fields.

    Args:
        text: A blueprint whose last ``key: value`` is the bad one.
        key: The block parameter.
        expected: The error's ``expected`` (``a positive integer``, ``one of: a, b``).
        received: The error's ``received``.
        why: How the message ends (:data:`OUT_OF_RANGE` or :data:`NOT_A_CHOICE`).

    Returns:
        The error.
    """
    text = textwrap.dedent(text)
    with pytest.raises(BlueprintError) as info:
        kb.load(text)
    err = info.value
    lines = text.splitlines()
    pattern = re.compile(rf"\b{re.escape(key)}: ")
    line = next(n for n in range(len(lines), 0, -1) if pattern.search(lines[n - 1]))
    col = pattern.search(lines[line - 1]).end() + 1
    assert (err.location.line, err.location.col) == (line, col)
    assert err.message.startswith(f"parameter '{key}' of block ")
    assert err.message.endswith(why)
    assert err.expected == expected
    assert err.received == received and type(err.received) is type(received)
    return err
