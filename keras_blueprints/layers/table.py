"""A 2D convolution with a connection table: each output map sees a fixed subset of input maps.

LeNet-5's C3 layer (LeCun et al., 1998, Table I) does not connect each of its
16 feature maps to all 6 maps of S2. Maps 0-5 see 3 neighbouring S2 maps,
6-11 see 4 neighbouring ones, 12-14 see 4 non-neighbouring ones and map 15
sees all 6. The paper gives two reasons: fewer connections (1,516 parameters
instead of 2,416) and, above all, *broken symmetry*: maps that look at
different inputs are pushed to learn different, complementary features, where
fully connected maps tend to learn look-alike ones.

:class:`TableConv2D` stores only the connected kernels, so its parameter count
is the table's: ``kh * kw * connections + filters`` (bias). Inside ``call``,
the full ``(kh, kw, in_maps, filters)`` kernel is assembled by a gather from the
stored weights and a zero (for every pair the table leaves out), then applied
as one dense convolution: the missing connections are exactly zero and get no
gradient.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import activations, initializers, ops

from keras_blueprints.layers import builtin_layer

__all__ = ["LENET5_C3_TABLE", "TableConv2D"]

LENET5_C3_TABLE = (
    (0, 1, 2),
    (1, 2, 3),
    (2, 3, 4),
    (3, 4, 5),
    (0, 4, 5),
    (0, 1, 5),
    (0, 1, 2, 3),
    (1, 2, 3, 4),
    (2, 3, 4, 5),
    (0, 3, 4, 5),
    (0, 1, 4, 5),
    (0, 1, 2, 5),
    (0, 1, 3, 4),
    (1, 2, 4, 5),
    (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)
"""LeNet-5's C3 table (LeCun et al., 1998, Table I): the S2 maps each of C3's 16 maps sees."""


def _check_table(table) -> tuple[tuple[int, ...], ...]:
    if isinstance(table, str):
        if table != "lenet5":
            raise ValueError(
                "Expected 'table' to be 'lenet5' or a list of lists of input map indices. "
                f"Received: table={table!r}"
            )
        return LENET5_C3_TABLE
    rows = []
    for row in table if isinstance(table, list | tuple) else [None]:
        if not isinstance(row, list | tuple) or not row:
            raise ValueError(
                "Expected 'table' to be a list with, for each output map, a non-empty list "
                f"of input map indices. Received: table={table!r}"
            )
        for index in row:
            if not isinstance(index, int) or isinstance(index, bool) or index < 0:
                raise ValueError(
                    "Expected the input map indices of 'table' to be integers >= 0. "
                    f"Received: {index!r} in table={table!r}"
                )
        if len(set(row)) != len(row):
            raise ValueError(f"Expected no repeated index in a row of 'table'. Received: {row!r}")
        rows.append(tuple(row))
    return tuple(rows)


@builtin_layer
class TableConv2D(keras.layers.Layer):
    """A 2D convolution whose output maps each see a fixed subset of the input maps.

    One output map per row of ``table``; row ``j`` lists the input maps that
    map ``j`` sees. Only the connected ``kernel_size`` kernels are weights (the
    ``kernel`` variable has shape ``(kh, kw, connections)``), so the layer has
    ``kh * kw * connections + filters`` parameters; a table with every map in
    every row is an ordinary ``Conv2D``. Channels last, stride 1.

    Args:
        table: ``"lenet5"`` (LeNet-5's C3 table, 16 maps over 6) or a list with,
            for each output map, the list of input maps it sees.
        kernel_size: The kernel's size, a number or ``[height, width]``.
        padding: ``valid`` (LeNet-5's) or ``same``.
        activation: The activation applied to the output (``tanh`` in LeNet-5).
        use_bias: Whether each output map has a bias.
        kernel_initializer: Initializer of the connected kernels.
        bias_initializer: Initializer of the bias.
        **kwargs: Base layer arguments (``name``, ``dtype``...).

    Example::

        - name: c3
          TableConv2D: {table: lenet5, kernel_size: 5, activation: tanh}
    """

    EXAMPLE_ARGS = {"table": [[0], [0, 1]], "kernel_size": 3}

    def __init__(
        self,
        table="lenet5",
        kernel_size=5,
        padding="valid",
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.table = _check_table(table)
        self.table_name = table if isinstance(table, str) else None
        sizes = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        if (
            not isinstance(sizes, list | tuple)
            or len(sizes) != 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sizes)
        ):
            raise ValueError(
                "Expected 'kernel_size' to be a positive integer or two of them. "
                f"Received: kernel_size={kernel_size!r}"
            )
        if padding not in ("valid", "same"):
            raise ValueError(
                f"Expected 'padding' to be 'valid' or 'same'. Received: padding={padding!r}"
            )
        self.kernel_size = tuple(sizes)
        self.padding = padding
        self.filters = len(self.table)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.connections = sum(len(row) for row in self.table)

    def connection_matrix(self, in_maps: int) -> np.ndarray:
        """The table as a 0/1 matrix of shape ``(in_maps, filters)``."""
        matrix = np.zeros((in_maps, self.filters), "int32")
        for j, row in enumerate(self.table):
            matrix[list(row), j] = 1
        return matrix

    def build(self, input_shape):
        """Creates the connected kernels and the bias; checks the table against the input."""
        in_maps = input_shape[-1]
        highest = max(max(row) for row in self.table)
        if in_maps is None or highest >= in_maps:
            raise ValueError(
                f"Expected an input with more than {highest} channels (the table's highest "
                f"input map). Received: input shape {tuple(input_shape)}"
            )
        # Position of each (input map, output map) pair in the stored kernels, 0 for none.
        index = np.zeros((in_maps, self.filters), "int32")
        position = 1
        for j, row in enumerate(self.table):
            for i in row:
                index[i, j] = position
                position += 1
        self._index = index
        self.kernel = self.add_weight(
            shape=(*self.kernel_size, self.connections),
            name="kernel",
            initializer=self.kernel_initializer,
        )
        self.bias = (
            self.add_weight(shape=(self.filters,), name="bias", initializer=self.bias_initializer)
            if self.use_bias
            else None
        )

    def full_kernel(self):
        """The ``(kh, kw, in_maps, filters)`` kernel, zero where the table has no connection."""
        zero = ops.zeros((*self.kernel_size, 1), dtype=self.kernel.dtype)
        stored = ops.concatenate([zero, self.kernel], axis=-1)
        return ops.take(stored, ops.convert_to_tensor(self._index), axis=-1)

    def call(self, inputs):
        """Convolves ``inputs`` with the assembled kernel, adds the bias, applies the activation."""
        y = ops.conv(inputs, self.full_kernel(), strides=1, padding=self.padding)
        if self.use_bias:
            y = y + self.bias
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        """``(batch, h', w', filters)``."""
        spatial = []
        for n, k in zip(input_shape[1:3], self.kernel_size, strict=True):
            spatial.append(None if n is None else n if self.padding == "same" else n - k + 1)
        return (input_shape[0], *spatial, self.filters)

    def get_config(self):
        """The constructor's arguments."""
        table = self.table_name or [list(row) for row in self.table]
        return {
            **super().get_config(),
            "table": table,
            "kernel_size": list(self.kernel_size),
            "padding": self.padding,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
        }
