"""Atomic writes: files and folders get the modes the user's umask gives, as with any tool."""

from __future__ import annotations

import os
import stat

import pytest

from keras_blueprints._core.files import (
    atomic_path,
    atomic_write_text,
    current_umask,
    temporary_dir,
)


@pytest.fixture
def umask_027():
    saved = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(saved)


def test_current_umask_reads_without_changing_it(umask_027):
    assert current_umask() == 0o027
    assert current_umask() == 0o027


def test_atomic_files_get_the_umask_mode_not_0600(tmp_path, umask_027):
    written = atomic_write_text(tmp_path / "run" / "run.json", "{}")
    assert stat.S_IMODE(written.stat().st_mode) == 0o640
    with atomic_path(tmp_path / "model.keras") as tmp:
        tmp.write_bytes(b"x")
    assert stat.S_IMODE((tmp_path / "model.keras").stat().st_mode) == 0o640


def test_temporary_dirs_get_the_umask_mode_not_0700(tmp_path, umask_027):
    folder = temporary_dir(tmp_path, ".export-")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o750
