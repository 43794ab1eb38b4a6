"""``blueprint summary FILE``: layer table with output shapes, parameters and FLOPs."""

from __future__ import annotations

import argparse

from keras_blueprints.cli import EXIT_OK, add_overrides, command


@command("summary", "build a blueprint and print its layers, output shapes, parameters and FLOPs")
def configure(parser: argparse.ArgumentParser) -> None:
    """Adds the command's arguments."""
    parser.add_argument("file", metavar="FILE", help="blueprint file or zoo:NAME")
    add_overrides(parser)


def _shape(shapes: tuple) -> str:
    text = ", ".join(str(tuple(s)).replace(",)", ")") for s in shapes)
    return text if len(shapes) == 1 else f"[{text}]"


def _flops(value: int | None) -> str:
    if value is None:
        return "?"
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if value >= size:
            return f"{value / size:.2f}{unit}"
    return str(value)


def summarize(model) -> str:
    """Returns the summary table of a built model as text.

    A model with a spatial input (an image, a sequence) gets a column more: each layer's
    receptive field and jump (:mod:`keras_blueprints.views.receptive`), e.g. ``212x212 / 32x32``.

    Args:
        model: A functional ``keras.Model``.

    Returns:
        The table, totals included.
    """
    from keras_blueprints.views.flops import model_flops
    from keras_blueprints.views.receptive import receptive_fields

    report = model_flops(model)
    fields = receptive_fields(model)
    rows = [("Layer (type)", "Output shape", "Params", "FLOPs")]
    if fields:
        rows = [(*rows[0], "Receptive field / jump")]
    for row in report.layers:
        cells = (
            f"{row.name} ({row.class_name})",
            _shape(row.output_shapes),
            f"{row.params:,}",
            _flops(row.flops),
        )
        if fields:
            field = fields.get(row.name)
            cells = (*cells, "" if field is None else str(field))
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))

    def fmt(r):
        text = f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]:>{widths[3]}}"
        return text + (f"  {r[4]:>{widths[4]}}" if len(r) > 4 else "")

    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    total = model.count_params()
    lines = [f'Model: "{model.name}"', rule, fmt(rows[0]), rule, *(fmt(r) for r in rows[1:]), rule]
    lines.append(
        f"Total params: {total:,} (trainable: {trainable:,}, non-trainable: {total - trainable:,})"
    )
    lines.append(f"FLOPs per example: {report.total:,} ({_flops(report.total)})")
    if report.unknown:
        lines.append(f"FLOPs unknown for: {', '.join(report.unknown)}")
    return "\n".join(lines)


def needs_keras(args: argparse.Namespace) -> bool:
    """Whether the command will build (so the CLI imports Keras quietly first)."""
    return True


def run(args: argparse.Namespace) -> int:
    """Builds the blueprint and prints its summary."""
    from keras_blueprints.api import build, load

    model = build(load(args.file, args.overrides, allow_read=args.allow_read), compile=False)
    print(summarize(model))
    return EXIT_OK
