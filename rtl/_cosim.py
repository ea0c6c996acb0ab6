"""Co-simulation: the generated Verilog under Icarus through cocotb's runner, checked bit for bit
against :func:`hwsim.golden.int_gemm` and cycle for cycle against :func:`hwsim.timing.tile_cycles`."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from compiler.program import Placement, Tile
from hwsim.config import AcceleratorConfig
from hwsim.errors import UserError
from hwsim.golden import int_gemm
from hwsim.timing import tile_cycles

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


class Simulator:
    """The design for one config compiled by Icarus in ``build_dir``, ready to run programs."""

    def __init__(self, cfg: AcceleratorConfig, build_dir: str | Path, verilog: str | None = None) -> None:
        if shutil.which("iverilog") is None or shutil.which("vvp") is None:
            raise UserError("Icarus Verilog (iverilog) is not installed; install it with "
                            "'apt-get install iverilog' or run through bin/hwsim, which installs it")
        from cocotb_tools.runner import get_runner

        self.cfg = cfg
        self.params = params(cfg)
        self.build_dir = Path(build_dir).resolve()
        self.build_dir.mkdir(parents=True, exist_ok=True)
        source = self.build_dir / f"{self.params.module_name}.v"
        source.write_text(verilog if verilog is not None else generate_verilog(cfg))
        self._runner = get_runner("icarus")
        self._runner.log.setLevel(logging.ERROR)
        self._runs = 0
        try:
            self._runner.build(sources=[source], hdl_toplevel=self.params.module_name, build_dir=self.build_dir,
                               always=True, timescale=TIMESCALE, log_file=self.build_dir / "build.log")
        except (RuntimeError, SystemExit) as e:
            raise RuntimeError(f"iverilog failed ({e}); see {self.build_dir / 'build.log'}") from None

    def run(self, cases: Sequence[GemmCase], *, probe: bool = False, stall: float = 0.0, seed: int = 0,
            timing: Callable[[AcceleratorConfig, Tile], int] = tile_cycles) -> list[CosimResult]:
        """Run ``cases`` back to back in one simulation and check each (see :func:`check`).

        ``probe`` counts busy PEs every cycle (slow for large arrays); ``stall`` is the probability
        that the bench drops a valid or ready in a cycle (cycle counts then exceed the model).
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
        budget = sum(tile_cycles(self.cfg, pl.tile) for case in cases for pl in case.placements)
        spec = {"tiles": tiles, "rows": p.rows, "cols": p.cols, "probe": probe, "stall": stall, "seed": seed,
                "max_cycles": int(budget * (1 + 20 * stall)) * 2 + 1000}
        self._runs += 1
        run_dir = self.build_dir / f"run{self._runs}"
        run_dir.mkdir(exist_ok=True)
        spec_path, out_path = run_dir / "program.json", run_dir / "observed.json"
        spec_path.write_text(json.dumps(spec))
        try:
            self._runner.test(test_module="rtl._bench", hdl_toplevel=self.params.module_name,
                              build_dir=self.build_dir, test_dir=run_dir, timescale=TIMESCALE,
                              results_xml=str(run_dir / "results.xml"), log_file=run_dir / "sim.log",
                              extra_env={"HWSIM_BENCH_IN": str(spec_path), "HWSIM_BENCH_OUT": str(out_path)})
        except (RuntimeError, SystemExit) as e:
            raise RuntimeError(f"simulation failed ({e}); see {run_dir / 'sim.log'}") from None
        if not out_path.is_file():
            raise RuntimeError(f"the test bench wrote no results; see {run_dir / 'sim.log'}")
        observed = json.loads(out_path.read_text())
        results, first = [], 0
        for case in cases:
            count = len(case.placements)
            results.append(check(self.cfg, case, observed, first, timing=timing))
            first += count
        return results


def check(cfg: AcceleratorConfig, case: GemmCase, observed: dict[str, Any], first: int = 0, *,
          timing: Callable[[AcceleratorConfig, Tile], int] = tile_cycles) -> CosimResult:
    """Compare what the bench observed for ``case`` (its tiles start at tile ``first``) with
    :func:`hwsim.golden.int_gemm` and with ``timing`` for every tile."""
    p = params(cfg)
    seen = observed["tiles"][first : first + len(case.placements)]
    m, n = case.a.shape[0], case.b.shape[1]
    want = int_gemm(case.a, case.b, acc_bits=cfg.acc_bits)
    got = np.zeros((m, n), dtype=np.int64)
    emitted = np.zeros((m, n), dtype=bool)
    partial: dict[tuple[int, int, int], np.ndarray] = {}
    extra = 0
    checks = []
    for i, pl in enumerate(case.placements):
        t = pl.tile
        obs = seen[i] if i < len(seen) else None
        a = case.a[pl.m0 : pl.m0 + t.m, pl.k0 : pl.k0 + t.k]
        b = case.b[pl.k0 : pl.k0 + t.k, pl.n0 : pl.n0 + t.n]
        key = (pl.group, pl.m0, pl.n0)
        partial[key] = int_gemm(a, b, acc_bits=cfg.acc_bits, acc=partial.get(key) if t.accumulate else None)
        bad = 0
        rows = [unpack(w, cfg.acc_bits, p.cols) for w in (obs["outputs"] if obs else [])]
        if t.emit:
            block = np.array(rows[: t.m], dtype=np.int64).reshape(-1, p.cols)
            ok = min(len(block), t.m)
            bad += int((block[:ok, : t.n] != partial[key][:ok]).sum()) + (t.m - ok) * t.n
            bad += int((block[:, t.n :] != 0).sum())
            got[pl.m0 : pl.m0 + ok, pl.n0 : pl.n0 + t.n] = block[:ok, : t.n]
            emitted[pl.m0 : pl.m0 + ok, pl.n0 : pl.n0 + t.n] = True
        extra_rows = max(0, len(rows) - (t.m if t.emit else 0))
        bad += extra_rows * p.cols
        extra += extra_rows * p.cols + (int((np.array(rows[: t.m]).reshape(-1, p.cols)[:, t.n :] != 0).sum()) if t.emit and rows else 0)
        cycles = obs["done"] - obs["start"] if obs and obs["done"] is not None else None
        checks.append(TileCheck(placement=pl, rtl_cycles=cycles, model_cycles=timing(cfg, t), mismatches=bad))
    mismatches = int(((got != want) | ~emitted).sum()) + extra
    return CosimResult(
        config=cfg,
        tiles=tuple(checks),
        mismatches=mismatches,
        rtl_cycles=sum(c.rtl_cycles or 0 for c in checks),
        model_cycles=sum(c.model_cycles for c in checks),
        words_left=observed["weights_left"] + observed["acts_left"] if first + len(case.placements) >= len(observed["tiles"]) else 0,
        timed_out=observed["timeout"] or len(seen) < len(case.placements),
        busy=tuple(observed["busy"]),
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
