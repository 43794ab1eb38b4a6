"""``report.html``: a run directory as one offline page, every asset inline.

A blueprint is untrusted: every name, value and line of YAML is escaped with
:func:`html.escape`; the page holds no script and requests nothing.
"""

from __future__ import annotations

import base64
import html
import json
import shutil
import subprocess
from pathlib import Path

from keras_blueprints._core.files import atomic_write_text
from keras_blueprints.training.rundir import (
    BLUEPRINT_FILE,
    HISTORY_JSON,
    METRICS_FILE,
    PLOTS_DIR,
    RUN_FILE,
)

__all__ = ["EVALUATION_DIR", "REPORT_FILE", "render_report", "write_report"]

REPORT_FILE = "report.html"
EVALUATION_DIR = "evaluation"

_STYLE = """
body{font-family:sans-serif;margin:2em;color:#222;background:#fff}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;margin-top:1.5em}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em}
figure{display:inline-block;margin:.5em}img{max-width:480px;border:1px solid #eee}
pre{background:#f6f6f6;padding:1em;overflow:auto}.note{color:#777}
.diagram svg{max-width:100%;height:auto}
"""


def _read_json(path: Path) -> object | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _diagram(run_dir: Path) -> str:
    """The architecture as inline SVG from Graphviz ``dot``, or a note saying why not."""
    dot = shutil.which("dot")
    if dot is None:
        return '<p class="note">Install Graphviz (dot) to see the architecture here.</p>'
    try:
        from keras_blueprints.training.rundir import load_run_blueprint
        from keras_blueprints.views.diagram import to_dot

        source = to_dot(load_run_blueprint(run_dir))  # its data paths as the run allowed them
        svg = subprocess.run(
            [dot, "-Tsvg"], input=source, capture_output=True, text=True, check=True, timeout=60
        ).stdout
    except Exception as error:  # a report never fails for its diagram
        return f'<p class="note">No diagram: {html.escape(str(error))}</p>'
    start = svg.find("<svg")  # drop the XML prolog and doctype
    return f'<div class="diagram">{svg[start:]}</div>' if start >= 0 else ""


def _figures(folder: Path) -> str:
    """Every PNG of ``folder`` inline (base64), captioned with its file name."""
    if not folder.is_dir():
        return ""
    parts = []
    for png in sorted(folder.glob("*.png")):
        data = base64.b64encode(png.read_bytes()).decode("ascii")
        name = html.escape(png.name)
        parts.append(
            f'<figure><img alt="{name}" src="data:image/png;base64,{data}">'
            f"<figcaption>{name}</figcaption></figure>"
        )
    return "".join(parts)


def _metrics_table(metrics: object) -> str:
    """Final metrics per split as a table (``metrics.json``: split -> name -> value)."""
    if not isinstance(metrics, dict) or not metrics:
        return '<p class="note">No metrics yet.</p>'
    splits = {k: v for k, v in metrics.items() if isinstance(v, dict)}
    names = list(dict.fromkeys(n for values in splits.values() for n in values))
    head = "".join(f"<th>{html.escape(str(n))}</th>" for n in names)
    rows = []
    for split, values in splits.items():
        cells = "".join(
            f"<td>{values[n]:.4f}</td>"
            if isinstance(values.get(n), (int, float))
            else f"<td>{html.escape(str(values.get(n, '')))}</td>"
            for n in names
        )
        rows.append(f"<tr><th>{html.escape(str(split))}</th>{cells}</tr>")
    return f'<table id="metrics"><tr><th></th>{head}</tr>{"".join(rows)}</table>'


def _curves(history: object) -> str:
    """Learning curves as inline SVG polylines drawn from ``history.json``."""
    if not isinstance(history, dict):
        return ""
    series = {
        k: [float(v) for v in vs if isinstance(v, (int, float))]
        for k, vs in history.items()
        if isinstance(vs, list)
    }
    series = {k: v for k, v in series.items() if len(v) > 1}
    parts = []
    for name, values in series.items():
        low, high = min(values), max(values)
        span = (high - low) or 1.0
        step = 300 / (len(values) - 1)
        points = " ".join(
            f"{i * step + 10:.1f},{110 - (v - low) / span * 100:.1f}" for i, v in enumerate(values)
        )
        label = html.escape(name)
        parts.append(
            f'<figure><svg class="curve" width="320" height="120" role="img">'
            f"<title>{label}</title>"
            f'<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{points}"/></svg>'
            f"<figcaption>{label} ({low:.4g} .. {high:.4g})</figcaption></figure>"
        )
    return "".join(parts)


def _text_file(path: Path) -> str:
    try:
        return f"<pre>{html.escape(path.read_text(encoding='utf-8'))}</pre>"
    except OSError:
        return f'<p class="note">No {html.escape(path.name)}.</p>'


def render_report(run_dir: str | Path) -> str:
    """The HTML of a run directory's report.

    Args:
        run_dir: A run directory from ``blueprint train``.

    Returns:
        A complete, self-contained HTML page (no script, nothing to fetch).
    """
    run_dir = Path(run_dir)
    title = html.escape(run_dir.resolve().name)
    evaluation = _read_json(run_dir / EVALUATION_DIR / "evaluation.json")
    sections = [
        ("Architecture", _diagram(run_dir)),
        ("Learning curves", _curves(_read_json(run_dir / HISTORY_JSON))),
        ("Final metrics", _metrics_table(_read_json(run_dir / METRICS_FILE))),
        ("Plots", _figures(run_dir / PLOTS_DIR)),
        (
            "Evaluation",
            _figures(run_dir / EVALUATION_DIR)
            + (
                f"<pre>{html.escape(json.dumps(evaluation, indent=2))}</pre>"
                if evaluation is not None
                else ""
            ),
        ),
        ("Blueprint", _text_file(run_dir / BLUEPRINT_FILE)),
        ("Run", _text_file(run_dir / RUN_FILE)),
    ]
    body = "".join(f"<section><h2>{name}</h2>{content}</section>" for name, content in sections)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'\">"
        f"<title>Run report: {title}</title><style>{_STYLE}</style></head>"
        f"<body><h1>Run report: {title}</h1>{body}</body></html>"
    )


def write_report(run_dir: str | Path) -> Path:
    """Writes ``RUN_DIR/report.html`` atomically; returns its path."""
    return atomic_write_text(Path(run_dir) / REPORT_FILE, render_report(run_dir))
