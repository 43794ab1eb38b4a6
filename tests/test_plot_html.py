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


WITH_A_PYTHON_BLOCK = """\
name: conv_net
inputs: {image: [8, 8, 1]}
graph:
  - name: body
    unet_conv_block: {filters: 2}
  - name: flat
    Flatten: {}
  - name: head
    Dense: {units: 3}
  - name: head_again
    share: head
    from: flat
outputs: [head, head_again]
"""


def test_clicking_a_node_shows_its_parameters(tmp_path, monkeypatch, open_page):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.yaml").write_text(WITH_A_PYTHON_BLOCK)
    assert main(["plot", "net.yaml", "-o", "model.html"]) == 0
    opened = open_page(tmp_path / "model.html")
    page = opened.page
    assert opened.errors == [] and opened.requests == []

    def details(node: str) -> tuple[str, str]:
        page.locator(f'g.node[data-node="{node}"]').click()
        return (page.locator("#d-params").inner_text(), page.locator("#d-shape").inner_text())

    # The block's two 3x3 convolutions: (9 * 1 * 2 + 2) + (9 * 2 * 2 + 2).
    assert details("body") == ("58", "(None, 8, 8, 2)")
    assert details("head") == (f"{8 * 8 * 2 * 3 + 3:,}", "(None, 3)")
    assert details("head_again") == ("0 (uses the weights of head)", "(None, 3)")
    assert details("flat") == ("0", "(None, 128)")
    assert details("image") == ("0", "(None, 8, 8, 1)")


def test_without_a_build_the_parameters_say_so(tmp_path, monkeypatch, open_page):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.yaml").write_text(WITH_A_PYTHON_BLOCK)
    assert main(["plot", "net.yaml", "--no-shapes", "-o", "model.html"]) == 0
    page = open_page(tmp_path / "model.html").page
    page.locator('g.node[data-node="body"]').click()
    assert page.locator("#d-params").inner_text() == "not built (--no-shapes)"
