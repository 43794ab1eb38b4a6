"""``report.html``: a run directory as one offline page (issue 15)."""

from __future__ import annotations

import base64
import html.parser
import json
import textwrap

from keras_blueprints.cli import main
from keras_blueprints.report import REPORT_FILE, render_report, write_report

# a 1x1 PNG
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)

BLUEPRINT = textwrap.dedent(
    """\
    name: tiny
    inputs: {point: [2]}
    graph:
      - {name: hidden, Dense: {units: 4, activation: relu}}
      - {name: probabilities, Dense: {units: 2, activation: softmax}}
    compile:
      optimizer: adam
      loss: sparse_categorical_crossentropy
      metrics: [accuracy]
    data:
      source: {spirals: {points_per_class: 8}}
      validation: 0.25
      batch_size: 8
    train: {epochs: 2, seed: 1}
    """
)


HOSTILE = "<img src=x onerror=window.hacked=1>"
"""Markup in a blueprint's name, which only forbids path separators."""


class _Tags(html.parser.HTMLParser):
    """Collects start tags, the text of h2 headings and img sources."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.headings: list[str] = []
        self.images: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._in_h2 = tag == "h2"
        if tag == "img":
            self.images.append(dict(attrs)["src"])

    def handle_data(self, data):
        if self._in_h2:
            self.headings.append(data)
            self._in_h2 = False


def _parse(text: str) -> _Tags:
    tags = _Tags()
    tags.feed(text)
    return tags


def _fake_run(tmp_path, name: str = "tiny"):
    run = tmp_path / "run"
    (run / "plots").mkdir(parents=True)
    (run / "evaluation").mkdir()
    (run / "blueprint.yaml").write_text(BLUEPRINT.replace("name: tiny", f'name: "{name}"'))
    (run / "run.json").write_text(json.dumps({"status": "completed"}))
    (run / "history.json").write_text(json.dumps({"loss": [0.9, 0.5, 0.3]}))
    (run / "metrics.json").write_text(json.dumps({"train": {"loss": 0.25, "accuracy": 0.875}}))
    (run / "plots" / "curves.png").write_bytes(PNG)
    (run / "evaluation" / "saliency.png").write_bytes(PNG)
    return run


def test_the_report_shows_every_part_inline(tmp_path):
    run = _fake_run(tmp_path)
    page = _parse(write_report(run).read_text(encoding="utf-8"))
    assert page.headings == [
        "Architecture", "Learning curves", "Final metrics", "Plots", "Evaluation", "Blueprint",
        "Run",
    ]  # fmt: skip
    assert len(page.images) == 2
    assert all(s.startswith("data:image/png;base64,") for s in page.images)
    assert "script" not in page.tags and "link" not in page.tags
    text = (run / REPORT_FILE).read_text(encoding="utf-8")
    assert '<div class="diagram"><svg' in text  # Graphviz is installed where tests run
    assert "<td>0.8750</td>" in text and "polyline" in text


def test_the_report_command_never_imports_tensorflow(tmp_path):
    from conftest import run_cli_isolated

    run = _fake_run(tmp_path)
    (run / REPORT_FILE).unlink(missing_ok=True)
    status, heavy, _ = run_cli_isolated(["report", str(run)])
    assert status == 0 and (run / REPORT_FILE).is_file()
    assert not {"tensorflow", "keras"} & set(heavy)


def test_a_hostile_name_is_text_not_markup(tmp_path):
    run = _fake_run(tmp_path, name=HOSTILE)  # a valid name: it holds no '/'
    text = render_report(run)
    assert "img" not in _parse(text.split("<h2>Plots")[0]).tags
    assert "&lt;img src=x onerror=window.hacked=1&gt;" in text


def test_train_writes_the_report_and_report_refreshes_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.yaml").write_text(BLUEPRINT)
    assert main(["train", "net.yaml", "--run-dir", "run", "--quiet"]) == 0
    report = tmp_path / "run" / REPORT_FILE
    assert "Final metrics" in _parse(report.read_text(encoding="utf-8")).headings
    report.unlink()
    capsys.readouterr()
    assert main(["report", "run"]) == 0
    assert capsys.readouterr().out.strip() == "run/report.html"
    assert report.exists()
    report.unlink()
    assert main(["evaluate", "run"]) == 0
    assert report.exists()


def test_the_report_loads_offline_in_chromium(tmp_path, open_page):
    run = _fake_run(tmp_path, name=HOSTILE)
    opened = open_page(write_report(run))
    page = opened.page
    assert opened.errors == [] and opened.requests == []
    assert page.evaluate("window.hacked") is None  # the hostile name did not run
    assert page.locator("h2").all_inner_texts()[:3] == [
        "Architecture", "Learning curves", "Final metrics",
    ]  # fmt: skip
    assert page.locator("#metrics td").all_inner_texts() == ["0.2500", "0.8750"]
    assert page.locator(".diagram svg").count() == 1
    widths = page.eval_on_selector_all("img", "images => images.map(i => i.naturalWidth)")
    assert widths == [1, 1]  # both inline pictures decoded
    shot = opened.screenshot(tmp_path / "report.png")

    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape[1] == 1200 and pixels.std() > 5  # not blank
