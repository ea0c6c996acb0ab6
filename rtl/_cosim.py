"""Co-simulation: the generated Verilog under Icarus through cocotb's runner, checked bit for bit
against :func:`hwsim.core.golden.int_gemm` and cycle for cycle against :func:`hwsim.core.timing.tile_cycles`."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from cocotb_tools.runner import get_runner

from hwsim.core import timing
from hwsim.core.config import AcceleratorConfig
from hwsim.core.errors import UserError
from hwsim.core.golden import int_gemm
from hwsim.core.program import Placement, Tile

from ._emit import generate_verilog
from ._params import params
from ._program import gemm_placements, tile_words, unpack

__all__ = ["GemmCase", "TileCheck", "CosimResult", "Simulator", "random_case", "check", "verify"]

TIMESCALE = ("1ns", "1ps")


@dataclass(frozen=True)
class GemmCase:
    """One GEMM ``a @ b`` and the tiles that compute it, in issue order."""

    a: np.ndarray
    b: np.ndarray
    placements: tuple[Placement, ...]


@dataclass(frozen=True)
class TileCheck:
    placement: Placement
    rtl_cycles: int | None
    model_cycles: int
    mismatches: int


@dataclass(frozen=True)
class CosimResult:
    """What one GEMM did on the RTL against the golden model and the timing model."""

    config: AcceleratorConfig
    tiles: tuple[TileCheck, ...]
    #: Output elements that differ from int_gemm(a, b) or were never emitted, plus unused output lanes
    #: that were not zero and rows emitted beyond a tile's m.
    mismatches: int
    rtl_cycles: int
    model_cycles: int
    #: Words of the input streams the design did not consume (0 when the protocol was followed).
    words_left: int
    timed_out: bool
    #: With the probe on: PEs that did a MAC, per cycle.
    busy: tuple[int, ...] = ()
    #: The m x n result the RTL emitted, as int64 (elements never emitted are 0).
    outputs: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def passed(self) -> bool:
        return (self.mismatches == 0 and not self.timed_out and self.words_left == 0
                and all(t.rtl_cycles == t.model_cycles for t in self.tiles))

    def to_dict(self) -> dict[str, Any]:
        """The ``hwsim verify --json`` object."""
        return {"passed": self.passed, "mismatches": self.mismatches, "rtl_cycles": self.rtl_cycles,
                "model_cycles": self.model_cycles, "config": self.config.to_dict()}


def random_case(cfg: AcceleratorConfig, m: int, k: int, n: int, rng: np.random.Generator) -> GemmCase:
    """Random operands over the full signed ranges with the compiler's tiles for ``cfg``.

    Row 0 of A and column 0 of B are all the most negative value and the last ones all the most
    positive, so the corner outputs are the widest sums the operand widths allow (and wrap when
    acc_bits is narrow); a tenth of the other operands are extremes too.
    """
    def operand(shape: tuple[int, int], bits: int) -> np.ndarray:
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        x = rng.integers(lo, hi + 1, size=shape)
        extreme = rng.random(shape) < 0.1
        x[extreme] = rng.choice([lo, hi], size=int(extreme.sum()))
        return x

    a = operand((m, k), cfg.input_bits)
    b = operand((k, n), cfg.weight_bits)
    a[0, :], b[:, 0] = -(1 << (cfg.input_bits - 1)), -(1 << (cfg.weight_bits - 1))
    a[-1, :], b[:, -1] = (1 << (cfg.input_bits - 1)) - 1, (1 << (cfg.weight_bits - 1)) - 1
    return GemmCase(a=a, b=b, placements=tuple(gemm_placements(cfg, m, k, n)))


def _tail(log: Path, lines: int = 15) -> str:
    """The end of a log, for an error message (the log may live in a folder about to be removed)."""
    text = log.read_text(errors="replace").splitlines() if log.is_file() else ["(no log)"]
    return f"{log}:\n" + "\n".join(text[-lines:])


class Simulator:
    """The design for one config compiled by Icarus in ``build_dir``, ready to run programs."""

    def __init__(self, cfg: AcceleratorConfig, build_dir: str | Path, verilog: str | None = None) -> None:
        if shutil.which("iverilog") is None or shutil.which("vvp") is None:
            raise UserError("Icarus Verilog (iverilog) is not installed; install it with "
                            "'apt-get install iverilog' or run through bin/hwsim, which installs it")
        self.cfg = cfg
        self.params = params(cfg)
        self.build_dir = Path(build_dir).resolve()
        self.build_dir.mkdir(parents=True, exist_ok=True)
        source = self.build_dir / f"{self.params.cfg.module_name}.v"
        source.write_text(verilog if verilog is not None else generate_verilog(cfg))
        self._runner = get_runner("icarus")
        self._runner.log.setLevel(logging.ERROR)
        self._runs = 0
        try:
            self._runner.build(sources=[source], hdl_toplevel=self.params.cfg.module_name, build_dir=self.build_dir,
                               always=True, timescale=TIMESCALE, log_file=self.build_dir / "build.log")
        except (RuntimeError, SystemExit) as e:
            raise RuntimeError(f"iverilog failed ({e}): {_tail(self.build_dir / 'build.log')}") from None

    def observe(self, cases: Sequence[GemmCase], *, probe: bool = False, stall: float = 0.0,
                seed: int = 0) -> dict[str, Any]:
        """Run ``cases`` back to back in one simulation; what the bench saw (see ``rtl._bench``).

        ``probe`` records the busy PEs of every cycle (slow for large arrays); ``stall`` is the
        probability that the bench drops a valid or ready in a cycle (cycles then exceed the model).
        """
        p = self.params
        junk = np.random.default_rng(seed)
        tiles = []
        for case in cases:
            for pl in case.placements:
                t = pl.tile
                words = tile_words(p, t, case.a[pl.m0 : pl.m0 + t.m, pl.k0 : pl.k0 + t.k],
                                   case.b[pl.k0 : pl.k0 + t.k, pl.n0 : pl.n0 + t.n], junk)
                tiles.append({"cmd": words.cmd, "weights": words.weights, "acts": words.acts})
        budget = sum(timing.tile_cycles(self.cfg, pl.tile) for case in cases for pl in case.placements)
        spec = {"tiles": tiles, "rows": p.cfg.rows, "cols": p.cfg.cols, "input_bits": p.cfg.input_bits, "probe": probe,
                "stall": stall, "seed": seed, "max_cycles": int(budget * (1 + 20 * stall)) * 2 + 1000}
        self._runs += 1
        run_dir = self.build_dir / f"run{self._runs}"
        run_dir.mkdir(exist_ok=True)
        spec_path, out_path = run_dir / "program.json", run_dir / "observed.json"
        spec_path.write_text(json.dumps(spec))
        try:
            self._runner.test(test_module="rtl._bench", hdl_toplevel=self.params.cfg.module_name,
                              build_dir=self.build_dir, test_dir=run_dir, timescale=TIMESCALE,
                              results_xml=str(run_dir / "results.xml"), log_file=run_dir / "sim.log",
                              extra_env={"HWSIM_BENCH_IN": str(spec_path), "HWSIM_BENCH_OUT": str(out_path)})
        except (RuntimeError, SystemExit) as e:
            raise RuntimeError(f"simulation failed ({e}): {_tail(run_dir / 'sim.log')}") from None
        if not out_path.is_file():
            raise RuntimeError(f"the test bench wrote no results: {_tail(run_dir / 'sim.log')}")
        return json.loads(out_path.read_text())

    def gemm(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The accumulators the RTL emits for ``a @ b`` run as the compiler's tiles (int64, m x n),
        for comparing other models of the int8 arithmetic with the hardware itself."""
        case = GemmCase(a=np.asarray(a), b=np.asarray(b),
                        placements=tuple(gemm_placements(self.cfg, a.shape[0], a.shape[1], b.shape[1])))
        result = self.run([case])[0]
        if result.timed_out or result.words_left:
            raise RuntimeError("the RTL did not finish the program")
        return result.outputs

    def run(self, cases: Sequence[GemmCase], *, probe: bool = False, stall: float = 0.0,
            seed: int = 0) -> list[CosimResult]:
        """:meth:`observe` ``cases`` and :func:`check` each."""
        observed = self.observe(cases, probe=probe, stall=stall, seed=seed)
        results, first = [], 0
        for case in cases:
            results.append(check(self.cfg, case, observed, first))
            first += len(case.placements)
        return results


def check(cfg: AcceleratorConfig, case: GemmCase, observed: dict[str, Any], first: int = 0, *,
          model: Callable[[AcceleratorConfig, Tile], int] | None = None) -> CosimResult:
    """Compare what the bench observed for ``case`` (whose tiles start at observed tile ``first``)
    with :func:`hwsim.core.golden.int_gemm` and, tile by tile, with the timing ``model`` (by default
    :func:`hwsim.core.timing.tile_cycles`, looked up at call time).

    Each emitting tile's rows are compared with the golden accumulators of its block after the
    tiles so far (``acc`` carried across K tiles); the assembled result with ``int_gemm(a, b)``.
    """
    p = params(cfg)
    model = model or timing.tile_cycles
    seen = observed["tiles"][first : first + len(case.placements)]
    got = np.zeros((case.a.shape[0], case.b.shape[1]), dtype=np.int64)
    emitted = np.zeros(got.shape, dtype=bool)
    partial: dict[tuple[int, int, int], np.ndarray] = {}
    stray = 0  # nonzero unused lanes and rows beyond a tile's m
    checks = []
    for i, pl in enumerate(case.placements):
        t = pl.tile
        obs = seen[i] if i < len(seen) else {"outputs": [], "start": 0, "done": None}
        key = (pl.group, pl.m0, pl.n0)
        partial[key] = int_gemm(case.a[pl.m0 : pl.m0 + t.m, pl.k0 : pl.k0 + t.k],
                                case.b[pl.k0 : pl.k0 + t.k, pl.n0 : pl.n0 + t.n],
                                acc_bits=cfg.acc_bits, acc=partial.get(key) if t.accumulate else None)
        words = obs["outputs"]
        rows = np.array([unpack(w or 0, cfg.acc_bits, p.cfg.cols) for w in words], dtype=np.int64).reshape(-1, p.cfg.cols)
        known = np.array([w is not None for w in words], dtype=bool)
        expected = t.m if t.emit else 0
        ok = min(len(rows), expected)
        wrong = (rows[:ok, : t.n] != partial[key][:ok]) | ~known[:ok, None]
        bad = int(wrong.sum()) + (expected - ok) * t.n
        tile_stray = int(((rows[:ok, t.n :] != 0) | ~known[:ok, None]).sum()) + (len(rows) - ok) * p.cfg.cols
        rows[~known] = 0
        got[pl.m0 : pl.m0 + ok, pl.n0 : pl.n0 + t.n] = rows[:ok, : t.n]
        emitted[pl.m0 : pl.m0 + ok, pl.n0 : pl.n0 + t.n] = known[:ok, None]
        stray += tile_stray
        cycles = obs["done"] - obs["start"] if obs["done"] is not None else None
        checks.append(TileCheck(placement=pl, rtl_cycles=cycles, model_cycles=model(cfg, t),
                                mismatches=bad + tile_stray))
    want = int_gemm(case.a, case.b, acc_bits=cfg.acc_bits)
    last = first + len(case.placements) >= len(observed["tiles"])
    return CosimResult(
        config=cfg,
        tiles=tuple(checks),
        mismatches=int(((got != want) | ~emitted).sum()) + stray,
        rtl_cycles=sum(c.rtl_cycles or 0 for c in checks),
        model_cycles=sum(c.model_cycles for c in checks),
        words_left=observed["weights_left"] + observed["acts_left"] if last else 0,
        timed_out=observed["timeout"] or any(c.rtl_cycles is None for c in checks),
        busy=tuple(observed["busy"]),
        outputs=got,
    )


def verify(cfg: AcceleratorConfig, m: int, k: int, n: int, *, seed: int = 0,
           work_dir: str | Path | None = None) -> CosimResult:
    """``hwsim verify``: a random m x k x n GEMM through the compiler's tiles on the RTL, checked."""
    rng = np.random.default_rng(seed)
    case = random_case(cfg, m, k, n, rng)
    if work_dir is not None:
        return Simulator(cfg, work_dir).run([case], seed=seed)[0]
    with tempfile.TemporaryDirectory(prefix="hwsim-verify-") as tmp:
        return Simulator(cfg, tmp).run([case], seed=seed)[0]
