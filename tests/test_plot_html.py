"""``blueprint plot -o model.html``: the interactive view, in headless Chromium (issue 15)."""

from __future__ import annotations

import json

from keras_blueprints.cli import main

BLUEPRINT = """\
name: "<img src=x onerror=window.hacked=1>"
inputs: {x: [8]}
blocks:
  residual:
    params: {units: int}
    graph:
      - name: dense
        Dense: {units: "${units}", activation: relu}
      - name: add
        Add: {}
        from: [x, dense]
graph:
  - name: res
    residual: {units: 8}
  - name: head
    Dense: {units: 3}
"""


def test_the_model_view_opens_blocks_and_shows_a_node(tmp_path, monkeypatch, open_page):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.yaml").write_text(BLUEPRINT)
    assert main(["plot", "net.yaml", "--no-shapes", "-o", "model.html"]) == 0
    opened = open_page(tmp_path / "model.html")
    page = opened.page
    assert opened.errors == [] and opened.requests == []
    assert page.evaluate("window.hacked") is None

    def names():
        return page.eval_on_selector_all("g.node", "gs => gs.map(g => g.dataset.node)")

    assert names() == ["x", "head"]  # the block starts closed
    page.locator('g.block[data-block="res"]').click()
    assert names() == ["x", "res_dense", "res_add", "head"]
    page.locator('g.node[data-node="res_dense"]').click()
    assert page.locator("#d-name").inner_text() == "res_dense"
    assert json.loads(page.locator("#d-args").inner_text()) == {"units": 8, "activation": "relu"}
    assert page.locator("#d-where").inner_text().startswith("net.yaml:7:")
    assert page.locator("#d-yaml").inner_text().split("\n") == [
        "      - name: dense",
        '        Dense: {units: "${units}", activation: relu}',
    ]
    before = page.locator("#world").get_attribute("transform")
    page.locator("#zoom-in").click()
    assert page.locator("#world").get_attribute("transform") != before
