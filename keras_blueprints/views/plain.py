"""A resolved blueprint written back as plain YAML that rebuilds the same model.

Every node is explicit: its name, its layer (or Python block) with all its
arguments, and where its inputs come from. No parameters, repeats or YAML
blocks are left, so the text is also the clearest record of what was built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from keras_blueprints.resolve.schema import (
    Blueprint,
    DataSpec,
    NestedLayer,
    Node,
    Ref,
    SourceSpec,
    TrainSpec,
    thaw,
)

__all__ = ["dump", "to_plain"]


def _ref(ref: Ref) -> str:
    return str(ref)


def _value(value: Any) -> Any:
    if isinstance(value, NestedLayer):
        return {value.type: {k: _value(v) for k, v in thaw(value.args).items()}}
    if isinstance(value, Mapping):
        return {k: _value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_value(v) for v in value]
    return value


def _node(node: Node) -> dict[str, Any]:
    out: dict[str, Any] = {"name": node.name}
    if node.kind == "share":
        out["share"] = node.share
    else:
        out[node.type] = _value(node.args)
    refs = [_ref(r) for r in node.inputs]
    if node.call_inputs:
        frm: dict[str, Any] = {"inputs": refs if len(refs) != 1 else refs[0]}
        for key, value in node.call_inputs.items():
            frm[key] = [_ref(r) for r in value] if isinstance(value, tuple) else _ref(value)
        out["from"] = frm
    else:
        out["from"] = refs if len(refs) != 1 else refs[0]
    return out


def to_plain(blueprint: Blueprint) -> dict[str, Any]:
    """Returns the resolved blueprint as plain data (the shape of a blueprint file).

    Args:
        blueprint: A resolved blueprint.

    Returns:
        A mapping with ``name``, ``inputs``, ``graph``, ``outputs`` and ``compile``.
    """
    data: dict[str, Any] = {"name": blueprint.name}
    if blueprint.description:
        data["description"] = blueprint.description
    data["inputs"] = {}
    for spec in blueprint.inputs:
        entry: dict[str, Any] = {"shape": list(spec.shape), "dtype": spec.dtype}
        if spec.batch_size is not None:
            entry["batch_size"] = spec.batch_size
        if spec.sparse:
            entry["sparse"] = True
        data["inputs"][spec.name] = entry
    data["graph"] = [_node(n) for n in blueprint.nodes]
    data["outputs"] = [_ref(r) for r in blueprint.outputs]
    spec = blueprint.compile
    if spec is not None:
        section: dict[str, Any] = {
            "optimizer": {spec.optimizer: _value(spec.optimizer_args)}
            if spec.optimizer_args
            else spec.optimizer
        }
        for key in ("loss", "metrics", "loss_weights"):
            value = getattr(spec, key)
            if value is not None:
                section[key] = _value(value)
        section.update(_value(spec.extra))
        data["compile"] = section
    if blueprint.models:
        data["models"] = {
            sub.name: {
                "inputs": {name: _ref(ref) for name, ref in sub.inputs},
                "outputs": [_ref(r) for r in sub.outputs],
            }
            for sub in blueprint.models
        }
    if blueprint.data is not None:
        data["data"] = _data(blueprint.data)
    if blueprint.train is not None:
        data["train"] = _train(blueprint.train)
    for key in ("tune", "runtime"):
        spec = getattr(blueprint, key)
        if spec is not None:
            data[key] = {
                field: _value(getattr(spec, field))
                for field in type(spec).model_fields
                if field != "location" and getattr(spec, field) not in (None, ())
            }
    return data


def _source(spec: SourceSpec | float | None) -> Any:
    if isinstance(spec, SourceSpec):
        return {spec.kind: _value(spec.args)}
    return spec


def _data(spec: DataSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("source", "validation", "test"):
        value = getattr(spec, key)
        if value is not None:
            out[key] = _source(value)
    out.update(
        batch_size=spec.batch_size,
        shuffle=spec.shuffle,
        cache=spec.cache,
        label_noise=spec.label_noise,
    )
    return out


def _train(spec: TrainSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"epochs": spec.epochs, "seed": spec.seed}
    if spec.steps_per_epoch is not None:
        out["steps_per_epoch"] = spec.steps_per_epoch
    if spec.monitor is not None:
        out["monitor"] = spec.monitor
    out["deterministic"] = spec.deterministic
    if spec.callbacks:
        out["callbacks"] = [{c.name: _value(c.args)} for c in spec.callbacks]
    if spec.pretrain is not None:
        pre = spec.pretrain
        out["pretrain"] = {
            "pairs": [list(p) for p in pre.pairs],
            "epochs": pre.epochs,
            "noise": pre.noise,
            "loss": pre.loss,
        }
        if pre.method != "autoencoder":  # the default is left unwritten, as before methods existed
            out["pretrain"].update(
                method=pre.method,
                cd_k=pre.cd_k,
                learning_rate=pre.learning_rate,
                momentum=pre.momentum,
            )
    if spec.rule.name != "backprop":  # the default is left unwritten, as before rules existed
        rule = spec.rule
        out["rule"] = {rule.name: _value(rule.args)} if rule.args else rule.name
    return out


class _Dumper(yaml.SafeDumper):
    """Block style for the structure, flow style for argument mappings and short lists."""


def _represent_dict(dumper: yaml.SafeDumper, data: dict) -> yaml.Node:
    # Argument mappings (scalars and short lists only) read best on one line.
    flow = bool(data) and len(data) <= 8 and all(_short(v) for v in data.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


def _short(value: Any) -> bool:
    if isinstance(value, dict):
        return False
    if isinstance(value, list):
        return len(value) <= 8 and all(not isinstance(v, dict | list) for v in value)
    return True


def _represent_list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=_short(data))


_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(list, _represent_list)


def dump(blueprint: Blueprint | Mapping[str, Any]) -> str:
    """Returns the resolved blueprint as YAML text.

    Args:
        blueprint: A resolved blueprint, or plain data from :func:`to_plain`.

    Returns:
        YAML that :func:`keras_blueprints.load` reads back into an equal blueprint.
    """
    data = to_plain(blueprint) if isinstance(blueprint, Blueprint) else dict(blueprint)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
