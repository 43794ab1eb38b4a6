"""Do the probabilistic U-Net's samples cover the annotators' variety better than a U-Net?

Trains, with ``blueprint train`` on built-in ``ambiguous_shapes`` (one clear and one
faint disc per image, four simulated annotators who disagree about the faint disc and
the edges), in one process run after the other:

* ``zoo:prob_unet`` at its defaults;
* a plain U-Net of the same trunk (``zoo:unet`` at ``size=32, depth=2, filters=16``,
  the same optimizer, data, epochs and early stopping).

On every test image, ``--samples`` draws of the probabilistic U-Net's ``sampler`` (the
image repeated, a fresh code per row) and the plain U-Net's one answer are thresholded
at 0.5 and compared with the annotators' masks by the squared generalised energy
distance (``keras_blueprints.evaluation.ged``; lower is better), reported with its
terms: E d(S, Y), the samples' diversity E d(S, S') and the annotators' own
E d(Y, Y'). Writes a JSON of the figures and, with ``--figure``, a PNG: images, the
annotators' masks, the U-Net's answer and prob U-Net samples.

    python benchmarks/bench_prob_unet.py --figure docs/figures/prob_unet_samples.png
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import keras_blueprints as kb
from keras_blueprints.data.registry import SourceContext
from keras_blueprints.data.sources.ambiguous import ambiguous_shapes
from keras_blueprints.evaluation.ged import mean_energy_distance

PLAIN = [
    "--set",
    "params.size=32",
    "--set",
    "params.depth=2",
    "--set",
    "params.filters=16",
    "--set",
    "compile.optimizer={adam: {learning_rate: 0.001}}",
    "--set",
    "data={source: {ambiguous_shapes: {count: 400, annotators: 4}}, batch_size: 32}",
    "--set",
    "train.epochs=15",
]


def _train(entry: str, run_dir: Path, extra: list[str]) -> float:
    start = time.perf_counter()
    command = [sys.executable, "-m", "keras_blueprints", "train", entry, "--run-dir"]
    subprocess.run([*command, str(run_dir), "--quiet", *extra], check=True)
    return time.perf_counter() - start


def _test_split(run_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """The test images and all their annotators' masks, ``(n, H, W, 1)``, ``(n, A, H, W, 1)``."""
    bp = kb.load(run_dir / "blueprint.yaml")
    args = dict(bp.data.source.args)
    examples = ambiguous_shapes(SourceContext(bp, run_dir, bp.train.seed, "test"), **args)
    annotators = args.get("annotators", 4)
    image = next(iter(examples.x.values()))
    masks = np.asarray(examples.y)
    return image[::annotators], masks.reshape(-1, annotators, *masks.shape[1:])


def main(argv: list[str] | None = None) -> int:
    """Trains both models and prints the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=16, help="draws per test image")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--figure", type=Path, help="write a PNG of samples here")
    args = parser.parse_args(argv)

    import keras

    with tempfile.TemporaryDirectory(prefix="prob-unet-") as tmp:
        runs = {"prob_unet": Path(tmp) / "prob", "unet": Path(tmp) / "plain"}
        seconds = {
            "prob_unet": _train("zoo:prob_unet", runs["prob_unet"], []),
            "unet": _train("zoo:unet", runs["unet"], PLAIN),
        }
        images, truth = _test_split(runs["prob_unet"])
        sampler = kb.build_models(kb.load(runs["prob_unet"] / "blueprint.yaml"), compile=False)
        sampler["model"].load_weights(runs["prob_unet"] / "model.keras")
        draw = sampler["sampler"]
        repeated = np.repeat(images, args.samples, axis=0)
        samples = np.asarray(draw.predict(repeated, verbose=0) > 0.5)
        samples = samples.reshape(len(images), args.samples, *images.shape[1:])
        plain = keras.models.load_model(runs["unet"] / "model.keras")
        answer = np.asarray(plain.predict(images, verbose=0) > 0.5)[:, None]
        figures = {
            "test_images": len(images),
            "annotators": truth.shape[1],
            "samples": args.samples,
            "train_seconds": {k: round(v, 1) for k, v in seconds.items()},
            "prob_unet": mean_energy_distance(samples, truth),
            "unet": mean_energy_distance(answer, truth),
        }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    if args.figure:
        _figure(args.figure, images, truth, answer, samples)
    return 0


def _figure(path: Path, images, truth, answer, samples, rows: int = 4) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Images whose annotators disagree most: where sampling has something to show.
    from keras_blueprints.evaluation.ged import distance_matrix

    spread = [distance_matrix(t, t).mean() for t in truth]
    chosen = np.argsort(spread)[::-1][:rows]
    annotators, shown = truth.shape[1], min(samples.shape[1], 4)
    columns = 1 + annotators + 1 + shown
    fig, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.4 * rows))
    titles = ["image", *(f"annotator {a + 1}" for a in range(annotators)), "U-Net"]
    titles += [f"sample {s + 1}" for s in range(shown)]
    for r, i in enumerate(chosen):
        tiles = [images[i], *truth[i], answer[i, 0], *samples[i, :shown]]
        for c, tile in enumerate(tiles):
            ax = axes[r, c]
            ax.imshow(np.asarray(tile)[..., 0], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(titles[c], fontsize=7)
    fig.suptitle("Probabilistic U-Net samples against annotators and a U-Net", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
