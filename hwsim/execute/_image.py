"""The DRAM image of an accelerator program: the numbers of an int8 run laid out as the code
generator's memory map says, and the layers' outputs read back from a DRAM image.

:func:`dram_image` takes the :class:`~compiler.codegen.AcceleratorProgram` and an int8
:class:`RunResult` made with ``keep_codes`` on the same compiled model. It patches every CONFIG's
clamp (``lo``/``hi``) and average-pool constants from the run's integer parameters, and writes:

* each GEMM layer's weight blocks (:func:`hwsim.core.isa.weight_blocks`): per output chunk the
  13-word epilogue parameter block (bias, mult, rmult, shift of :class:`hwsim.core.requant.Epilogue`)
  and the weight codes, rows in the accelerator's K order (:class:`~compiler.codegen.WeightRegion`);
* the model inputs' codes, blocked NCHWc (:func:`hwsim.core.isa.pack_activation`);
* every command bank.

Activations the accelerator writes are left zero. :func:`layer_outputs` reads a layer's output
(and a fused pool's input) back as int8 codes in ONNX layout; :func:`expected_outputs` gives the
same tensors from the run, for a bit-for-bit comparison. :func:`accelerator_image` does it all for
a compiled model and its inputs (``hwsim rtl MODEL.onnx``, ``hwsim verify MODEL.onnx``), and
:func:`default_inputs` makes the seeded inputs those commands use when none are given.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from compiler.codegen import AcceleratorProgram, TensorRegion, WeightRegion, codegen
from compiler.graph import Graph
from compiler.importer import declared_inputs, dims_text
from hwsim.core.errors import InternalError, UserError, shown
from hwsim.core.isa import Config, PoolMode, check_config, weight_blocks

from ._executor import Compiled
from ._integer import GemmQuant, PoolQuant
from ._session import RunResult, run

__all__ = ["DramImage", "dram_image", "layer_outputs", "expected_outputs", "accelerator_rows", "pack_region",
           "unpack_region", "accelerator_image", "default_inputs"]


@dataclass(frozen=True)
class DramImage:
    """The program with its CONFIG constants patched, and the DRAM bytes it starts from."""

    program: AcceleratorProgram
    dram: bytes

    @property
    def program_bytes(self) -> bytes:
        """The command banks: the image from the first bank to its end (``memory.program_addr``)."""
        return self.dram[self.program.memory.program_addr:]


def _blocked(codes: np.ndarray, region: TensorRegion) -> np.ndarray:
    """Codes in ONNX layout as a ``(1, C, H, W)`` array of the region's view."""
    v = region.view
    if codes.size != v.channels * v.pixels:
        raise InternalError(f"tensor '{region.name}': {codes.size} codes for a {v.channels}x{v.height}x{v.width} view")
    if len(region.shape) == 4:
        return codes.reshape(1, v.channels, v.height, v.width)
    return codes.reshape(-1, v.channels).T.reshape(1, v.channels, v.height, v.width)


def pack_region(codes: np.ndarray, region: TensorRegion, R: int) -> bytes:
    """A tensor's int8 codes (ONNX layout) as the region's blocked bytes."""
    x = _blocked(np.asarray(codes), region)
    chunks = region.view.chunks(R)
    padded = np.zeros((1, chunks * R, region.view.height, region.view.width), dtype=np.int8)
    padded[:, : region.view.channels] = x
    return padded.reshape(chunks, R, region.view.pixels).transpose(0, 2, 1).tobytes()


def unpack_region(dram: bytes, region: TensorRegion, R: int) -> np.ndarray:
    """The region's codes from a DRAM image, in ONNX layout (the inverse of :func:`pack_region`)."""
    v = region.view
    chunks = v.chunks(R)
    raw = np.frombuffer(dram, dtype=np.int8, count=chunks * v.pixels * R, offset=region.addr)
    chw = raw.reshape(chunks, v.pixels, R).transpose(0, 2, 1).reshape(chunks * R, v.pixels)[: v.channels]
    if len(region.shape) == 4:
        return chw.reshape(region.shape).copy()
    return chw.T.reshape(region.shape).copy()


def accelerator_rows(weights: np.ndarray, region: WeightRegion, graph: Graph, R: int) -> np.ndarray:
    """A layer's ``(k, n)`` weight codes from the executor's K order (im2col: channel-major for a
    convolution, ONNX's flattening for a Flatten input) into the accelerator's row order."""
    k, n = weights.shape
    if region.order == "matrix":
        return weights
    if region.order == "taps":
        kh, kw = graph.shape(next(node for node in graph.nodes if node.name == region.node).inputs[1])[2:]
        cin = k // (kh * kw)
        return weights.reshape(cin, kh, kw, n).transpose(1, 2, 0, 3).reshape(k, n)
    src = region.source
    assert src is not None and src.channels % R == 0
    c, y, x = np.meshgrid(np.arange(src.channels), np.arange(src.height), np.arange(src.width), indexing="ij")
    onnx_index = (c * src.pixels + y * src.width + x).ravel()
    byte_index = (((c // R) * src.pixels + y * src.width + x) * R + c % R).ravel()
    out = np.zeros_like(weights)
    out[byte_index] = weights[onnx_index]
    return out


def _patched(program: AcceleratorProgram, quant: Mapping[str, GemmQuant | PoolQuant]) -> AcceleratorProgram:
    replacements = {}
    for layer in program.layers:
        for index, node in layer.configs:
            cfg = program.exec[index]
            assert isinstance(cfg, Config)
            q = quant.get(node)
            if isinstance(q, GemmQuant):
                ep = q.epilogue
                if ep.relu_pre != cfg.relu_pre or ep.residual != cfg.residual:
                    raise InternalError(f"layer '{layer.name}': the run's epilogue and the program's CONFIG disagree")
                replacements[index] = replace(cfg, lo=ep.lo, hi=ep.hi)
            elif isinstance(q, PoolQuant):
                if q.mode == "average":
                    assert q.average is not None and cfg.pool_mode == PoolMode.AVG
                    replacements[index] = replace(cfg, pool_mult=q.average.mult, pool_shift=q.average.shift,
                                                  lo=q.average.lo, hi=q.average.hi)
            else:
                raise UserError(f"layer '{layer.name}': the int8 run did not compute node '{node}' on codes, so the "
                                "accelerator has no parameters for it")
    return program.with_exec(replacements)


def dram_image(program: AcceleratorProgram, graph: Graph, result: RunResult) -> DramImage:
    """The patched program and its DRAM image from an int8 run with ``keep_codes``."""
    if result.precision != "int8" or not result.codes:
        raise InternalError("dram_image needs an int8 run made with keep_codes=True")
    R = program.memory.R
    patched = _patched(program, result.quant)
    dram = bytearray(program.memory.size)
    for region in program.memory.weights:
        q = result.quant.get(region.node)
        if not isinstance(q, GemmQuant):
            raise UserError(f"node '{region.node}': the int8 run has no integer parameters for it")
        ep = q.epilogue
        rows = accelerator_rows(q.weights, region, graph, R)
        blob = weight_blocks(rows, R, bias=ep.bias.tolist(), mult=ep.mult.tolist(), rmult=ep.rmult.tolist(),
                             shift=ep.shift.tolist())
        assert len(blob) == region.nbytes(R)
        dram[region.addr: region.addr + len(blob)] = blob
    for region in program.memory.tensors:
        if region.role != "input":
            continue
        codes = result.codes.get(region.name)
        if codes is None:
            raise UserError(f"model input '{region.name}': the int8 run has no codes for it")
        blob = pack_region(codes, region, R)
        dram[region.addr: region.addr + len(blob)] = blob
    for addr, blob in patched.images():
        dram[addr: addr + len(blob)] = blob
    return DramImage(patched, bytes(dram))


def layer_outputs(program: AcceleratorProgram, dram: bytes) -> dict[str, dict[str, np.ndarray]]:
    """Per layer (by name): its output and, for a fused pool, the pool's input, read from ``dram``."""
    R = program.memory.R
    out: dict[str, dict[str, np.ndarray]] = {}
    for layer in program.layers:
        names = [layer.output] + ([layer.intermediate] if layer.intermediate else [])
        out[layer.name] = {n: unpack_region(dram, program.memory.tensor(n), R) for n in names}
    return out


def expected_outputs(program: AcceleratorProgram, result: RunResult) -> dict[str, dict[str, np.ndarray]]:
    """The same tensors as :func:`layer_outputs`, from the int8 run's codes."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for layer in program.layers:
        names = [layer.output] + ([layer.intermediate] if layer.intermediate else [])
        missing = [n for n in names if n not in result.codes]
        if missing:
            raise InternalError(f"layer '{layer.name}': the int8 run kept no codes for '{missing[0]}'")
        out[layer.name] = {n: np.asarray(result.codes[n]).reshape(program.memory.tensor(n).shape) for n in names}
    return out


def default_inputs(source: str | Path, given: Mapping[str, np.ndarray], seed: int = 0) -> dict[str, np.ndarray]:
    """``given`` plus, for every declared input it lacks, seeded standard-normal values of the
    declared shape (numpy's ``default_rng(seed)``, one draw per input in declaration order). An
    input without a static shape or of a non-float type must be given."""
    out = dict(given)
    rng = np.random.default_rng(seed)
    for d in declared_inputs(source):
        if d.name in out:
            continue
        static = d.dims is not None and all(isinstance(x, int) and x > 0 for x in d.dims)
        if not static or np.dtype(d.dtype).kind != "f":
            raise UserError(f"input {shown(d.name, 40)} ({d.dtype} {dims_text(d.dims)}): no random default for it; "
                            "give it as --input NAME=FILE.npy")
        out[d.name] = rng.standard_normal(tuple(d.dims)).astype(d.dtype)
    return out


def accelerator_image(compiled: Compiled, inputs: Mapping[str, np.ndarray],
                      calibration: Sequence[tuple[str, Mapping[str, np.ndarray]]] | None = None
                      ) -> tuple[DramImage, RunResult]:
    """The accelerator program of ``compiled`` (a config :func:`hwsim.core.isa.check_config`
    accepts), its DRAM image with ``inputs``, and the int8 run (``hwsim run --precision int8``,
    codes kept) whose numbers it holds and whose codes every layer must reproduce."""
    check_config(compiled.program.config)
    program = codegen(compiled.graph, compiled.program)
    result = run(compiled, inputs, precision="int8", calibration=calibration, keep_codes=True)
    return dram_image(program, compiled.graph, result), result
