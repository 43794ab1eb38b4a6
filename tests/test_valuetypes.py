"""Annotated parameter types (loading/valuetypes.py): read from a signature, checked at load."""

from __future__ import annotations

import typing
from typing import Literal

import pytest
from refused import NOT_A_CHOICE, OUT_OF_RANGE, assert_refused_at_load

import keras_blueprints as kb
from keras_blueprints.catalog.components import BLOCKS, typed_params
from keras_blueprints.loading.valuetypes import (
    Bound,
    Fraction,
    NonNegative,
    NonNegativeInt,
    Positive,
    PositiveInt,
    Rate,
    bound_of_annotation,
    choices_of_annotation,
    type_of_annotation,
)


@pytest.mark.parametrize(
    ("annotation", "inside", "outside"),
    [
        (PositiveInt, [1, 7], [0, -3]),
        (NonNegativeInt, [0, 4], [-1]),
        (Positive, [0.01, 3], [0, -0.5]),
        (NonNegative, [0, 0.5], [-1e-9]),
        (Rate, [0, 0.99], [1, 1.5, -0.1]),
        (Fraction, [1, 0.01], [0, 1.01]),
    ],
)
def test_bounds_accept_their_range_only(annotation, inside, outside):
    bound = bound_of_annotation(annotation)
    assert isinstance(bound, Bound)
    assert [bound.accepts(v) for v in inside] == [True] * len(inside)
    assert [bound.accepts(v) for v in outside] == [False] * len(outside)


def test_a_bound_leaves_other_kinds_of_values_to_the_type():
    bound = bound_of_annotation(PositiveInt | list)
    assert bound is not None
    assert bound.accepts([0, -1]) and bound.accepts(None) and bound.accepts("x")
    assert bound.accepts(True)  # a bool is refused by the type, not the bound


def test_annotated_types_read_through_unions():
    assert type_of_annotation(PositiveInt).names == ("int",)
    assert type_of_annotation(PositiveInt | None).names == ("int", "null")
    assert type_of_annotation(Rate).names == ("float",)
    assert bound_of_annotation(PositiveInt | None) == bound_of_annotation(PositiveInt)
    assert bound_of_annotation(int | None) is None
    assert choices_of_annotation(typing.Annotated[Literal["a", "b"], "doc"]) == ("a", "b")


def test_bounds_give_json_schema_keywords():
    assert bound_of_annotation(PositiveInt).schema() == {"exclusiveMinimum": 0}
    assert bound_of_annotation(Rate).schema() == {"minimum": 0, "exclusiveMaximum": 1}
    assert bound_of_annotation(Fraction).schema() == {"exclusiveMinimum": 0, "maximum": 1}


def _scaled(x, *, name: str, width: PositiveInt, drop: Rate = 0.0, mode: Literal["a", "b"] = "a"):
    return x


def test_typed_params_carry_bounds_and_choices():
    params = typed_params(_scaled, skip=("x", "name"))
    assert params["width"].bound == bound_of_annotation(PositiveInt)
    assert params["width"].range_words == "a positive integer"
    assert params["drop"].bound.words == "a number in [0, 1)"
    assert params["mode"].choices == ("a", "b") and params["mode"].bound is None


def test_a_user_block_is_checked_at_load_and_when_called():
    def va_test_scaled(x, *, name: str, width: PositiveInt, mode: Literal["a", "b"] = "a"):
        """A test block with a bounded and a restricted parameter."""
        return x

    checked = kb.register_block(va_test_scaled)
    assert checked is not va_test_scaled and checked.__wrapped__ is va_test_scaled
    assert BLOCKS.get("va_test_scaled").fn is checked
    text = "inputs: {x: [4]}\ngraph:\n  - va_test_scaled: {width: 0}\n"
    assert_refused_at_load(text, "width", "a positive integer", 0, OUT_OF_RANGE)
    text = "inputs: {x: [4]}\ngraph:\n  - va_test_scaled: {width: 2, mode: c}\n"
    assert_refused_at_load(text, "mode", "one of: a, b", "c", NOT_A_CHOICE)
    with pytest.raises(ValueError, match=r"^Expected a positive integer for 'width'\. "):
        checked(None, name="s", width=-1)
    assert checked("in", name="s", width=3, mode="b") == "in"


def test_a_block_without_bounds_is_registered_unchanged():
    def va_test_plain(x, *, name: str, width: int = 2):
        """A test block without bounds."""
        return x

    assert kb.register_block(va_test_plain) is va_test_plain
