"""Runs one inspection method on a few examples, or the deconvnet over a data set; writes PNGs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from keras_blueprints.inspect.figures import grid, top_grid
from keras_blueprints.inspect.layers import conv_layers, pick_layers

if TYPE_CHECKING:  # top imports TensorFlow; it loads with the method that needs it
    from keras_blueprints.inspect.top import TopHits, UnitFields

__all__ = ["inspect_examples", "inspect_top"]


def _norm(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, "float32")
    lo, hi = float(a.min()), float(a.max())
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def _labels(model: Any, images: np.ndarray, labels: np.ndarray | None) -> list[int]:
    if labels is not None:
        return [int(v) for v in labels]
    return [int(v) for v in np.asarray(model.predict(images, verbose=0)).argmax(axis=-1)]


def inspect_examples(
    method: str,
    model: Any,
    images: np.ndarray,
    labels: np.ndarray | None,
    out: Path,
    *,
    layers: list[str] | None = None,
    size: int = 4,
    stride: int = 2,
) -> dict[str, Any]:
    """Computes ``method`` for ``images``, writes ``out/*.png``, and returns what it found.

    Args:
        method: deconvnet, occlusion, feature-maps, filters, saliency or grad-cam.
        model: The trained model.
        images: The examples (n, h, w, c).
        labels: Their classes; None: the model's predictions.
        out: The folder written.
        layers: Blueprint node names (default: the last spatial layer).
        size: The occlusion square's side.
        stride: Its step.

    Returns:
        A JSON-ready summary: the files written and the numbers behind them.
    """
    summary: dict[str, Any] = {"method": method, "files": []}

    def write(name: str, tiles: list[np.ndarray], titles: list[str] | None = None) -> None:
        grid([_norm(t) for t in tiles], out / name, titles)
        summary["files"].append(name)

    if method == "filters":
        from keras_blueprints.inspect.filters import first_kernels

        kernels = first_kernels(model)
        write("filters.png", list(kernels))
        summary["kernels"] = int(kernels.shape[0])
        return summary
    classes = _labels(model, images, labels)
    summary["labels"] = classes
    if method == "deconvnet":
        from keras_blueprints.inspect.deconvnet import chain_layers, project

        valid = [layer.name for layer in chain_layers(model)]
        summary["layers"] = {}
        for name in pick_layers(model, layers, valid):
            found = [project(model, image, name) for image in images]
            tiles = [f["projection"] for f in found] + list(images)
            titles = [f"ch {f['channel']}" for f in found] + ["input"] * len(images)
            write(f"deconvnet_{name.replace('/', '_')}.png", tiles, titles)
            summary["layers"][name] = [
                {k: v for k, v in f.items() if k != "projection"} for f in found
            ]
    elif method == "feature-maps":
        from keras_blueprints.inspect.filters import feature_maps

        summary["layers"] = {}
        for name in pick_layers(model, layers, conv_layers(model)):
            maps = feature_maps(model, images[0], name)
            write(f"feature_maps_{name.replace('/', '_')}.png", list(np.moveaxis(maps, -1, 0)))
            summary["layers"][name] = list(maps.shape)
    elif method == "occlusion":
        from keras_blueprints.inspect.occlusion import occlusion_map

        pairs = zip(images, classes, strict=True)
        maps = [occlusion_map(model, im, c, size=size, stride=stride) for im, c in pairs]
        write("occlusion.png", list(images) + maps)
        summary["probabilities"] = [m.round(4).tolist() for m in maps]
    elif method == "saliency":
        from keras_blueprints.inspect.saliency import saliency

        maps = [saliency(model, im, c) for im, c in zip(images, classes, strict=True)]
        write("saliency.png", list(images) + maps)
        summary["max"] = [float(m.max()) for m in maps]
    elif method == "grad-cam":
        from keras_blueprints.inspect.saliency import grad_cam

        name = pick_layers(model, layers, conv_layers(model))[0]
        maps = [grad_cam(model, im, c, name) for im, c in zip(images, classes, strict=True)]
        write("grad_cam.png", list(images) + maps)
        summary["layer"] = name
        summary["max"] = [float(m.max()) for m in maps]
    return summary


def inspect_top(
    model: Any,
    images: np.ndarray,
    labels: np.ndarray | None,
    out: Path,
    *,
    layers: list[str] | None = None,
    top: int = 9,
    maps: int = 4,
    batch_size: int = 64,
) -> dict[str, Any]:
    """The deconvnet over a data set: each layer's strongest maps and their top examples.

    For each chosen layer, the ``maps`` feature maps with the highest activations over
    ``images``; for each, the ``top`` examples that activate it most, projected back by
    the deconvnet (switches from the example's own forward pass), beside the image,
    both cropped to the receptive field of the unit at the argmax position. Writes
    ``out/deconvnet_top_LAYER.png`` per layer.

    Args:
        model: The trained model.
        images: The data (n, h, w, c).
        labels: Their classes, or None.
        out: The folder written.
        layers: Blueprint node names (default: the last layer the deconvnet reaches).
        top: Examples per feature map.
        maps: Feature maps per layer.
        batch_size: Examples per forward pass.

    Returns:
        A JSON-ready summary: per layer and map, the examples' indices in ``images``,
        activations (highest first), argmax positions and receptive-field boxes.
    """
    from keras_blueprints.inspect.deconvnet import chain_layers
    from keras_blueprints.inspect.top import top_activations, unit_fields

    chain = chain_layers(model)
    names = pick_layers(model, layers, [layer.name for layer in chain])
    found = top_activations(model, images, names, top=top, batch_size=batch_size)
    summary: dict[str, Any] = {
        "method": "deconvnet", "top": top, "examples": len(images), "files": [], "layers": {},
    }  # fmt: skip
    for name in names:
        fields, hits = unit_fields(model, chain, name), found[name]
        rows, projections, patches = [], [], []
        for channel in hits.strongest_maps(maps):
            row = [_top_example(model, images, name, channel, hits, rank, fields)
                   for rank in range(hits.values.shape[0])]  # fmt: skip
            for hit, _, _ in row:
                if labels is not None:
                    hit["label"] = int(labels[hit["index"]])
            rows.append({"channel": channel, "examples": [hit for hit, _, _ in row]})
            projections.append([drawn for _, drawn, _ in row])
            patches.append([seen for _, _, seen in row])
        png = f"deconvnet_top_{name.replace('/', '_')}.png"
        top_grid(projections, patches, out / png,
                 row_labels=[f"map {row['channel']}" for row in rows],
                 heading=f"{name}: top {top} of {len(images)} examples")  # fmt: skip
        summary["files"].append(png)
        summary["layers"][name] = rows
    return summary


def _top_example(
    model: Any,
    images: np.ndarray,
    name: str,
    channel: int,
    hits: TopHits,
    rank: int,
    fields: UnitFields,
) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """The ``rank``-th example of a map: its JSON entry, projection tile and image patch."""
    from keras_blueprints.inspect.deconvnet import project
    from keras_blueprints.inspect.top import crop

    index = int(hits.indices[rank, channel])
    row, col = (int(p) for p in hits.positions[rank, channel])
    box = fields.box((row, col))
    back = project(model, images[index], name, channel)["projection"]
    hit = {"index": index, "activation": float(hits.values[rank, channel]),
           "position": [row, col], "box": list(box)}  # fmt: skip
    return hit, _norm(crop(back, box)), _norm(crop(images[index], box))
