"""The graph being written: nodes, initializers, and values with their shapes in two traces.

Export traces a model twice, with the dynamic axes of the inputs at two different sizes. A dimension
that differs between the traces is dynamic; everything an emitter writes that depends on such a
dimension (a Reshape target, the shape of a zero state) is computed in the graph from ``Shape`` of a
value that has that dimension, so one file runs at every batch size and sequence length.
"""
import numpy as np

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


class ExportError(RuntimeError):
    """A model, layer or operation that shendu cannot write as ONNX; the message names which."""


class Value:
    """A tensor of the graph: its ONNX name, its shape in trace A and in trace B, and its dtype."""

    __slots__ = ("name", "shape", "shape_b", "dtype", "param")

    def __init__(self, name, shape, shape_b, dtype, param=None):
        self.name, self.shape, self.shape_b = name, tuple(shape), tuple(shape_b)
        self.dtype, self.param = np.dtype(dtype), param

    @property
    def ndim(self):
        return len(self.shape)

    def dynamic(self, i):
        return self.shape[i] != self.shape_b[i]

    def __repr__(self):
        return f"Value({self.name!r}, {self.shape}/{self.shape_b}, {self.dtype})"


class Const:
    """A value computed without the inputs (a Python number, an array made inside forward)."""

    __slots__ = ("array", "array_b")

    def __init__(self, array, array_b):
        self.array, self.array_b = np.asarray(array), np.asarray(array_b)

    @property
    def shape(self):
        return self.array.shape

    @property
    def shape_b(self):
        return self.array_b.shape

    @property
    def dtype(self):
        return self.array.dtype

    @property
    def ndim(self):
        return self.array.ndim

    def dynamic(self, i):
        return self.array.shape[i] != self.array_b.shape[i]


class Graph:
    def __init__(self, opset):
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.opset = opset
        self.nodes = []
        self.initializers = []
        self.used = set()
        self.node_names = set()
        self.scope = ""
        self.where = ""  # "layer 'conv1' (Conv2d)" for error messages
        self.values = []  # traced values in creation order (graph inputs first), for Shape lookups
        self._shape_of = {}
        self._dims = {}
        self._consts = {}

    # ----- names --------------------------------------------------------------------------------
    def fresh(self, base):
        base = base or "v"
        name, k = base, 0
        while name in self.used:
            k += 1
            name = f"{base}_{k}"
        self.used.add(name)
        return name

    def _out_base(self, op):
        return f"{self.scope}/{op}" if self.scope else op

    def node(self, op, inputs, n_out=1, outputs=None, **attrs):
        """Append one node; return its output name (or a list of names when n_out != 1)."""
        if outputs is None:
            outputs = [self.fresh(self._out_base(op) + ("_output" if n_out == 1 else f"_output{i}"))
                       for i in range(n_out)]
        base, k = self._out_base(op), 0
        name = base
        while name in self.node_names:
            k += 1
            name = f"{base}_{k}"
        self.node_names.add(name)
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(self.helper.make_node(op, list(inputs), list(outputs), name=name, **attrs))
        return outputs[0] if n_out == 1 else list(outputs)

    # ----- constants ----------------------------------------------------------------------------
    def initializer(self, array, name):
        name = self.fresh(name)
        array = np.ascontiguousarray(array)
        self.initializers.append(self.numpy_helper.from_array(array, name))
        return name

    def const(self, array, dtype=None, name=None):
        """An initializer holding ``array`` (small ones are shared by value)."""
        array = np.asarray(array, dtype=dtype)
        key = None
        if array.size <= 16:
            key = (array.dtype.str, array.shape, array.tobytes())
            if key in self._consts:
                return self._consts[key]
        out = self.initializer(array, name or self._const_name())
        if key is not None:
            self._consts[key] = out
        return out

    def _const_name(self):
        return (self.scope + "." if self.scope else "") + "const"

    def ints(self, values):
        return self.const(np.asarray(list(values), dtype=np.int64))

    # ----- shapes -------------------------------------------------------------------------------
    def shape_of(self, value):
        if value.name not in self._shape_of:
            self._shape_of[value.name] = self.node("Shape", [value.name])
        return self._shape_of[value.name]

    def dim(self, a, b, prefer=None):
        """A 1-D int64 tensor holding the dynamic dimension that is ``a`` in trace A and ``b`` in B."""
        candidates = ([prefer] if prefer is not None else []) + list(self.values)
        for v in candidates:
            for j, (x, y) in enumerate(zip(v.shape, v.shape_b)):
                if x == a and y == b:
                    key = (v.name, j)
                    if key not in self._dims:
                        self._dims[key] = self.node("Gather", [self.shape_of(v), self.ints([j])], axis=0)
                    return self._dims[key]
        return None

    def shape_tensor(self, shape_a, shape_b, prefer=None, what="shape"):
        """A 1-D int64 tensor for a shape whose dynamic entries are found as dims of traced values."""
        if tuple(shape_a) == tuple(shape_b):
            return self.ints(shape_a)
        pieces, static = [], []
        for a, b in zip(shape_a, shape_b):
            if a == b:
                static.append(a)
                continue
            d = self.dim(a, b, prefer)
            if d is None:
                raise ExportError(f"{self.where}: the {what} {tuple(shape_a)} has an entry ({a}) that "
                                  "changes with the input's dynamic axes but is none of their sizes")
            if static:
                pieces.append(self.ints(static))
                static = []
            pieces.append(d)
        if static:
            pieces.append(self.ints(static))
        return pieces[0] if len(pieces) == 1 else self.node("Concat", pieces, axis=0)

    def name_of(self, x, dtype=None):
        """The ONNX name of a Value or Const (a Const becomes an initializer, or ConstantOfShape when
        its shape depends on a dynamic axis), cast to ``dtype`` when given and different."""
        if isinstance(x, Value):
            if dtype is not None and np.dtype(dtype) != x.dtype:
                return self.cast(x.name, dtype)
            return x.name
        arr = x.array if dtype is None else x.array.astype(dtype)
        if x.array.shape == x.array_b.shape:
            return self.const(arr)
        flat = arr.reshape(-1)
        flat_b = x.array_b.reshape(-1)
        if flat.size and np.all(flat == flat[0]) and flat_b.size and np.all(flat_b == flat_b[0]):
            shape = self.shape_tensor(x.array.shape, x.array_b.shape, what="shape of a constant")
            value = self.numpy_helper.from_array(np.asarray([flat[0]], dtype=arr.dtype), "value")
            return self.node("ConstantOfShape", [shape], value=value)
        raise ExportError(f"{self.where}: an array made inside forward() (or computed from the input "
                          f"outside shendu's operations) has shape {x.array.shape} that depends on the "
                          "input's dynamic axes and is not filled with one value; build it with tensor "
                          "operations")

    def cast(self, name, dtype):
        return self.node("Cast", [name], to=self.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))
