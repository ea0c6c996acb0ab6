"""ONNX file -> :class:`~compiler.graph.Graph` with a static shape for every value.

Estimation needs shapes, not weights, so the model is read without its external data: a model saved
with external weights whose data file is absent imports exactly like the full model. Dynamic input
dims (``dim_param`` names, ``-1``, ``0``, missing) are pinned by ``input_shapes``; a symbol pinned on
one input (``batch``, ``sequence``) pins the same symbol on the others.

Shapes are inferred node by node in topological order with our own rules (:mod:`compiler.ops.shapes`),
falling back to ONNX's per-node inference for operators we have no rule for. Whenever all inputs of
a node are known at compile time, its values are computed too (with :mod:`compiler.kernels`): that is what
turns PyTorch's and Paddle's ``Shape -> Gather -> Unsqueeze -> Concat -> Reshape`` chains into static
shapes. ``If`` nodes whose condition folds are inlined; other control flow is an error.

Every failure is a one-line :class:`~hwsim.core.errors.UserError`.

>>> from compiler.zoo import resnet18
>>> g = load_model(resnet18())
>>> g.shape(g.outputs[0])
(1, 1000)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import AttributeProto, TensorProto, numpy_helper
from onnx.external_data_helper import uses_external_data

from hwsim.core.errors import UserError, shown
from hwsim.core.files import read_bytes
from hwsim.core.limits import available_memory
from hwsim.core.workload import Skipped

from .graph import Graph, Node, TensorInfo
from .kernels import KERNELS, SHAPE_ONLY, evaluate
from .ops import ShapeError
from .ops.gemm import einsum_terms
from .ops import shapes as shape_rules
from .ops.dtypes import numpy_to_onnx, onnx_to_numpy

__all__ = ["DeclaredInput", "declared_inputs", "dims_text", "load_model", "read_model", "parse_input_shape", "parse_input_shapes",
           "parse_input_values", "named_arguments", "NON_TENSOR_OPS"]

#: Initializers up to this many elements are converted to numpy even without ``load_weights``:
#: shape tensors, scalars, quantization parameters.
SMALL_TENSOR = 4096
#: Without ``load_weights``, folded values larger than this are not materialized (shapes still are).
FOLD_LIMIT = 1 << 20

_CONTROL_FLOW = {"Scan"}
#: Operators on sequences and optionals: hwsim's graph holds tensors only, so these are unsupported
#: (and, with ``allow_unsupported``, skipped when no tensor of the rest of the graph depends on them).
NON_TENSOR_OPS = frozenset({
    "SequenceConstruct", "SequenceEmpty", "SequenceAt", "SequenceInsert", "SequenceErase", "SequenceLength",
    "SplitToSequence", "ConcatFromSequence", "SequenceMap", "Optional", "OptionalGetElement", "OptionalHasElement",
})
#: Most elements an ``--input-value`` may pin: these are shape-like inputs, not data.
MAX_INPUT_VALUE = 64
#: Most iterations a Loop is unrolled to.
MAX_UNROLL = 1024
#: An operator name, as the ONNX IR defines it: an identifier (and no screen-long one).
_OP_TYPE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
#: Largest opset version believed: ONNX is at 2x; anything past this is a corrupt file.
MAX_OPSET = 1000
#: Largest model file read: protobuf cannot parse a message over 2 GiB (larger weights live in external data).
MAX_MODEL_BYTES = (2 << 30) - 1
#: What a kernel raises on inputs it cannot evaluate; folding then leaves the values to run time.
_FOLD_ERRORS = (ValueError, TypeError, IndexError, KeyError, ZeroDivisionError, OverflowError, NotImplementedError,
                ShapeError)


def parse_input_shape(text: str) -> tuple[str, tuple[int, ...]]:
    """Parse the command-line form ``NAME=1x3x224x224`` (``NAME=`` alone is a scalar).

    >>> parse_input_shape("input_ids=1x128")
    ('input_ids', (1, 128))
    """
    name, sep, dims = text.rpartition("=")
    example = "e.g. --input-shape input=1x3x224x224"
    if not sep or not name:
        raise UserError(f"--input-shape {text!r}: expected NAME=DIMxDIMx..., {example}")
    if not dims:
        return name, ()
    parts = dims.lower().split("x")
    if not all(re.fullmatch(r"[0-9]+", p) for p in parts) or any(int(p) < 1 for p in parts):
        raise UserError(f"--input-shape {text!r}: dims must be positive integers separated by 'x', {example}")
    return name, tuple(int(p) for p in parts)


def parse_input_shapes(texts: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """Parse repeated ``--input-shape`` values; naming one input twice is an error."""
    shapes: dict[str, tuple[int, ...]] = {}
    for text in texts:
        name, dims = parse_input_shape(text)
        if name in shapes:
            raise UserError(f"--input-shape names input '{name}' twice")
        shapes[name] = dims
    return shapes


def named_arguments(texts: Sequence[str], flag: str, form: str, example: str) -> list[tuple[str, str]]:
    """``(name, value)`` of repeated ``flag NAME=VALUE`` arguments; a malformed one or a name given
    twice is a UserError showing ``form`` and ``example``."""
    out: dict[str, str] = {}
    for text in texts:
        name, sep, body = text.partition("=")
        if not sep or not name or not body:
            raise UserError(f"{flag} {text!r}: expected {form}, {example}")
        if name in out:
            raise UserError(f"{flag} names input '{shown(name, 40)}' twice")
        out[name] = body
    return list(out.items())


def parse_input_values(texts: Sequence[str]) -> dict[str, np.ndarray]:
    """Parse repeated ``--input-value NAME=1,3,224,224`` values (a shape-like input's run-time value).

    >>> parse_input_values(["shape=1,3,224,224"])["shape"].tolist()
    [1, 3, 224, 224]
    """
    values: dict[str, np.ndarray] = {}
    example = "e.g. --input-value shape=1,3,224,224"
    for name, body in named_arguments(texts, "--input-value", "NAME=V,V,...", example):
        text = f"{name}={body}"
        parts = [p.strip() for p in body.split(",")]
        try:
            numbers = [int(p) for p in parts] if all(re.fullmatch(r"-?[0-9]+", p) for p in parts) \
                else [float(p) for p in parts]
        except ValueError:
            raise UserError(f"--input-value {text!r}: values must be numbers separated by ',', {example}") from None
        if len(numbers) > MAX_INPUT_VALUE:
            raise UserError(f"--input-value {shown(name, 40)}: {len(numbers)} values; it pins small shape-like inputs"
                            f" (up to {MAX_INPUT_VALUE} values), give data inputs to 'hwsim run --input'")
        values[name] = np.array(numbers)
    return values


def load_model(
    source: str | Path | onnx.ModelProto,
    *,
    input_shapes: Mapping[str, tuple[int, ...]] | None = None,
    input_values: Mapping[str, np.ndarray] | None = None,
    load_weights: bool = False,
    allow_unsupported: bool = False,
) -> Graph:
    """Import an ONNX model (path or ``ModelProto``) as a :class:`Graph` with static shapes.

    ``input_shapes`` pins graph inputs (``{"input_ids": (1, 128)}``); ``input_values`` pins the value
    of small shape-like inputs (``{"shape": np.array([1, 3, 224, 224])}``), so that what depends on
    them folds. With ``load_weights`` every initializer's data is loaded (external data from next to
    the file) into ``Graph.constants``; otherwise only small tensors are, which is all estimation
    needs. With ``allow_unsupported`` operators on sequences (:data:`NON_TENSOR_OPS`) are left out
    and listed in ``Graph.skipped`` instead of stopping the import. A model read from a file is named
    after the file (exporters name every graph alike: PyTorch's are all ``main_graph``).
    """
    model, label, base_dir = read_model(source)
    importer = _Importer(model, label, base_dir, load_weights, allow_unsupported)
    return importer.run(dict(input_shapes or {}), dict(input_values or {}))


def read_model(source: str | Path | onnx.ModelProto) -> tuple[onnx.ModelProto, str, str]:
    """``(model, label, folder)``: an ONNX model read from a file (within the size limits) or given,
    every problem a one-line :class:`UserError`."""
    if isinstance(source, onnx.ModelProto):
        model, label, base_dir = source, shown(source.graph.name or "model"), ""
    else:
        path = Path(source)
        label = shown(path)
        if not _exists(path):
            raise UserError(f"{label}: no such file; give the path of an ONNX model (.onnx)")
        if path.is_dir():
            raise UserError(f"{label}: is a directory, not an ONNX model file")
        # Parsing takes several times the file's size; a device or a huge file is refused, not read.
        data = read_bytes(path, "ONNX model", min(MAX_MODEL_BYTES, available_memory() // 4))
        model = onnx.ModelProto()
        try:
            model.ParseFromString(data)
        except (DecodeError, ValueError, RuntimeError):
            raise UserError(f"{label}: not a valid ONNX model (corrupt, truncated or not an ONNX protobuf file)") from None
        base_dir = str(path.parent)
    if model.ir_version < 1 or not model.HasField("graph") or not model.graph.output:
        raise UserError(f"{label}: not an ONNX model (no graph with outputs; is it truncated or another format?)")
    return model, label, base_dir


@dataclass(frozen=True)
class DeclaredInput:
    """A run-time input as the model declares it: ``dtype`` a numpy dtype name (``"?"`` when numpy has
    none), ``dims`` ``None`` for an unknown rank, else one entry per axis: an int, a symbol
    (``"batch"``) or ``None`` for an unnamed dynamic dim."""

    name: str
    dtype: str
    dims: tuple[int | str | None, ...] | None

    @property
    def dynamic(self) -> bool:
        return self.dims is None or not all(isinstance(d, int) for d in self.dims)


def _exists(path: Path) -> bool:
    """``path.exists()``, false rather than an error for a name the system cannot look up (too long)."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _declared(vi: onnx.ValueInfoProto, label: str) -> DeclaredInput:
    if not vi.type.HasField("tensor_type"):
        raise UserError(f"{label}: input '{shown(vi.name, 60)}' is not a tensor (sequences and maps are not supported)")
    tt = vi.type.tensor_type
    try:
        dtype = onnx_to_numpy(tt.elem_type)
    except ShapeError:
        dtype = "?"
    if not tt.HasField("shape"):
        return DeclaredInput(vi.name, dtype, None)
    dims: list[int | str | None] = []
    for d in tt.shape.dim:
        if d.HasField("dim_value") and d.dim_value > 0:
            dims.append(int(d.dim_value))
        elif d.HasField("dim_param") and d.dim_param and d.dim_param != "?":
            if type(d.dim_param) is not str:
                raise UserError(f"{label}: not a valid ONNX model (names that are not UTF-8 text; is the file corrupt?)")
            dims.append(d.dim_param)
        else:
            dims.append(None)
    return DeclaredInput(vi.name, dtype, tuple(dims))


def declared_inputs(source: str | Path | onnx.ModelProto) -> list[DeclaredInput]:
    """The model's run-time inputs (graph inputs that are not initializers), as declared, in order."""
    model, label, _ = read_model(source)
    initializers = {t.name for t in model.graph.initializer}
    return [_declared(vi, label) for vi in model.graph.input if vi.name not in initializers]


def dims_text(dims: Sequence[int | str | None] | None) -> str:
    """``[batch, 3, ?, ?]``: declared dims as the error messages show them."""
    if dims is None:
        return "of unknown rank"
    return "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"


def _attr_value(attr: AttributeProto, where: str) -> object:
    kind = attr.type
    if kind == AttributeProto.INT:
        return int(attr.i)
    if kind == AttributeProto.FLOAT:
        return float(attr.f)
    if kind == AttributeProto.STRING:
        return attr.s.decode("utf-8", "replace")
    if kind == AttributeProto.INTS:
        return tuple(int(v) for v in attr.ints)
    if kind == AttributeProto.FLOATS:
        return tuple(float(v) for v in attr.floats)
    if kind == AttributeProto.STRINGS:
        return tuple(s.decode("utf-8", "replace") for s in attr.strings)
    if kind == AttributeProto.TENSOR:
        if uses_external_data(attr.t):
            raise UserError(f"{where}: attribute '{shown(attr.name, 40)}' stores its tensor in an external file, which"
                            " is only supported for Constant nodes")
        return _tensor_value(attr.t, f"{where}: attribute '{shown(attr.name, 40)}'")
    if kind in (AttributeProto.GRAPH, AttributeProto.GRAPHS):
        raise UserError(f"{where}: subgraph attribute '{shown(attr.name, 40)}': control flow is not supported"
                        " (only If with a condition that folds to a constant)")
    return None  # sparse tensors and type protos carry nothing the estimate uses


def _tensor_value(tensor: TensorProto, where: str) -> np.ndarray:
    """A tensor's values, or a UserError when its data does not match its dims or type."""
    dims = tuple(int(d) for d in tensor.dims)
    if any(d < 0 for d in dims):
        raise UserError(f"{where}: tensor dims {list(dims)} are negative")
    try:
        return numpy_helper.to_array(tensor).reshape(dims)
    except MemoryError:
        raise UserError(f"{where}: tensor of dims {list(dims)} does not fit in memory") from None
    except Exception as exc:  # noqa: BLE001 - onnx raises ValueError, TypeError, UnicodeDecodeError ... on corrupt data
        raise UserError(f"{where}: tensor data does not match its dims {shown(list(dims), 30)}"
                        f" ({shown(exc, 40)})") from None


def _example(dims: Sequence[int | None] | None) -> str:
    """A plausible pin for the error message: batch 1, image 224 for 4-D inputs, sequence 128 otherwise."""
    if dims is None:
        return "1x3x224x224"
    fill = 224 if len(dims) == 4 else 128
    return "x".join(str(d if d is not None else (1 if i == 0 else fill)) for i, d in enumerate(dims))


def _check_einsum(node: Node, ins: Sequence[TensorInfo | None], where: str) -> None:
    """Every operand present and each letter one size (ONNX's own inference checks neither)."""
    if not ins or any(i is None for i in ins):
        raise UserError(f"{where}: every Einsum operand must be given")
    equation = node.attr("equation")
    if not isinstance(equation, str):
        raise UserError(f"{where}: Einsum needs a string attribute 'equation'")
    try:
        terms, _ = einsum_terms(equation, [len(i.shape) for i in ins])  # type: ignore[union-attr]
    except ShapeError as exc:
        raise UserError(f"{where}: {shown(exc, 80)}") from None
    sizes: dict[str, int] = {}
    for term, info in zip(terms, ins):
        assert info is not None
        if len(term) != len(info.shape):
            raise UserError(f"{where}: Einsum term '{shown(term, 20)}' does not fit an operand of shape"
                            f" {shown(list(info.shape), 30)}")
        for letter, size in zip(term, info.shape):
            known = sizes.setdefault(letter, size)
            broadcast = letter not in equation and 1 in (known, size)  # only '...' axes broadcast
            if known != size and not broadcast:
                raise UserError(f"{where}: Einsum letter '{letter}' is {known} in one operand and {size} in another")
            sizes[letter] = max(known, size)


def _schema(op_type: str, opset: int, domain: str) -> onnx.defs.OpSchema | None:
    try:
        return _SCHEMAS[op_type, opset, domain]
    except KeyError:
        pass
    try:
        schema = onnx.defs.get_schema(op_type, opset, domain)
    except onnx.defs.SchemaError:
        schema = None
    _SCHEMAS[op_type, opset, domain] = schema
    return schema


_SCHEMAS: dict[tuple[str, int, str], onnx.defs.OpSchema | None] = {}


def _dims(shape: Sequence[object], where: str, out: str) -> tuple[int, ...]:
    """An inferred shape as non-negative ints (a NaN or negative dim means the node's attributes are invalid)."""
    try:
        dims = tuple(int(d) for d in shape)  # type: ignore[call-overload]
    except (ValueError, TypeError, OverflowError):
        dims = ()
        bad = True
    else:
        bad = any(d < 0 for d in dims)
    if bad:
        raise UserError(f"{where}: output '{shown(out, 40)}' gets the invalid shape {shown(list(shape), 30)}; check"
                        " the node's attributes and input shapes")
    return dims


class _Importer:
    def __init__(self, model: onnx.ModelProto, label: str, base_dir: str, load_weights: bool,
                 allow_unsupported: bool = False) -> None:
        self.model = model
        self.allow_unsupported = allow_unsupported
        self.skipped: list[Skipped] = []
        #: Outputs of skipped nodes -> the node that would have made them.
        self.unavailable: dict[str, str] = {}
        #: Value name -> the inputs of the node that made it (to trace run-time values to graph inputs).
        self.sources: dict[str, tuple[str, ...]] = {}
        self.input_names: set[str] = set()
        self.label = label
        self.base_dir = base_dir
        self.load_weights = load_weights
        self.fold_limit = None if load_weights else FOLD_LIMIT
        self.opsets = {(o.domain or ""): o.version for o in model.opset_import}
        for domain, version in self.opsets.items():
            if not 0 <= version <= MAX_OPSET:
                raise UserError(f"{label}: opset version {version} of domain '{shown(domain or 'ai.onnx', 40)}' is not"
                                f" a valid ONNX opset (0 to {MAX_OPSET}); is the file corrupt?")
        if "ai.onnx" in self.opsets:
            self.opsets.setdefault("", self.opsets["ai.onnx"])
        self.opset = self.opsets.get("", 1)
        self.infos: dict[str, TensorInfo] = {}
        self.values: dict[str, np.ndarray] = {}
        self.weights: set[str] = set()
        self.nodes: list[Node] = []
        self.node_names: set[str] = set()
        self.declared: dict[str, onnx.TypeProto] = {}

    # ---------------------------------------------------------------------------------- driver

    def run(self, input_shapes: dict[str, tuple[int, ...]], input_values: dict[str, np.ndarray] | None = None) -> Graph:
        graph = self.model.graph
        self._check_text(graph.name, *(vi.name for vi in graph.input), *(vi.name for vi in graph.output),
                         *(vi.name for vi in graph.value_info), *(o.domain for o in self.model.opset_import))
        for vi in list(graph.value_info) + list(graph.output):
            self.declared[vi.name] = vi.type
        for tensor in graph.initializer:
            self._add_initializer(tensor, {}, "")
        inputs = [vi for vi in graph.input if vi.name not in self.infos]
        self._add_inputs(inputs, input_shapes, input_values or {})
        with np.errstate(all="ignore"):  # folding arbitrary constants must not warn
            self._visit(graph.node, {}, "")
        # Outputs of skipped nodes are not estimated: the rest of the graph is.
        outputs = tuple(vi.name for vi in graph.output if vi.name not in self.unavailable)
        for name in outputs:
            if name not in self.infos:
                raise UserError(f"{self.label}: graph output '{shown(name, 60)}' is not produced by any node (incomplete model?)")
        return Graph(
            name=Path(self.label).stem if self.base_dir else graph.name or "model",
            inputs=tuple(vi.name for vi in inputs),
            outputs=outputs,
            nodes=tuple(self.nodes),
            tensors=self.infos,
            constants=self.values,
            weights=frozenset(self.weights),
            opset=self.opset,
            skipped=tuple(self.skipped),
        )

    # ------------------------------------------------------------------------------- constants

    def _check_text(self, *texts: object) -> None:
        """Corrupt files can hold names that are not UTF-8; protobuf then hands out bytes."""
        if not all(type(t) is str for t in texts):
            raise UserError(f"{self.label}: not a valid ONNX model (names that are not UTF-8 text; is the file corrupt?)")

    def _add_initializer(self, tensor: TensorProto, rename: dict[str, str], scope: str) -> None:
        self._check_text(tensor.name, *(e.value for e in tensor.external_data))
        name = self._define(tensor.name, rename, scope, "initializer")
        self._add_tensor(name, tensor, f"initializer '{shown(tensor.name, 60)}'")

    def _add_tensor(self, name: str, tensor: TensorProto, where: str) -> None:
        try:
            dtype = onnx_to_numpy(tensor.data_type)
        except ShapeError as exc:
            raise UserError(f"{self.label}: {where}: {exc}") from None
        shape = tuple(int(d) for d in tensor.dims)
        if any(d < 0 for d in shape):
            raise UserError(f"{self.label}: {where}: negative dims {shown(list(shape), 30)} (a corrupt file?)")
        self.infos[name] = TensorInfo(name, shape, dtype)
        self.weights.add(name)
        size = math.prod(shape)
        if uses_external_data(tensor):
            small_int = size <= 1024 and dtype.startswith(("int", "uint"))
            if self.load_weights or (small_int and _exists(self._external_file(tensor))):
                self.values[name] = self._load_external(tensor, where)
        elif self.load_weights or size <= SMALL_TENSOR:
            self.values[name] = _tensor_value(tensor, f"{self.label}: {where}")

    def _external_file(self, tensor: TensorProto) -> Path:
        location = next((e.value for e in tensor.external_data if e.key == "location"), "")
        return Path(self.base_dir or ".") / location

    def _load_external(self, tensor: TensorProto, where: str) -> np.ndarray:
        path = self._external_file(tensor)
        try:
            return numpy_helper.to_array(tensor, self.base_dir or ".").reshape(tuple(tensor.dims))
        except MemoryError:
            raise UserError(f"{self.label}: {where}: its external data does not fit in memory") from None
        except (OSError, ValueError, TypeError, RuntimeError, onnx.checker.ValidationError) as exc:
            reason = "is missing" if not _exists(path) else f"cannot be read ({shown(exc, 30)})"
            location = next((e.value for e in tensor.external_data if e.key == "location"), "")
            raise UserError(f"{self.label}: external data file '{shown(location, 40)}' {reason} ({shown(where, 50)});"
                            " a run needs the weights, an estimate does not") from None

    def _add_constant_node(self, proto: onnx.NodeProto, rename: dict[str, str], scope: str, where: str) -> None:
        if len(proto.attribute) != 1 or len(proto.output) != 1:
            raise UserError(f"{where}: a Constant node needs exactly one value attribute and one output")
        attr = proto.attribute[0]
        name = self._define(proto.output[0], rename, scope, "value")
        if attr.name == "value":
            self._add_tensor(name, attr.t, where)
            return
        plain = {
            "value_float": lambda: np.array(attr.f, np.float32),
            "value_floats": lambda: np.array(attr.floats, np.float32),
            "value_int": lambda: np.array(attr.i, np.int64),
            "value_ints": lambda: np.array(attr.ints, np.int64),
            "value_string": lambda: np.array(attr.s.decode("utf-8", "replace"), object),
            "value_strings": lambda: np.array([s.decode("utf-8", "replace") for s in attr.strings], object),
        }.get(attr.name)
        if plain is None:
            raise UserError(f"{where}: Constant attribute '{shown(attr.name, 40)}' is not supported")
        value = plain()
        self.infos[name] = TensorInfo(name, value.shape, str(value.dtype))
        self.values[name] = value
        self.weights.add(name)

    # ---------------------------------------------------------------------------------- inputs

    def _add_inputs(self, inputs: list[onnx.ValueInfoProto], given: dict[str, tuple[int, ...]],
                    values: dict[str, np.ndarray]) -> None:
        names = [vi.name for vi in inputs]
        self.input_names = set(names)
        for flag, pinned in (("--input-shape", given), ("--input-value", values)):
            for name in pinned:
                if name not in names:
                    raise UserError(f"{self.label}: {flag} names '{shown(name, 40)}', which is not an input of the"
                                    f" model; its inputs are: {shown(', '.join(names) or '(none)', 80)}")
        declared = {vi.name: _declared(vi, self.label).dims for vi in inputs}
        given = dict(given)
        for name, value in values.items():
            dims = declared[name]
            shape = tuple(value.shape)
            if dims is not None and len(dims) == 0 and value.size == 1:
                shape = ()
            elif dims is not None and all(isinstance(d, int) for d in dims) and math.prod(dims) == value.size:
                shape = tuple(dims)  # type: ignore[arg-type]
            if name in given and tuple(given[name]) != shape:
                raise UserError(f"{self.label}: --input-value {shown(name, 40)} has {value.size} values, but"
                                f" --input-shape gives it the shape {'x'.join(map(str, given[name])) or 'scalar'}")
            given[name] = shape
        symbols: dict[str, int] = {}
        for name, shape in given.items():
            dims = declared[name]
            if dims is not None and len(dims) != len(shape):
                raise UserError(f"{self.label}: --input-shape {shown(name, 40)}={'x'.join(map(str, shape))} has rank"
                                f" {len(shape)}, but input '{shown(name, 40)}' has rank {len(dims)} ({dims_text(dims)})")
            if any(d < 1 for d in shape):
                raise UserError(f"{self.label}: --input-shape for '{shown(name, 40)}' must have positive dims, got {shape}")
            for d, value in zip(dims or (), shape):
                if isinstance(d, str):
                    symbols.setdefault(d, value)
        for vi in inputs:
            if vi.name in given:
                shape = tuple(given[vi.name])
            else:
                dims = declared[vi.name]
                resolved = None if dims is None else [symbols.get(d) if isinstance(d, str) else d for d in dims]
                if resolved is None or None in resolved:
                    raise UserError(f"{self.label}: input '{shown(vi.name, 60)}' has dynamic dims"
                                    f" {shown(dims_text(dims), 30)}; pin them, e.g."
                                    f" --input-shape {shown(vi.name, 40)}={shown(_example(resolved), 30)}")
                shape = tuple(int(d) for d in resolved)  # type: ignore[arg-type]
            try:
                dtype = onnx_to_numpy(vi.type.tensor_type.elem_type)
            except ShapeError as exc:
                raise UserError(f"{self.label}: input '{shown(vi.name, 60)}': {exc}") from None
            self.infos[vi.name] = TensorInfo(vi.name, shape, dtype)
            if vi.name in values:
                value = values[vi.name]
                if np.dtype(dtype).kind in "iub" and value.dtype.kind == "f":
                    raise UserError(f"--input-value {shown(vi.name, 40)}: the input is {dtype}; give integers")
                self.values[vi.name] = value.astype(dtype).reshape(shape)

    # ----------------------------------------------------------------------------------- nodes

    def _define(self, name: str, rename: dict[str, str], scope: str, what: str) -> str:
        """A new value's name: as pre-assigned in ``rename`` (unrolled loop bodies), or unchanged, or,
        inside an inlined subgraph (``scope``), renamed when it clashes with a known name."""
        if rename.get(name, name) != name and rename[name] not in self.infos:
            return rename[name]
        if name in self.infos:
            if not scope:
                raise UserError(f"{self.label}: {what} '{shown(name, 60)}' is defined twice (invalid model)")
            rename[name] = f"{scope}{name}"
            return rename[name]
        return name

    def _node_name(self, proto: onnx.NodeProto, prefix: str, index: int) -> str:
        base = prefix + (proto.name or f"{proto.op_type}_{index}")
        name, n = base, 1
        while name in self.node_names:
            name, n = f"{base}_{n}", n + 1
        self.node_names.add(name)
        return name

    def _visit(self, protos: Sequence[onnx.NodeProto], rename: dict[str, str], scope: str) -> None:
        for proto in protos:
            self._check_text(proto.name, proto.op_type, proto.domain, *proto.input, *proto.output)
            if not _OP_TYPE.fullmatch(proto.op_type):
                raise UserError(f"{self.label}: node '{shown(proto.name, 50)}': '{shown(proto.op_type, 40)}' is not an"
                                " operator name (an identifier of at most 100 characters)")
        for index, proto in enumerate(self._toposort(protos, rename)):
            name = self._node_name(proto, scope, index)
            where = f"{self.label}: {shown(proto.op_type, 30)} node '{shown(name, 50)}'"
            if proto.op_type == "Constant" and proto.domain in ("", "ai.onnx"):
                self._add_constant_node(proto, rename, scope, where)
            elif proto.op_type == "If" and proto.domain in ("", "ai.onnx"):
                self._inline_if(proto, name, rename, scope, where)
            elif proto.op_type == "Loop" and proto.domain in ("", "ai.onnx"):
                self._unroll_loop(proto, name, rename, scope, where)
            elif proto.op_type in NON_TENSOR_OPS and proto.domain in ("", "ai.onnx"):
                self._skip(proto, name, where, "a sequence or optional operator: hwsim models tensors only")
            elif proto.op_type in _CONTROL_FLOW:
                raise UserError(f"{where}: {proto.op_type} (control flow) is not supported; only If and Loop whose"
                                " conditions and trip counts fold to constants can be estimated")
            else:
                self._add_node(proto, name, rename, scope, where)

    def _toposort(self, protos: Sequence[onnx.NodeProto], rename: dict[str, str]) -> list[onnx.NodeProto]:
        defined = set(self.infos)
        ordered = True
        for proto in protos:
            if any(i and rename.get(i, i) not in defined for i in proto.input):
                ordered = False
                break
            defined.update(proto.output)
        if ordered:
            return list(protos)
        producer = {out: i for i, p in enumerate(protos) for out in p.output if out}
        order: list[onnx.NodeProto] = []
        state = [0] * len(protos)  # 0 new, 1 visiting, 2 done
        for root in range(len(protos)):
            stack = [(root, False)]
            while stack:
                i, expanded = stack.pop()
                if expanded:
                    state[i] = 2
                    order.append(protos[i])
                    continue
                if state[i]:
                    if state[i] == 1:
                        raise UserError(f"{self.label}: node '{shown(protos[i].name or protos[i].op_type)}' is part of a cycle")
                    continue
                state[i] = 1
                stack.append((i, True))
                for inp in protos[i].input:
                    j = producer.get(inp)
                    if j is not None and inp not in self.infos:
                        if state[j] == 1:
                            raise UserError(f"{self.label}: node '{shown(protos[j].name or protos[j].op_type)}' is part of a"
                                            " cycle")
                        if state[j] == 0:
                            stack.append((j, False))
        return order

    def _skip(self, proto: onnx.NodeProto, name: str, where: str, reason: str) -> None:
        """Leave out an unsupported node (with ``allow_unsupported``), or stop with an error naming it."""
        if not self.allow_unsupported:
            raise UserError(f"{where}: unsupported ({reason}); --allow-unsupported estimates the rest of the"
                            " model without it")
        self.skipped.append(Skipped(name, proto.op_type, reason))
        for out in proto.output:
            if out:
                self.unavailable[out] = f"{proto.op_type} node '{shown(name, 40)}'"

    def _runtime_inputs(self, names: Sequence[str]) -> list[str]:
        """The model inputs whose run-time values ``names`` depend on (traced through their producers)."""
        found: list[str] = []
        seen: set[str] = set()
        stack = [n for n in names if n and n not in self.values]
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            if name in self.input_names:
                found.append(name)
            stack.extend(n for n in self.sources.get(name, ()) if n and n not in self.values)
        return sorted(found)

    def _pin_hint(self, names: Sequence[str]) -> str:
        """How to pin the model inputs a shape depends on, or "" when it depends on none."""
        pinnable = [name for name in self._runtime_inputs(names)
                    if np.dtype(self.infos[name].dtype).kind in "iu" and self.infos[name].size <= MAX_INPUT_VALUE]
        if not pinnable:
            return ""
        hints = [f"--input-value {shown(name, 40)}="
                 + ",".join(str(v) for v in (1, 3, 224, 224, 1, 1, 1, 1)[: max(1, self.infos[name].size)])
                 for name in pinnable]
        return f"; pin {'its value' if len(hints) == 1 else 'their values'} with {' '.join(hints)}"

    def _add_node(self, proto: onnx.NodeProto, name: str, rename: dict[str, str], scope: str, where: str) -> None:
        inputs = tuple([rename.get(i, i) if i else "" for i in proto.input])
        for i in inputs:
            if i in self.unavailable:
                raise UserError(f"{where}: reads '{shown(i, 40)}', an output of the unsupported {self.unavailable[i]}, so it"
                                " cannot be estimated either (hwsim models tensors only)")
        for i in inputs:
            if i and i not in self.infos:
                raise UserError(f"{where}: input '{shown(i, 40)}' comes from no node, initializer or graph input"
                                " (a truncated model?)")
        self._check_attributes(proto, where)
        attrs = {a.name: _attr_value(a, where) for a in proto.attribute}
        outputs = tuple(self._define(o, rename, scope, "value") if o else "" for o in proto.output)
        domain = "" if proto.domain == "ai.onnx" else proto.domain
        node = Node(name, proto.op_type, inputs, outputs, attrs, domain)
        ins = [self.infos[i] if i else None for i in inputs]
        vals = [self.values.get(i) if i else None for i in inputs]
        if node.op_type == "Einsum" and not node.domain:
            _check_einsum(node, ins, where)
        try:
            result = shape_rules.infer(node, ins, vals)
        except ShapeError as exc:
            raise UserError(f"{where}: {exc}{self._pin_hint(inputs)}") from None
        except (ValueError, TypeError, IndexError, KeyError, ZeroDivisionError, OverflowError, AttributeError) as exc:
            raise UserError(f"{where}: invalid inputs or attributes ({shown(exc, 60)})") from None
        if result is None:
            result = self._onnx_infer(proto, node, ins, vals, where)
        if len(result) < len([o for o in outputs if o]):
            raise UserError(f"{where}: has {len(outputs)} outputs, more than the operator defines")
        for out, (shape, dtype) in zip(outputs, result):
            if out:
                self.infos[out] = TensorInfo(out, _dims(shape, where, out), dtype)
                self.sources[out] = inputs
        self._fold(node, ins, vals)
        self.nodes.append(node)

    def _check_attributes(self, proto: onnx.NodeProto, where: str) -> None:
        """Each attribute of a standard operator must be one the operator defines, of the type it defines:
        a float given as a list, or a tensor given as a float, is the model's error, not a crash later."""
        if proto.domain not in ("", "ai.onnx"):
            return
        schema = _schema(proto.op_type, self.opset, "")
        if schema is None:
            return
        given = len(proto.input)
        while given and not proto.input[given - 1]:  # trailing omitted optional inputs
            given -= 1
        if not schema.min_input <= given <= schema.max_input:
            most = "" if schema.max_input == schema.min_input else f" to {min(schema.max_input, 1 << 10)}"
            raise UserError(f"{where}: has {given} inputs; {shown(proto.op_type, 30)} takes {schema.min_input}{most}")
        for i, formal in enumerate(schema.inputs[:given]):
            if formal.option == onnx.defs.OpSchema.FormalParameterOption.Single and not proto.input[i]:
                raise UserError(f"{where}: input {i} ({formal.name}) is required but left empty")
        if len(proto.output) > schema.max_output or not any(proto.output):
            raise UserError(f"{where}: has {len(proto.output)} outputs; {shown(proto.op_type, 30)} has"
                            f" {schema.min_output} to {schema.max_output}")
        for attr in proto.attribute:
            spec = schema.attributes.get(attr.name)
            if spec is None:
                raise UserError(f"{where}: unknown attribute '{shown(attr.name, 40)}' for {shown(proto.op_type, 40)}"
                                f" (opset {self.opset}); remove it or fix the model")
            if attr.type != spec.type and attr.type != AttributeProto.UNDEFINED:
                raise UserError(f"{where}: attribute '{shown(attr.name, 40)}' must be"
                                f" {AttributeProto.AttributeType.Name(spec.type)},"
                                f" got {AttributeProto.AttributeType.Name(attr.type)}")
        for name, spec in schema.attributes.items():
            if spec.required and not any(a.name == name for a in proto.attribute):
                raise UserError(f"{where}: required attribute '{name}' is missing")

    def _fold(self, node: Node, ins: list[TensorInfo | None], vals: list[np.ndarray | None]) -> None:
        """Compute the node's outputs with the kernel table when all its inputs are known."""
        if node.domain or node.op_type not in KERNELS:
            return
        if node.op_type in SHAPE_ONLY:
            # A zero-stride array has the input's shape and dtype and costs no memory.
            vals = [np.broadcast_to(np.zeros((), info.dtype), info.shape) if v is None and info is not None else v
                    for v, info in zip(vals, ins)]
        elif any(v is None for i, v in zip(node.inputs, vals) if i):
            return
        outs = [self.infos[o] if o else None for o in node.outputs]
        if self.fold_limit is not None and sum(o.size for o in outs if o) > self.fold_limit:
            return
        if sum(o.size * 8 for o in outs if o) > available_memory() // 4:
            return  # too large to compute now; hwsim run refuses it with the sizes (docs/run.md)
        try:
            results = evaluate(node, vals, outs, self.opset)
        except _FOLD_ERRORS:
            return  # the shapes are known; leave the values to run time
        for info, value in zip(outs, results):
            if info is None:
                continue
            value = np.asarray(value)
            if value.shape != info.shape:
                return
            self.values[info.name] = value.astype(info.dtype, copy=False)

    def _onnx_infer(self, proto: onnx.NodeProto, node: Node, ins: list[TensorInfo | None],
                    vals: list[np.ndarray | None], where: str) -> list[tuple[tuple[int, ...], str]]:
        try:
            schema = onnx.defs.get_schema(proto.op_type, self.opsets.get(node.domain, 1), node.domain)
        except onnx.defs.SchemaError:
            schema = None
        types: dict[str, onnx.TypeProto] = {}
        if schema is not None:
            data: dict[str, TensorProto] = {}
            for name, info, value in zip(proto.input, ins, vals):
                if info is None:
                    continue
                types[name] = onnx.helper.make_tensor_type_proto(numpy_to_onnx(info.dtype), info.shape)
                if value is not None:
                    data[name] = numpy_helper.from_array(value, name)
            opsets = [onnx.helper.make_opsetid(d, v) for d, v in self.opsets.items()]
            try:
                types = onnx.shape_inference.infer_node_outputs(schema, proto, types, data, opset_imports=opsets)
            except (onnx.shape_inference.InferenceError, onnx.checker.ValidationError, RuntimeError, ValueError,
                    TypeError, KeyError, IndexError) as exc:
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise UserError(f"{where}: shape inference failed: {shown(first, 80)}") from None
        result = []
        for out in proto.output:
            shape = self._static(types.get(out)) or self._static(self.declared.get(out))
            if shape is None:
                if schema is None:
                    raise UserError(f"{where}: unknown operator (domain '{shown(node.domain or 'ai.onnx', 30)}') whose"
                                    " output shapes the model does not declare")
                hint = self._pin_hint(node.inputs) or " (it depends on run-time data)"
                raise UserError(f"{where}: cannot infer a static shape for output '{shown(out, 60)}'{hint}")
            result.append(shape)
        return result

    @staticmethod
    def _static(tp: onnx.TypeProto | None) -> tuple[tuple[int, ...], str] | None:
        if tp is None or not tp.HasField("tensor_type") or not tp.tensor_type.HasField("shape"):
            return None
        dims = tp.tensor_type.shape.dim
        if not all(d.HasField("dim_value") and d.dim_value >= 0 for d in dims):
            return None
        try:
            dtype = onnx_to_numpy(tp.tensor_type.elem_type)
        except ShapeError:
            return None
        return tuple(int(d.dim_value) for d in dims), dtype

    # ------------------------------------------------------------------------------ control flow

    def _inline_if(self, proto: onnx.NodeProto, name: str, rename: dict[str, str], scope: str, where: str) -> None:
        if not proto.input or not proto.input[0]:
            raise UserError(f"{where}: an If needs its condition input")
        cond_name = rename.get(proto.input[0], proto.input[0])
        cond = self.values.get(cond_name)
        if cond is None:
            raise UserError(f"{where}: its condition '{shown(proto.input[0], 60)}' does not fold to a compile-time constant;"
                            " data-dependent control flow is not supported")
        if cond.size != 1:
            raise UserError(f"{where}: its condition has {cond.size} elements, not one")
        branches = {a.name: a.g for a in proto.attribute}
        branch = branches.get("then_branch" if bool(cond.reshape(-1)[0]) else "else_branch")
        if branch is None:
            raise UserError(f"{where}: missing then_branch/else_branch attribute")
        inner = dict(rename)
        for tensor in branch.initializer:
            self._add_initializer(tensor, inner, name + "/")
        self._visit(branch.node, inner, name + "/")
        if len(branch.output) != len(proto.output):
            raise UserError(f"{where}: the chosen branch has {len(branch.output)} outputs, the node {len(proto.output)}")
        for i, (src, dst) in enumerate(zip(branch.output, proto.output)):
            if not dst:
                continue
            src_name = inner.get(src.name, src.name)
            if src_name not in self.infos:
                raise UserError(f"{where}: branch output '{shown(src.name, 60)}' is not produced")
            identity = onnx.helper.make_node("Identity", [src_name], [dst], name=f"{name}/output{i}")
            self._add_node(identity, self._node_name(identity, "", 0), rename, scope, where)

    def _constant(self, name: str, value: np.ndarray) -> str:
        """A compile-time constant the importer creates (loop counters, axes)."""
        self.infos[name] = TensorInfo(name, value.shape, str(value.dtype))
        self.values[name] = value
        return name

    def _folded(self, name: str, what: str, where: str) -> np.ndarray:
        value = self.values.get(name) if name else None
        if value is None or value.size != 1:
            raise UserError(f"{where}: its {what} '{shown(name, 60)}' does not fold to a compile-time scalar;"
                            " data-dependent control flow is not supported")
        return value

    def _unroll_loop(self, proto: onnx.NodeProto, name: str, rename: dict[str, str], scope: str, where: str) -> None:
        """Unroll a Loop whose trip count and conditions fold: one renamed copy of the body per iteration,
        loop-carried values threaded through, scan outputs stacked with Unsqueeze + Concat."""
        inputs = [rename.get(i, i) if i else "" for i in proto.input]
        body = next((a.g for a in proto.attribute if a.name == "body"), None)
        if body is None or len(inputs) < 2:
            raise UserError(f"{where}: a Loop needs a body and its trip-count and condition inputs")
        trips = int(self._folded(inputs[0], "trip count", where).reshape(())) if inputs[0] else None
        running = bool(self._folded(inputs[1], "condition", where).reshape(())) if inputs[1] else True
        if trips is None and not inputs[1]:
            raise UserError(f"{where}: a Loop with neither trip count nor condition never ends")
        carried = inputs[2:]
        body_in = [vi.name for vi in body.input]
        body_out = [vi.name for vi in body.output]
        if len(body_in) != 2 + len(carried) or len(body_out) < 1 + len(carried):
            raise UserError(f"{where}: the Loop body has {len(body_in)} inputs and {len(body_out)} outputs; it needs"
                            f" {2 + len(carried)} inputs (iteration, condition, {len(carried)} carried) and at least"
                            f" {1 + len(carried)} outputs (condition, {len(carried)} carried, then scans)")
        scans: list[list[str]] = [[] for _ in range(len(body_out) - 1 - len(carried))]
        defined = [t.name for t in body.initializer] + [o for n in body.node for o in n.output if o]
        i = 0
        while running and (trips is None or i < trips):
            if i >= MAX_UNROLL:
                raise UserError(f"{where}: the Loop runs more than {MAX_UNROLL} iterations; too many to unroll")
            inner_scope = f"{name}/{i}/"
            inner = dict(rename)
            inner.update({v: f"{inner_scope}{v}" for v in defined})
            inner[body_in[0]] = self._constant(f"{inner_scope}iteration", np.array(i, np.int64))
            inner[body_in[1]] = self._constant(f"{inner_scope}condition", np.array(running))
            inner.update(zip(body_in[2:], carried))
            for tensor in body.initializer:
                self._add_initializer(tensor, inner, inner_scope)
            self._visit(body.node, inner, inner_scope)
            outs = [inner.get(o, o) for o in body_out]
            running = bool(self._folded(outs[0], "body's condition output", where).reshape(()))
            carried = outs[1 : 1 + len(carried)]
            for stack, value in zip(scans, outs[1 + len(carried) :]):
                stack.append(value)
            i += 1
        results = list(carried)
        if scans:
            if i == 0:
                raise UserError(f"{where}: the Loop runs no iteration, so its scan outputs have no static shape")
            axes = self._constant(f"{name}/axes", np.array([0], np.int64))
            for k, stack in enumerate(scans):
                rows = []
                for j, value in enumerate(stack):
                    row = onnx.helper.make_node("Unsqueeze", [value, axes], [f"{name}/scan{k}/{j}"])
                    self._add_node(row, self._node_name(row, f"{name}/", 0), {}, scope, where)
                    rows.append(row.output[0])
                stacked = onnx.helper.make_node("Concat", rows, [f"{name}/scan{k}"], axis=0)
                self._add_node(stacked, self._node_name(stacked, f"{name}/", 0), {}, scope, where)
                results.append(stacked.output[0])
        for i, (src, dst) in enumerate(zip(results, proto.output)):
            if dst:
                identity = onnx.helper.make_node("Identity", [src], [dst], name=f"{name}/output{i}")
                self._add_node(identity, self._node_name(identity, "", 0), rename, scope, where)
