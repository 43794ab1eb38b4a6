"""The shared autouse fixture: every test starts from a clean, seeded Keras session.

The pairs of tests below each run twice: the second run sees whatever the first
left behind, so without the fixture it fails.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import SEED

CONFTEST = Path(__file__).with_name("conftest.py")


@pytest.mark.parametrize("run", [1, 2])
def test_unnamed_layers_are_numbered_afresh_in_every_test(run: int) -> None:
    assert keras.layers.Dense(2).name == "dense"
    assert keras.layers.Dense(2).name == "dense_1"


@pytest.mark.parametrize("run", [1, 2])
def test_every_test_starts_from_the_same_seed(run: int) -> None:
    drawn = (random.random(), float(np.random.random()))
    random.seed(SEED)
    np.random.seed(SEED)
    assert drawn == (random.random(), float(np.random.random()))


def test_the_fixture_imports_no_keras_for_a_test_that_does_not(tmp_path: Path) -> None:
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    shutil.copy(CONFTEST.with_name("browser.py"), tmp_path / "browser.py")  # its fixtures
    (tmp_path / "test_light.py").write_text(
        "import sys\n\n\n"
        "def test_light():\n"
        "    assert 'keras' not in sys.modules\n"
        "    assert 'tensorflow' not in sys.modules\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
