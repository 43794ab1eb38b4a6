"""The probabilistic U-Net (zoo:prob_unet): its data, its KL term, its sampler and its measure."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

import keras_blueprints as kb
from keras_blueprints._core.errors import BlueprintError
from keras_blueprints.cli import main
from keras_blueprints.data.registry import SourceContext
from keras_blueprints.data.sources.ambiguous import ambiguous_shapes, annotations
from keras_blueprints.evaluation.ged import distance_matrix, energy_distance
from keras_blueprints.layers.prob_unet import GaussianKLDivergence

SMALL = ["--set", "data.source={ambiguous_shapes: {count: 40}}", "--epochs", "2"]

# -- the measure ------------------------------------------------------------------------


def _disc(cy: float, cx: float, r: float, size: int = 8) -> np.ndarray:
    rows, cols = np.mgrid[0:size, 0:size]
    return ((rows - cy) ** 2 + (cols - cx) ** 2 <= r * r).astype("int32")


def test_distance_is_one_minus_iou_and_two_empty_masks_are_equal():
    a = np.zeros((1, 4, 4))
    a[0, :2, :2] = 1  # 4 pixels
    b = np.zeros((1, 4, 4))
    b[0, :2, :] = 1  # 8 pixels, 4 shared
    empty = np.zeros((1, 4, 4))
    assert distance_matrix(a, b)[0, 0] == pytest.approx(1 - 4 / 8)
    assert distance_matrix(empty, empty)[0, 0] == 0.0
    assert distance_matrix(a, empty)[0, 0] == 1.0


def test_energy_distance_is_zero_for_equal_sets_symmetric_and_positive_otherwise():
    masks = np.stack([_disc(3, 3, 2), _disc(4, 4, 3), np.zeros((8, 8), "int32")])
    assert energy_distance(masks, masks)["ged"] == pytest.approx(0.0, abs=1e-12)
    one = masks[:1]
    there, back = energy_distance(one, masks)["ged"], energy_distance(masks, one)["ged"]
    assert there == pytest.approx(back)
    # One answer against annotators who disagree: no diversity, and a distance above 0.
    terms = energy_distance(one, masks)
    assert terms["diversity"] == 0.0 and terms["ged"] > 0
    # Worked by hand: the discs hold 13 and 29 pixels and share 11 (two pixels of the
    # small one, (1, 3) and (3, 1), lie outside the big one), so their IoU is 11/31;
    # d(one, masks) = [0, 20/31, 1] and cross = (20/31 + 1) / 3 = 17/31.
    assert terms["cross"] == pytest.approx(17 / 31)


# -- the data ---------------------------------------------------------------------------


def test_annotators_disagree_on_the_faint_disc_in_order_of_their_thresholds():
    images, masks = annotations(np.random.default_rng(0), 60, 32, 32, 4, 0.0, 0.05)
    assert images.shape == (60, 32, 32, 1) and masks.shape == (60, 4, 32, 32, 1)
    # No spread in the outlines: an annotator with a higher threshold marks a subset.
    for a in range(3):
        assert np.all(masks[:, a + 1] <= masks[:, a])
    differ = [not np.array_equal(m[0], m[-1]) for m in masks]
    assert 0 < sum(differ) < len(differ)  # ambiguous images, and unambiguous ones


def test_each_split_holds_every_image_once_per_annotator(tmp_path):
    bp = kb.load("zoo:prob_unet", [("data.source", {"ambiguous_shapes": {"count": 50}})])
    sizes = {}
    for split in ("train", "validation", "test"):
        found = ambiguous_shapes(SourceContext(bp, tmp_path, 0, split), count=50)
        image, mask = found.x["image"], found.x["mask"]
        assert np.array_equal(mask, found.y.astype("float32"))  # the posterior sees the target
        assert all(np.array_equal(image[i], image[i - i % 4]) for i in range(len(image)))
        sizes[split] = len(image)
    assert sizes == {"train": 35 * 4, "validation": 5 * 4, "test": 10 * 4}


@pytest.mark.parametrize(
    ("value", "bad"), [("{count: 40, annotators: 40}", "40}"), ("{count: 40, spread: 0.9}", "0.9")]
)
def test_bad_source_arguments_are_refused_at_their_value(value, bad, tmp_path, capsys):
    line = f"  source: {{ambiguous_shapes: {value}}}"
    path = tmp_path / "bp.yaml"
    path.write_text(f"extends: zoo:prob_unet\ndata:\n{line}\n")
    assert main(["train", str(path), "--run-dir", str(tmp_path / "run")]) != 0
    assert f"{path}:3:{line.rindex(bad) + 1}:" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_the_data_budget_is_checked_at_load():
    with pytest.raises(BlueprintError) as caught:
        kb.load(
            "zoo:prob_unet",
            [("data.source", {"ambiguous_shapes": {"count": 10**9}})],
            limits=kb.Limits(max_data=10**8),
        )
    assert "count" in str(caught.value)


# -- the KL term ------------------------------------------------------------------------


def test_gaussian_kl_matches_the_closed_form_and_is_zero_for_equal_gaussians():
    layer = GaussianKLDivergence(weight=2.0)
    mq, lq = np.array([[0.5, -1.0]]), np.array([[0.2, -0.3]])
    mp, lp = np.array([[0.0, 0.5]]), np.array([[-0.1, 0.4]])
    layer([mq, lq, mp, lp])
    vq, vp = np.exp(lq), np.exp(lp)
    # KL of two 1-D Gaussians, summed: log(sp/sq) + (sq^2 + (mq - mp)^2) / (2 sp^2) - 1/2.
    expected = np.sum(0.5 * np.log(vp / vq) + (vq + (mq - mp) ** 2) / (2 * vp) - 0.5)
    assert float(layer.losses[0]) == pytest.approx(2.0 * expected, rel=1e-5)
    same = GaussianKLDivergence()
    same([mq, lq, mq, lq])
    assert float(same.losses[0]) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError):
        GaussianKLDivergence(weight=-1.0)


# -- the model --------------------------------------------------------------------------


def test_the_blueprint_builds_with_its_stated_parameter_counts():
    models = kb.build_models("zoo:prob_unet")
    assert models["model"].count_params() == 127_929  # worked in the blueprint's comments
    assert models["sampler"].count_params() == 122_589  # no posterior net
    assert [t.name for t in models["sampler"].inputs] == ["image"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("prob_unet") / "run"
    assert main(["train", "zoo:prob_unet", "--run-dir", str(run_dir), "--quiet", *SMALL]) == 0
    return run_dir


def test_it_trains_and_evaluates_through_the_cli(trained, capsys):
    metrics = json.loads((trained / "metrics.json").read_text())
    assert set(metrics) == {"train", "validation", "test"}
    capsys.readouterr()
    assert main(["evaluate", str(trained), "--json"]) == 0
    measured = json.loads(capsys.readouterr().out)
    assert measured["test"]["loss"] == pytest.approx(metrics["test"]["loss"], rel=1e-4)


def test_the_sampler_draws_different_segmentations_of_one_image(trained):
    models = kb.build_models(kb.load(trained / "blueprint.yaml"), compile=False)
    models["model"].load_weights(trained / "model.keras")
    image = np.random.default_rng(0).random((1, 32, 32, 1), dtype="float32")
    draws = np.asarray(models["sampler"](np.repeat(image, 8, axis=0)))
    assert draws.shape == (8, 32, 32, 1)
    assert np.ptp(draws, axis=0).max() > 1e-3  # the code changes the answer
    # The main model (posterior) at inference uses the posterior's mean: deterministic.
    mask = np.zeros((1, 32, 32, 1), "float32")
    once, again = (np.asarray(models["model"]([image, mask])) for _ in range(2))
    np.testing.assert_array_equal(once, again)


def test_the_export_verifies_the_sampler_and_serves_it(trained, tmp_path, capsys):
    out = tmp_path / "export"
    assert main(["export", str(trained), "--out", str(out)]) == 0
    record = json.loads((out / "export.json").read_text())
    assert record["verification"]["max_abs_diff"]["sampler"] <= 1e-4
    images = tmp_path / "images.npy"
    np.save(images, np.repeat(np.random.default_rng(1).random((1, 32, 32, 1), "float32"), 4, 0))
    result = tmp_path / "samples.npy"
    args = ["predict", str(out), str(images), "--signature", "sampler", "-o", str(result)]
    assert main(args) == 0
    samples = np.load(result)
    assert samples.shape == (4, 32, 32, 1) and np.ptp(samples, axis=0).max() > 1e-3


def test_a_node_only_a_further_model_reads_is_used():
    # Without counting models: outputs, the sampler's branch would be "not used".
    bp = kb.load("zoo:prob_unet")
    assert "sample" in {n.name for n in bp.nodes}
    assert not bp.warnings
    keras.backend.clear_session()
