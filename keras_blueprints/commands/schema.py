"""``blueprint schema``: not written yet."""

from __future__ import annotations

import argparse

from ..cli import command


@command("schema", "(in progress)")
def configure(parser: argparse.ArgumentParser) -> None:
    """Adds the command's arguments."""


def run(args: argparse.Namespace) -> int:
    """Not written yet."""
    raise NotImplementedError
