"""What a wheel ships: every package of the source tree, and the data files they read."""

from __future__ import annotations

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _setup_cfg() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    return config


def test_every_package_of_the_tree_is_listed_in_setup_cfg():
    listed = set(_setup_cfg()["options"]["packages"].split())
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "keras_blueprints").rglob("__init__.py")
    }
    # An editable install finds an unlisted package anyway; a wheel would not ship it.
    assert found <= listed, f"missing from setup.cfg's packages: {sorted(found - listed)}"
    assert listed - found == {"keras_blueprints._zoo"}  # the zoo, mapped from blueprints/


def test_every_data_file_a_package_reads_is_shipped():
    data = _setup_cfg()["options.package_data"]
    patterns = {package: data[package].split() for package in data}
    for suffix in ("json", "yaml"):
        for path in (ROOT / "keras_blueprints").rglob(f"*.{suffix}"):
            package = ".".join(path.parent.relative_to(ROOT).parts)
            assert f"*.{suffix}" in patterns.get(package, []), f"{path} is not shipped"
