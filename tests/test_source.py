"""The YAML loader: every refusal is located at the exact line and column.

Positions are 1-based, as editors show them. Each snippet is written with
``textwrap.dedent`` so the line and column asserted can be counted in the test.
"""

from __future__ import annotations

import codecs
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError, Location
from keras_blueprints.loading import source
from keras_blueprints.loading.source import decode, parse, parse_value, read_source

SYNTAX_HINT_TABS = "Indent with spaces, not tabs."
TAG_EXPECTED = "plain YAML values (mappings, lists, strings, numbers, booleans, null) or '!replace'"
TAG_HINT = (
    "Blueprints never construct Python objects; register custom components from Python code"
    " instead."
)


def text(snippet: str) -> str:
    return textwrap.dedent(snippet).lstrip("\n")


def refused(snippet: str, file: str = "<string>") -> BlueprintError:
    with pytest.raises(BlueprintError) as info:
        parse(text(snippet), file)
    return info.value


def where(err: BlueprintError) -> tuple[int, int]:
    return err.location.line, err.location.col


# -- YAML syntax -----------------------------------------------------------------------


def test_unclosed_flow_sequence_points_at_the_end_and_names_where_it_opened():
    err = refused(
        """
        inputs: {x: [4]}
        graph: [Dense, Dense
        """
    )
    assert err.location == Location("<string>", 3, 1)
    assert err.message == "YAML syntax error: did not find expected ',' or ']'"
    assert err.context == "while parsing a flow sequence at line 2, column 8"
    assert err.hint is None
    assert str(err).splitlines()[0] == (
        "<string>:3:1: error: YAML syntax error: did not find expected ',' or ']'"
        " (while parsing a flow sequence at line 2, column 8)."
    )


def test_unclosed_flow_mapping_points_at_the_next_key():
    err = refused(
        """
        params: {width: 3
        graph: []
        """
    )
    assert where(err) == (2, 6)
    assert err.message == "YAML syntax error: did not find expected ',' or '}'"
    assert err.context == "while parsing a flow mapping at line 1, column 9"


def test_dedented_key_is_a_syntax_error_at_the_key():
    err = refused(
        """
        params:
          width: 3
         depth: 2
        """
    )
    assert where(err) == (3, 2)
    assert err.message == "YAML syntax error: did not find expected key"
    assert err.context == "while parsing a block mapping at line 1, column 1"


def test_over_indented_key_hints_at_quoting_or_indentation():
    err = refused(
        """
        params:
          width: 3
            depth: 2
        """
    )
    assert where(err) == (3, 10)
    assert err.message == "YAML syntax error: mapping values are not allowed in this context"
    assert err.hint == "Quote values that contain ': ' or check the indentation."


def test_tab_indentation_is_refused_with_the_tab_hint():
    err = refused("params:\n\twidth: 3\n")
    assert where(err) == (2, 1)
    assert err.message == "YAML syntax error: found character that cannot start any token"
    assert err.hint == SYNTAX_HINT_TABS


def test_tab_after_a_space_indented_line_gets_the_tab_hint_too():
    err = refused("params:\n  width: 3\n\tdepth: 2\n")
    assert where(err) == (3, 1)
    assert err.message == "YAML syntax error: found a tab character that violates indentation"
    assert err.hint == SYNTAX_HINT_TABS


def test_several_documents_are_refused_at_the_second():
    err = refused("name: a\n---\nname: b\n")
    assert where(err) == (2, 1)
    assert err.message == "YAML syntax error: but found another document"


def test_undefined_alias_is_a_syntax_error_at_the_alias():
    err = refused("params: {width: *nope}\n")
    assert where(err) == (1, 17)
    assert err.message == "YAML syntax error: found undefined alias"


@pytest.mark.parametrize(
    ("content", "line", "col"),
    [("inputs: {x: [4]}\ngraph: [Dense", 2, 14), ('name: "unterminated', 1, 20)],
)
def test_error_at_the_end_of_a_text_without_a_final_newline_stays_inside_it(content, line, col):
    # libyaml counts a line break the text does not have: 3:1 and 2:1 would be past the end.
    with pytest.raises(BlueprintError) as info:
        parse(content)
    assert where(info.value) == (line, col)


def test_control_character_is_located_by_character_not_byte():
    # 'é' is two bytes in UTF-8; libyaml reports a byte offset, we report a column.
    err = refused("params:\n  name: é\x07b\n")
    assert err.location == Location("<string>", 2, 10)
    assert err.message == "YAML error: control characters are not allowed (character #x0007)"


def test_syntax_error_in_a_file_names_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("inputs: {x: [4]\n")
    with pytest.raises(BlueprintError) as info:
        kb.load(path)
    assert info.value.location == Location(str(path), 2, 1)


# -- duplicate keys ----------------------------------------------------------------------


def test_duplicate_top_level_key_is_located_at_the_second_one():
    err = refused(
        """
        name: first
        params: {width: 3}
        name: second
        """
    )
    assert err.location == Location("<string>", 3, 1)
    assert err.message == "duplicate key 'name'"
    assert err.path == ("name",)
    assert err.hint == "It was first given at line 1; YAML would silently keep only the last one."


def test_duplicate_nested_key_is_located_at_the_second_one():
    err = refused(
        """
        graph:
          - name: conv
            Conv2D:
              filters: 8
              kernel_size: 3
              filters: 16
        """
    )
    assert err.location == Location("<string>", 6, 7)
    assert err.message == "duplicate key 'filters'"
    assert err.path == ("graph", 0, "Conv2D", "filters")
    assert err.hint == "It was first given at line 4; YAML would silently keep only the last one."


def test_duplicate_key_in_a_flow_mapping():
    err = refused("params: {width: 3, depth: 2, width: 4}\n")
    assert where(err) == (1, 30)
    assert err.path == ("params", "width")


# -- tags --------------------------------------------------------------------------------


def test_python_object_apply_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    payload = (
        "params:\n"
        f'  width: !!python/object/apply:builtins.exec ["import pathlib;'
        f" pathlib.Path(r'{marker}').write_text('x')\"]\n"
    )
    # The payload is live: an unsafe loader runs it.
    yaml.unsafe_load(payload)
    assert marker.read_text() == "x"
    marker.unlink()

    with pytest.raises(BlueprintError) as info:
        parse(payload)
    assert not marker.exists()
    err = info.value
    assert err.location == Location("<string>", 2, 10)
    assert err.message == "the YAML tag '!!python/object/apply:builtins.exec' is not allowed"
    assert err.expected == TAG_EXPECTED
    assert err.hint == TAG_HINT

    with pytest.raises(BlueprintError):
        kb.load(payload)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("snippet", "line", "col", "shown"),
    [
        ("a: !!python/object:os.system {}\n", 1, 4, "!!python/object:os.system"),
        ("a: !!python/object/new:os.system [ls]\n", 1, 4, "!!python/object/new:os.system"),
        ("params:\n  f: !!python/name:os.system\n", 2, 6, "!!python/name:os.system"),
        ("params:\n  w: !!binary aGVsbG8=\n", 2, 6, "!!binary"),
        ("graph:\n  - !foo bar\n", 2, 5, "!foo"),
        ("graph:\n  - !foo {units: 3}\n", 2, 5, "!foo"),
        ("params:\n  l: !!set {a, b}\n", 2, 6, "!!set"),
        ("params:\n  l: !!omap [a: 1]\n", 2, 6, "!!omap"),
        ("params:\n  !foo key: 1\n", 2, 3, "!foo"),
    ],
)
def test_unknown_and_python_tags_are_refused(snippet, line, col, shown):
    with pytest.raises(BlueprintError) as info:
        parse(snippet)
    assert where(info.value) == (line, col)
    assert info.value.message == f"the YAML tag '{shown}' is not allowed"


@pytest.mark.parametrize(
    ("snippet", "col"),
    [
        ("a: !!bool maybe\n", 4),
        ('a: !!int ""\n', 4),
        ('a: !!float ""\n', 4),
        ('a: !!bool ""\n', 4),
        ("a: !!int twelve\n", 4),
        ("a: !!float x1.5\n", 4),
    ],
)
def test_scalars_with_a_wrong_explicit_type_are_invalid(snippet, col):
    with pytest.raises(BlueprintError) as info:
        parse(snippet)
    assert where(info.value) == (1, col)
    assert info.value.message == "invalid scalar"


def test_explicit_standard_tags_are_plain_values():
    doc = parse("a: !!int '12'\nb: !!float 1\nc: !!str 3\nd: !!bool yes\ne: !!null ''\n")
    assert doc.data == {"a": 12, "b": 1.0, "c": "3", "d": True, "e": None}


def test_dates_stay_text():
    assert parse("a: 2024-01-31\n").data == {"a": "2024-01-31"}


def test_base_60_integer_too_long_is_refused():
    # YAML 1.1 reads 1:1:1... as a base-60 integer: slow to build and too long to print.
    err = refused("a: " + ":".join(["1"] * 600) + "\n")
    assert where(err) == (1, 4)
    assert err.message == "invalid scalar: number too long"
    assert err.expected == f"at most {source.MAX_INT_CHARS} characters"


def test_base_60_integer_of_ordinary_size_is_still_an_integer():
    assert parse("a: 1:30\n").data == {"a": 90}


def test_replace_tag_on_a_scalar_is_refused():
    err = refused(
        """
        params:
          width: !replace 32
        """
    )
    assert err.location == Location("<string>", 2, 10)
    assert err.message == "'!replace' applies to a mapping or a list"
    assert err.received == "a scalar"
    assert err.hint == "Scalars always replace the inherited value; drop the tag."


def test_replace_tag_marks_mappings_and_lists():
    doc = parse(
        text(
            """
            params: !replace {width: 3}
            graph: !replace [Flatten]
            compile: {loss: mse}
            """
        )
    )
    assert doc.data == {"params": {"width": 3}, "graph": ["Flatten"], "compile": {"loss": "mse"}}
    assert doc.sources.replace == {("params",), ("graph",)}


# -- aliases -----------------------------------------------------------------------------


def billion_laughs() -> str:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_stops_at_max_nodes():
    # 9**9 strings if expanded; the walker counts values and stops at MAX_NODES.
    # Counting: 74,733 values before 'f'; the 200,001st is the 9th 'lol' of 'a'.
    err = refused(billion_laughs())
    assert err.message == "the YAML expands to too many values (an alias bomb?)"
    assert err.expected == f"at most {source.MAX_NODES} values after expanding aliases"
    assert source.MAX_NODES == 200_000
    assert err.location == Location("<string>", 1, 48)


def test_max_nodes_is_the_limit_that_refuses(monkeypatch):
    snippet = "a: &a [x, x, x]\nb: [*a, *a]\n"  # 1 + 4 + (1 + 2 * 4) = 14 values
    monkeypatch.setattr(source, "MAX_NODES", 14)
    assert parse(snippet).data == {"a": ["x", "x", "x"], "b": [["x", "x", "x"], ["x", "x", "x"]]}
    monkeypatch.setattr(source, "MAX_NODES", 13)
    with pytest.raises(BlueprintError) as info:
        parse(snippet)
    assert info.value.expected == "at most 13 values after expanding aliases"
    assert info.value.location == Location("<string>", 1, 14)  # the last 'x', seen via *a


@pytest.mark.parametrize(
    ("snippet", "line", "col"),
    [
        ("a: &x [*x]\n", 1, 4),
        ("params:\n  p: &m {self: *m}\n", 2, 6),
        ("params:\n  p: &m\n    <<: *m\n", 2, 6),  # the anchored mapping
    ],
)
def test_recursive_alias_is_refused(snippet, line, col):
    with pytest.raises(BlueprintError) as info:
        parse(snippet)
    assert info.value.message == "recursive YAML alias"
    assert where(info.value) == (line, col)


def test_aliases_copy_values_and_keep_the_anchor_location():
    doc = parse("params:\n  a: &w 32\n  b: *w\n")
    assert doc.data == {"params": {"a": 32, "b": 32}}
    assert doc.sources.value(("params", "b")) == Location("<string>", 2, 6)
    assert doc.sources.key(("params", "b")) == Location("<string>", 3, 3)


def test_deep_nesting_is_refused_at_the_first_level_too_deep():
    err = refused("a: " + "[" * 300 + "]" * 300 + "\n")
    # The top mapping is level 0 and the first '[' (column 4) level 1: level 201 is column 204.
    assert err.location == Location("<string>", 1, 204)
    assert err.message == "the YAML is nested too deeply"
    assert err.expected == f"at most {source.MAX_DEPTH} levels"


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 500_000 + "]" * 500_000,  # flow: libyaml's scanner reads far ahead
        "a:\n" + "".join(" " * i + "- \n" for i in range(1, 1500)),  # block: indentation
    ],
    ids=["flow", "block"],
)
def test_very_deep_nesting_neither_crashes_nor_hangs(text):
    # libyaml's composer segfaults at a few 10,000 levels and its scanner is quadratic
    # in the depth of flow collections: run it in a child so a crash fails one test.
    # Which check stops it first (ours at MAX_DEPTH, or PyYAML's own nesting limit
    # since 6.0.4) is PyYAML's business: the behaviour is a located BlueprintError.
    code = (
        "import sys\n"
        "from keras_blueprints.loading.source import parse\n"
        "from keras_blueprints._core.errors import BlueprintError\n"
        "try:\n"
        "    parse(sys.stdin.read())\n"
        "except BlueprintError as err:\n"
        "    print(err.location.line, err.location.col)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    line, column = (int(n) for n in done.stdout.split())
    assert line >= 1 and column >= 1  # located


def test_very_deep_nesting_is_exit_2_from_the_command_line(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("inputs: {x: [2]}\ngraph: " + "[" * 100_000 + "]" * 100_000 + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "keras_blueprints.cli", "validate", "--no-build", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    assert f"{path}:2:" in done.stdout + done.stderr


# -- encoding and file errors -------------------------------------------------------------


def test_non_utf8_byte_is_located_by_character(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: ok\ndescription: Réseau ".encode() + b"\xe9tendu\n")  # Latin-1 é
    with pytest.raises(BlueprintError) as info:
        read_source(path)
    err = info.value
    # Line 2 is 'description: Réseau ' (20 characters, 21 bytes) then the bad byte.
    assert err.location == Location(str(path), 2, 21)
    assert err.message == "the file is not valid UTF-8"
    assert err.received == "byte 0xe9"
    assert err.hint == "Save the blueprint as UTF-8."


def test_non_utf8_after_a_bom_is_located_without_the_bom():
    with pytest.raises(BlueprintError) as info:
        decode(codecs.BOM_UTF8 + b"name: a\nb: \xff\n", "f.yaml")
    assert info.value.location == Location("f.yaml", 2, 4)
    assert info.value.received == "byte 0xff"


def test_utf8_bom_is_accepted_and_does_not_shift_columns(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(codecs.BOM_UTF8 + b"name: bom\nparams: {width: 3}\n")
    content, display = read_source(path)
    assert (content, display) == ("name: bom\nparams: {width: 3}\n", str(path))
    doc = parse(content, display)
    assert doc.data == {"name": "bom", "params": {"width": 3}}
    assert doc.sources.key(("name",)) == Location(str(path), 1, 1)
    assert doc.sources.value(("params", "width")) == Location(str(path), 2, 17)


@pytest.mark.parametrize(
    "content", ["", "\n\n", "   \n", "# only a comment\n", "---\n", "--- # nothing\n...\n"]
)
def test_empty_blueprint_is_refused(content):
    with pytest.raises(BlueprintError) as info:
        parse(content, "empty.yaml")
    assert info.value.location == Location("empty.yaml", 1, 1)
    assert info.value.message == "the blueprint is empty"
    assert info.value.expected == "a mapping with at least 'inputs' and 'graph'"


@pytest.mark.parametrize(
    ("content", "line", "col", "kind"),
    [
        ("- Dense\n- Flatten\n", 1, 1, "a list"),
        ("# header\n\n  just text\n", 3, 3, "a string"),
        ("42\n", 1, 1, "a number"),
        ("1.5\n", 1, 1, "a number"),
        ("~\n", 1, 1, "a null"),
        ("true\n", 1, 1, "a boolean"),
    ],
)
def test_top_level_must_be_a_mapping(content, line, col, kind):
    with pytest.raises(BlueprintError) as info:
        parse(content)
    err = info.value
    assert where(err) == (line, col)
    assert err.message == "the top level of a blueprint must be a mapping"
    assert err.received == kind
    assert str(err).endswith(f"Received: {kind}.")


@pytest.mark.parametrize(
    ("snippet", "line", "col", "received", "hint"),
    [
        (
            "on: push\n",
            1, 1, True,
            "Quote the key: 'on'. YAML 1.1 reads yes/no/on/off as booleans.",
        ),
        (
            "graph:\n  - Dense:\n      units: 3\n      no: 1\n",
            4, 7, False,
            "Quote the key: 'no'. YAML 1.1 reads yes/no/on/off as booleans.",
        ),
        ("params:\n  1: a\n", 2, 3, 1, "Quote the key: '1'."),
        ("params:\n  ~: a\n", 2, 3, None, "Quote the key: '~'."),
    ],
)  # fmt: skip
def test_mapping_keys_must_be_strings(snippet, line, col, received, hint):
    with pytest.raises(BlueprintError) as info:
        parse(snippet)
    err = info.value
    assert where(err) == (line, col)
    assert err.message == "mapping keys must be strings"
    assert err.received is received if isinstance(received, bool) else err.received == received
    assert err.hint == hint


def test_quoted_boolean_word_is_a_string_key():
    assert parse("'on': push\n\"yes\": 1\n").data == {"on": "push", "yes": 1}


@pytest.mark.parametrize(
    ("snippet", "col", "kind"), [("? [a]\n: 1\n", 3, "a list"), ("? {a: 1}\n: 1\n", 3, "a mapping")]
)
def test_collection_keys_are_refused(snippet, col, kind):
    with pytest.raises(BlueprintError) as info:
        parse(snippet)
    assert where(info.value) == (1, col)
    assert info.value.message == "mapping keys must be plain names"
    assert info.value.received == kind


def test_file_too_large_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.yaml"
    path.write_text("name: big\n" + "# padding\n" * 20)  # 210 bytes
    monkeypatch.setattr(source, "MAX_BYTES", 100)
    with pytest.raises(BlueprintError) as info:
        read_source(path)
    err = info.value
    assert err.location == Location(str(path))
    assert err.message == "file too large for a blueprint"
    assert err.expected == "at most 100 bytes"
    assert err.received == "210 bytes"
    assert str(err) == (
        f"{path}: error: file too large for a blueprint.\n"
        "  Expected at most 100 bytes. Received: 210 bytes."
    )


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_endless_device_is_refused_before_reading():
    # Devices and pipes report a size of 0 and may never end: only regular files are read,
    # and the refusal points at the 'extends' value that named the device.
    with pytest.raises(BlueprintError) as info:
        kb.load("name: x\nextends: /dev/zero\n")
    err = info.value
    assert (err.location.file, err.location.line, err.location.col) == ("<string>", 2, 10)
    assert "not a regular file" in err.message


def test_endless_read_stops_at_the_limit(tmp_path, monkeypatch):
    # A regular file that grows past its stat() size is still read only up to the limit.
    path = tmp_path / "big.yaml"
    path.write_text("name: big\n" + "# padding\n" * 20)
    from keras_blueprints._core import paths

    real_fstat = paths.os.fstat

    def small_fstat(fd):
        st = real_fstat(fd)
        return os.stat_result((st.st_mode, *st[1:6], 0, *st[7:]))

    monkeypatch.setattr(paths.os, "fstat", small_fstat)
    monkeypatch.setattr(source, "MAX_BYTES", 100)
    with pytest.raises(BlueprintError) as info:
        read_source(path)
    assert info.value.message == "file too large for a blueprint"
    assert info.value.received == "more than 100 bytes"


def test_text_too_large_is_refused(monkeypatch):
    monkeypatch.setattr(source, "MAX_BYTES", 10)
    with pytest.raises(BlueprintError) as info:
        parse("name: twelve\n")
    assert info.value.message == "text too large for a blueprint"
    assert info.value.received == "13 characters"


def test_directory_is_refused(tmp_path):
    with pytest.raises(BlueprintError) as info:
        read_source(tmp_path)
    assert info.value.location == Location(str(tmp_path))
    assert info.value.message == "is a directory, not a blueprint file"


def test_missing_file_is_refused_with_a_hint(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(BlueprintError) as info:
        kb.load(missing)
    assert info.value.location == Location(str(missing))
    assert info.value.message == "file not found"
    assert info.value.hint == "Check the path, or use zoo:NAME for a zoo blueprint."


@pytest.mark.parametrize("name", ["a\x00b.yaml", "x" * 5000])
def test_impossible_file_names_are_blueprint_errors(name):
    with pytest.raises(BlueprintError) as info:
        read_source(name)
    assert info.value.location == Location(name)


# -- merge keys --------------------------------------------------------------------------


def test_merge_keys_explicit_keys_win_and_earlier_merges_win():
    doc = parse(
        text(
            """
            one: &one {x: 1, y: 1}
            two: &two {x: 2, y: 2, z: 2}
            child:
              <<: [*one, *two]
              y: 3
            """
        )
    )
    assert doc.data["child"] == {"y": 3, "x": 1, "z": 2}
    assert list(doc.data["child"]) == ["y", "x", "z"]
    # Merged values keep the location of the anchored mapping they came from.
    assert doc.sources.value(("child", "x")) == Location("<string>", 1, 15)
    assert doc.sources.value(("child", "z")) == Location("<string>", 2, 27)
    assert doc.sources.key(("child", "z")) == Location("<string>", 2, 24)
    assert doc.sources.value(("child", "y")) == Location("<string>", 5, 6)


def test_merge_key_with_a_single_mapping():
    doc = parse("base: &b {units: 8, activation: relu}\nlayer: {<<: *b, units: 16}\n")
    assert doc.data["layer"] == {"units": 16, "activation": "relu"}


@pytest.mark.parametrize(
    ("snippet", "line", "col"),
    [
        ("b:\n  <<: 3\n", 2, 7),
        ("a: &a [1]\nb:\n  <<: *a\n", 1, 8),
        ("b:\n  <<: [{x: 1}, 2]\n", 2, 16),
    ],
)
def test_merge_key_takes_mappings_only(snippet, line, col):
    with pytest.raises(BlueprintError) as info:
        parse(snippet)
    assert info.value.message == "a merge key '<<' takes a mapping or a list of mappings"
    assert where(info.value) == (line, col)


def test_duplicate_key_inside_a_merged_mapping_is_refused():
    err = refused("base: &b {x: 1, x: 2}\nc: {<<: *b}\n")
    assert err.message == "duplicate key 'x'"
    assert where(err) == (1, 17)


# -- locations ---------------------------------------------------------------------------


NESTED = """\
name: nested
graph:
  - name: stem
    Conv2D:
      filters: 32
      kernel_size: [3, 3]
  - repeat: 2
    graph:
      - Dense: {units: 64, activation: "relu"}
"""


def test_value_and_key_locations_of_nested_values():
    doc = parse(NESTED, "nested.yaml")
    src = doc.sources

    def at(line, col):
        return Location("nested.yaml", line, col)

    assert src.value(("graph", 0, "Conv2D", "filters")) == at(5, 16)
    assert src.key(("graph", 0, "Conv2D", "filters")) == at(5, 7)
    assert src.value(("graph", 0, "Conv2D", "kernel_size", 1)) == at(6, 24)
    assert src.value(("graph", 0)) == at(3, 5)
    assert src.value(("graph", 1, "graph", 0, "Dense", "units")) == at(9, 24)
    assert src.key(("graph", 1, "graph", 0, "Dense", "activation")) == at(9, 28)
    assert src.value(("graph", 1, "graph", 0, "Dense", "activation")) == at(9, 40)
    # A list item has no key: its key location is its value's.
    assert src.key(("graph", 1)) == at(7, 5)
    # Unknown paths fall back to the nearest known parent.
    assert src.value(("graph", 0, "Conv2D", "strides")) == at(5, 7)
    assert doc.loc("graph", 1, "repeat") == at(7, 13)
    assert doc.loc("nothing", "here") == at(1, 1)


def test_text_location_of_quoted_scalars_skips_the_quote():
    doc = parse(NESTED, "nested.yaml")
    path = ("graph", 1, "graph", 0, "Dense", "activation")
    assert doc.sources.value(path) == Location("nested.yaml", 9, 40)
    assert doc.sources.text_location(path) == Location("nested.yaml", 9, 41)
    plain = ("graph", 0, "name")
    assert (
        doc.sources.text_location(plain)
        == doc.sources.value(plain)
        == Location("nested.yaml", 3, 11)
    )
    single = parse("a: 'x ${y}'\n").sources
    assert single.text_location(("a",)) == Location("<string>", 1, 5)


def test_parse_value_uses_the_same_rules():
    assert parse_value("32") == 32
    assert parse_value("[1, 2]") == [1, 2]
    assert parse_value("relu") == "relu"
    assert parse_value("") == ""
    assert parse_value("{a: 1}") == {"a": 1}
    with pytest.raises(BlueprintError) as info:
        parse_value("!!python/name:os.system")
    assert info.value.message == "the YAML tag '!!python/name:os.system' is not allowed"
    # No line or column: they would count in the text parsed, not in what was given.
    assert info.value.location == Location("<command line>")
    assert info.value.received == "!!python/name:os.system"
    assert str(info.value).startswith(
        "<command line>: error: the YAML tag '!!python/name:os.system' is not allowed."
    )
    with pytest.raises(BlueprintError) as info:
        parse_value("a\x01b")
    assert info.value.message == "invalid value: control characters are not allowed"
    assert info.value.location == Location("<command line>")
    with pytest.raises(BlueprintError) as info:
        parse_value("[1, 2")
    assert info.value.message == "invalid value: did not find expected ',' or ']'"
    with pytest.raises(BlueprintError) as info:
        parse_value("[" * 300 + "]" * 300)
    assert info.value.location == Location("<command line>")
    assert info.value.message == "the YAML is nested too deeply"


def test_scalar_construction_keeps_no_reference_to_parsed_nodes():
    # PyYAML's construct_object() caches every node in its loader; the shared
    # scalar constructor must not grow with every document parsed.
    for _ in range(3):
        parse(NESTED)
    assert source._SCALARS.constructed_objects == {}


def test_source_map_subtrees_are_exact_after_grafts_and_drops():
    import copy
    import pickle

    from keras_blueprints.loading.source import SourceMap

    doc = parse('a: {b: 1, c: [1, "x"]}\nab: 2\nd: !replace {e: 2}\n', "f.yaml")
    sources = doc.sources
    assert sorted(p for p, _ in sources.subtree(("a",))) == [
        ("a",), ("a", "b"), ("a", "c"), ("a", "c", 0), ("a", "c", 1),
    ]  # fmt: skip
    other = SourceMap()
    other.graft(sources, ("a", "c"), ("z",))
    assert sorted(other.values) == [("z",), ("z", 0), ("z", 1)]
    assert set(other.quoted) == {("z", 1)}
    sources.drop(("a", "c"))
    assert sorted(p for p, _ in sources.subtree(("a",))) == [("a",), ("a", "b")]
    assert ("ab",) in sources.values and sources.replace == {("d",)}
    for copied in (copy.deepcopy(sources), pickle.loads(pickle.dumps(sources))):
        copied.drop(("d",))
        assert sorted(copied.values) == [(), ("a",), ("a", "b"), ("ab",)]
        assert not copied.replace
