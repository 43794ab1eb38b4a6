"""Runs the hostile-input corpus (tests/hostile/): each case in a child process.

Every case must end with its expected exit status (2: one located error line, no
traceback), change nothing outside its writable folders (the user's other files,
$HOME), and stay inside its wall-clock and memory bounds: the child runs under an
address-space limit (when it does not import TensorFlow) and reports its own peak
resident memory, so a runaway allocation fails the case instead of the machine.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import hostile
import pytest
from hostile import CASES, LOCATED, Case, expand

for _module in pkgutil.iter_modules(hostile.__path__):
    importlib.import_module(f"hostile.{_module.name}")

CHILD = """\
import json, resource, sys
limit = int(sys.argv[1])
if limit:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
def peak_kb():
    # VmHWM is this process's own peak since exec; ru_maxrss also keeps the peak of the
    # process it was forked from (this test process, once it has imported TensorFlow).
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
status = 70
try:
    from keras_blueprints.cli import main
    status = main(sys.argv[3:])
except SystemExit as exc:  # argparse's usage errors
    status = exc.code if isinstance(exc.code, int) else 2
finally:
    with open(sys.argv[2], "w") as f:
        json.dump({"maxrss_kb": peak_kb()}, f)
sys.exit(status)
"""


def _snapshot(root: Path, skip: set[Path]) -> dict[str, tuple]:
    """Every path under ``root`` (but ``skip``) with its kind, size, mtime and mode."""
    seen: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if here / d not in skip]
        for name in dirnames + filenames:
            path = here / name
            st = path.lstat()
            seen[str(path.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return seen


def _world(tmp_path: Path, item: Case) -> Path:
    root = tmp_path
    (root / "home").mkdir()
    (root / "cache").mkdir()
    (root / "outside" / "keep").mkdir(parents=True)
    (root / "outside" / "secret.txt").write_text("the user's own file\n")
    (root / "outside" / "keep" / "data.txt").write_text("1,2,3\n")
    work = root / "work"
    work.mkdir()
    for name, content in item.files.items():
        path = work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(expand(content, root), encoding="utf-8")
    if item.setup is not None:
        item.setup(root)
    return root


@pytest.mark.parametrize("item", CASES, ids=[c.id for c in CASES])
def test_hostile_input_is_refused_cleanly(tmp_path, item: Case):
    root = _world(tmp_path, item)
    work = root / "work"
    skip = {root / "cache", *(work / w for w in item.writable)}
    before = _snapshot(root, skip)
    report = root / "cache" / "report.json"
    limit = 0 if item.tensorflow else max(2 * item.memory_mb, 1024) * 2**20
    env = {
        **os.environ,
        "HOME": str(root / "home"),
        "KERAS_HOME": str(root / "cache" / "keras"),
        "MPLCONFIGDIR": str(root / "cache" / "matplotlib"),
        "XDG_CACHE_HOME": str(root / "cache"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    argv = [expand(a, root) for a in item.argv]
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(limit), str(report), *argv],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=item.seconds,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"'blueprint {' '.join(argv)}' ran past {item.seconds} s")
    output = done.stdout + done.stderr
    assert done.returncode == item.exit, output
    assert "Traceback" not in output, output
    assert "internal error" not in output, output
    for text in item.hidden:
        assert text not in output, f"the output shows {text!r}: {output}"
    if item.exit == 2:
        errors = [line for line in done.stderr.splitlines() if ": error: " in line]
        assert len(errors) == 1, done.stderr
        match = LOCATED.match(errors[0])
        assert match, errors[0]
        if item.where is not None:
            location = errors[0][: errors[0].index(": error: ")]
            assert re.fullmatch(item.where, location), errors[0]
    peak_mb = json.loads(report.read_text())["maxrss_kb"] / 1024
    assert peak_mb <= item.memory_mb, f"peak resident memory {peak_mb:.0f} MB"
    after = _snapshot(root, skip)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"written outside the run directory: {changed}"
