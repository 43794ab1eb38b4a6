"""`blueprint blocks`: the list, and docs/blocks.md kept in sync with the registry."""

from __future__ import annotations

from pathlib import Path

from conftest import run_cli_isolated

from keras_blueprints.catalog.components import BLOCKS
from keras_blueprints.cli import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "blocks.md"


def test_blocks_reference_page_is_in_sync(capsys):
    assert main(["blocks", "--markdown"]) == 0
    assert DOC.read_text(encoding="utf-8") == capsys.readouterr().out, (
        "docs/blocks.md is stale: run  blueprint blocks --markdown > docs/blocks.md"
    )


def test_blocks_lists_every_block_with_its_family(capsys):
    assert main(["blocks"]) == 0
    lines = capsys.readouterr().out.splitlines()
    blocks = [line for line in lines if not line.startswith(" ")]  # under each: its parameters
    assert sorted(line.split()[0] for line in blocks) == BLOCKS.names()
    assert any(line.startswith("resnet_stage ") and "[residual]" in line for line in lines)


def test_blocks_of_one_name_and_unknown_name(capsys):
    assert main(["blocks", "--markdown", "dense_block"]) == 0
    page = capsys.readouterr().out
    assert "### `dense_block`" in page and "### `transition`" not in page
    assert main(["blocks", "dense_blok"]) == 2
    assert "Did you mean 'dense_block'?" in capsys.readouterr().err


def test_blocks_command_never_imports_tensorflow():
    status, heavy, out = run_cli_isolated(["blocks"])
    assert (status, heavy) == (0, [])
    assert "unet_decoder_level" in out
