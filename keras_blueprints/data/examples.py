"""What a data source returns: :class:`Examples`, arrays or an unbatched ``tf.data.Dataset``.

Small data sets (the built-in ones, ``.npz``, ``.csv``) are NumPy arrays held in
memory: they can be split by index, checked value by value, and fed to
``tf.data.Dataset.from_tensor_slices``. Sources that decode files lazily
(a folder of images, TFRecord files) return an *unbatched* dataset of
``(x_dict, y)`` pairs instead, with its size when known.

This module imports nothing heavy at import time: data sources are registered
during ``blueprint validate --no-build``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

__all__ = ["Examples"]


@dataclass(frozen=True)
class Examples:
    """A set of examples: inputs keyed by blueprint input name, and targets.

    Exactly one of ``x`` (arrays) and ``dataset`` is set.

    Attributes:
        x: Input name -> array, all with the same first (example) dimension.
        y: The targets: an array, output name -> array, or None (no labels).
        dataset: An unbatched ``tf.data.Dataset`` of ``(x_dict, y)`` pairs.
        size: Number of examples (None: unknown, for some datasets).
        classes: The names of the class ids 0, 1, ... in ``y``, when the source
            knows them (a CSV label column of names), else None.
        features: The names of the values of the one input's vector, when the source
            knows them (a CSV table's feature columns, in order), else None.
        tags: The class id of every example when the targets are something else (an
            autoencoder's digits, whose targets are the images), else None: pictures
            colour examples by it (a VAE's codes).
    """

    x: Mapping[str, Any] | None = None
    y: Any = None
    dataset: Any = None
    size: int | None = None
    classes: tuple[str, ...] | None = None
    features: tuple[str, ...] | None = None
    tags: Any = None

    @classmethod
    def from_arrays(
        cls,
        x: Mapping[str, Any],
        y: Any = None,
        *,
        classes: Sequence[str] | None = None,
        features: Sequence[str] | None = None,
        tags: Any = None,
    ) -> Examples:
        """Builds examples from arrays, checking that they all hold the same number of rows.

        Args:
            x: Input name -> array (anything ``np.asarray`` accepts).
            y: An array, a mapping of output name -> array, or None.
            classes: The names of the class ids in ``y``, if known.
            features: The names of the one input's values, if known.
            tags: The class id of every example, when the targets are not class ids.

        Returns:
            The examples.

        Raises:
            ValueError: No inputs, or arrays of different lengths.
        """
        import numpy as np

        if not x:
            raise ValueError("Expected at least one input array. Received: none")
        xs = {name: np.asarray(value) for name, value in x.items()}
        if isinstance(y, Mapping):
            y = MappingProxyType({name: np.asarray(value) for name, value in y.items()})
        elif y is not None:
            y = np.asarray(y)
        lengths = {f"x['{k}']": len(v) for k, v in xs.items()}
        if isinstance(y, Mapping):
            lengths.update({f"y['{k}']": len(v) for k, v in y.items()})
        elif y is not None:
            lengths["y"] = len(y)
        if tags is not None:
            tags = np.asarray(tags)
            lengths["tags"] = len(tags)
        if len(set(lengths.values())) > 1:
            raise ValueError(
                f"Expected every array to hold the same number of examples. Received: {lengths}"
            )
        return cls(
            x=MappingProxyType(xs),
            y=y,
            size=next(iter(lengths.values())),
            classes=None if classes is None else tuple(classes),
            features=None if features is None else tuple(features),
            tags=tags,
        )

    @classmethod
    def from_dataset(cls, dataset: Any, size: int | None = None) -> Examples:
        """Wraps an unbatched ``tf.data.Dataset`` of ``(x_dict, y)``; counts it if needed.

        Args:
            dataset: The dataset.
            size: Its number of examples, when the caller knows it.

        Returns:
            The examples, with ``size`` from the dataset's cardinality, or by
            iterating once when TensorFlow does not know it.
        """
        if size is None:
            cardinality = int(dataset.cardinality())
            size = cardinality if cardinality >= 0 else int(dataset.reduce(0, lambda n, _: n + 1))
        return cls(dataset=dataset, size=size)

    @property
    def is_arrays(self) -> bool:
        """Whether the examples are in-memory arrays (else a dataset)."""
        return self.x is not None

    def __len__(self) -> int:
        return int(self.size or 0)

    def subset(self, indices: Sequence[int] | Any) -> Examples:
        """The examples at ``indices`` (arrays only).

        Raises:
            TypeError: The examples are a dataset.
        """
        if not self.is_arrays:
            raise TypeError("subset() needs array examples; split datasets with take/skip")
        x = {name: value[indices] for name, value in self.x.items()}
        if isinstance(self.y, Mapping):
            y = {name: value[indices] for name, value in self.y.items()}
        else:
            y = None if self.y is None else self.y[indices]
        tags = None if self.tags is None else self.tags[indices]
        return Examples.from_arrays(x, y, classes=self.classes, features=self.features, tags=tags)

    def to_dataset(self) -> Any:
        """An unbatched ``tf.data.Dataset`` of ``(x_dict, y)`` (or ``x_dict`` without labels)."""
        if not self.is_arrays:
            return self.dataset
        import tensorflow as tf

        x = dict(self.x)
        if self.y is None:
            return tf.data.Dataset.from_tensor_slices(x)
        y = dict(self.y) if isinstance(self.y, Mapping) else self.y
        return tf.data.Dataset.from_tensor_slices((x, y))
