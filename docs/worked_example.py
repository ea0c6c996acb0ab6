"""Build docs/examples/matmul_64x96x48.onnx and print the worked example of docs/model.md.

    .venv/bin/python docs/worked_example.py            # print the markdown section
    .venv/bin/python docs/worked_example.py --write    # also (re)write the example model

tests/docs/test_worked_example.py checks that docs/model.md holds exactly this text, so the
hand calculation on that page always matches what `hwsim estimate ... --json -` prints.

The calculation is independent of hwsim's model code: it reads the preset's parameters (the
hardware facts) and nothing else of hwsim's, and redoes the mapping search, the tile cycles, the
stalls, the traffic and the energy from the formulas of docs/model.md, in exact arithmetic. Only
then does it compare with the tool's JSON. When the preset changes, rerun the script and paste
its output into docs/model.md; an assertion names any case the hand calculation does not cover.
"""

# No "from __future__ import annotations": the docs test loads this file without registering it in
# sys.modules, where dataclasses cannot resolve string annotations.

import math
import sys
import tomllib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MODEL = HERE / "examples" / "matmul_64x96x48.onnx"
M, K, N = 64, 96, 48
PRESET = "fpga-edge"

# Published figures the energy lines use (docs/model.md#energy gives the sources).
HOROWITZ_INT_MULT = {8: 0.2, 32: 3.1}  # pJ, 8x8 and 32x32 integer multiply, 45 nm
HOROWITZ_INT_ADD = {8: 0.03, 32: 0.1}  # pJ, 8- and 32-bit integer add, 45 nm
# Pipeline depths (mult_stages, adder_segments, acc_stages) by the FPGA family [fpga] device names, as
# docs/rtl.md#pipeline's table gives them; no device: the single-cycle datapath.
FAMILY_PIPELINE = {None: (0, 1, 1), "ecp5": (3, 1, 3), "ice40": (2, 2, 3)}


def build_model() -> onnx.ModelProto:
    w = np.random.default_rng(0).standard_normal((K, N)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="matmul")],
        "worked_example",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [M, K])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [M, N])],
        [numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="hwsim-docs")
    model.ir_version = 8
    return model


def _exact(x: float) -> Fraction:
    """A TOML number as written (3.2 is 16/5, not the nearest double)."""
    return Fraction(str(x))


@dataclass(frozen=True)
class Facts:
    """The hardware facts, read from the preset's TOML (defaults: the documented config defaults)."""

    rows: int
    cols: int
    input_bits: int
    weight_bits: int
    acc_bits: int
    clock_mhz: Fraction
    ifmap_kib: Fraction
    filter_kib: Fraction
    ofmap_kib: Fraction
    dram_gbps: Fraction
    double_buffer: bool
    latency_ns: Fraction
    burst: int
    command: int
    energy: dict
    #: The RTL pipeline (docs/rtl.md#pipeline): the [fpga] device's family defaults, then its keys.
    mult_stages: int
    adder_segments: int
    acc_stages: int

    @property
    def ib(self) -> int:
        return -(-self.input_bits // 8)

    @property
    def wb(self) -> int:
        return -(-self.weight_bits // 8)

    @property
    def ab(self) -> int:
        return -(-self.acc_bits // 8)

    @property
    def parts(self) -> int:
        return 2 if self.double_buffer else 1

    @property
    def bw(self) -> Fraction:
        """DRAM bytes per cycle."""
        return self.dram_gbps * 1000 / self.clock_mhz

    @property
    def latency(self) -> int:
        return math.ceil(self.latency_ns * self.clock_mhz / 1000)

    @property
    def pipeline_latency(self) -> int:
        """Cycles the pipeline adds to a tile's drain: one per multiplier register, one per carry
        segment past the first."""
        return self.mult_stages + self.adder_segments - 1

    @property
    def row_gap(self) -> int:
        """Fewest cycles between two additions into one accumulator row (2 with acc_stages = 3)."""
        return 2 if self.acc_stages == 3 else 1

    @property
    def pool(self) -> int:
        """One part of the activation buffer (nothing is resident in a one-layer model)."""
        return int(self.ifmap_kib * 1024) // self.parts

    @property
    def weight_part(self) -> int:
        return int(self.filter_kib * 1024) // self.parts

    @property
    def acc_depth(self) -> int:
        return max(1, int(self.ofmap_kib * 1024) // self.parts // (self.cols * self.ab))


def facts() -> Facts:
    """The preset's parameters straight from its TOML file; the rest are the config defaults."""
    data = tomllib.loads((ROOT / "hwsim" / "core" / "presets" / f"{PRESET}.toml").read_text(encoding="utf-8"))
    a, mem, ctl = data.get("array", {}), data.get("memory", {}), data.get("control", {})
    fpga = data.get("fpga", {})
    family = fpga["device"].split("-")[0] if "device" in fpga else None
    pipeline = {**dict(zip(("mult_stages", "adder_segments", "acc_stages"), FAMILY_PIPELINE[family])), **{
        key: value for key, value in fpga.items() if key != "device"}}
    energy = data.get("energy", {})
    checks = {"dataflow": a.get("dataflow", "ws") == "ws", "number_format": a.get("number_format", "int") == "int",
              "shared_buffer": not mem.get("shared_buffer", False), "weight_fifo": not mem.get("weight_fifo", False),
              "double_buffer": mem.get("double_buffer", True), "node_nm": energy.get("node_nm", 45) == 45,
              "static_power_w": "static_power_w" in energy,
              "objective": data.get("mapping", {}).get("objective", "cycles") == "cycles"}
    missing = [key for key, ok in checks.items() if not ok]
    assert not missing, f"the hand calculation covers a ws int array with its own double-buffered buffers, cycles " \
                        f"objective, 45 nm and a device static power; {PRESET} now differs in {missing}: extend it"
    return Facts(rows=a.get("rows", 16), cols=a.get("cols", 16), input_bits=a.get("input_bits", 8),
                 weight_bits=a.get("weight_bits", 8), acc_bits=a.get("acc_bits", 32),
                 clock_mhz=_exact(a.get("clock_mhz", 1000.0)), ifmap_kib=_exact(mem.get("ifmap_kib", 128.0)),
                 filter_kib=_exact(mem.get("filter_kib", 128.0)), ofmap_kib=_exact(mem.get("ofmap_kib", 64.0)),
                 dram_gbps=_exact(mem.get("dram_gbps", 16.0)), double_buffer=mem.get("double_buffer", True),
                 latency_ns=_exact(mem.get("dram_latency_ns", 0.0)), burst=mem.get("dram_burst_bytes", 1),
                 command=ctl.get("command_cycles", 0), energy=energy,
                 **pipeline)


def steps(total: int, step: int) -> list[tuple[int, int]]:
    """(size, count): full steps, then a shorter last one."""
    full, rest = divmod(total, step)
    return ([(step, full)] if full else []) + ([(rest, 1)] if rest else [])


def tile_cycles(f: Facts, m: int, k: int, emit: bool) -> int:
    """The weight-stationary tile, docs/model.md#array-timing-per-tile (load, stream, drain, emit)."""
    folds = [min(f.rows, k - i * f.rows) for i in range(-(-k // f.rows))]
    return (folds[0] + sum(max(m, kf, f.row_gap) for kf in folds[1:]) + m + f.rows + f.cols + f.pipeline_latency + 1
            + (3 if emit else 0))


def burst(f: Facts, nbytes: Fraction | int) -> int:
    return math.ceil(Fraction(nbytes) / f.burst) * f.burst if nbytes > 0 else 0


@dataclass(frozen=True)
class Candidate:
    m: int
    k: int
    n: int
    tiles: list[tuple[int, int, int, int]]  # (count, cycles, MACs, rows) per n step, m step and K tile
    compute: int
    first_in: int
    last_out: int
    last_rows: int
    hidden: Fraction  # sum over tiles of what their share of the traffic takes beyond their compute
    stall: int

    @property
    def cycles(self) -> int:
        return self.compute + self.stall

    @property
    def count(self) -> int:
        return sum(c for c, _, _, _ in self.tiles)


def candidates(f: Facts, dram: int) -> list[Candidate]:
    """Every tiling the mapper tries (docs/model.md#tiling), each at the compulsory traffic: A and B
    both fit whole in their buffer parts, so every tiling has a block plan reading each once."""
    k_ladder = [K] + [f.rows * 2 ** i for i in range(K) if f.rows * 2 ** i < K]
    longest, ladder = min(M, f.acc_depth), []
    while True:
        ladder.append(longest)
        if longest == 1:
            break
        longest = -(-longest // 2)
    tn = min(N, f.cols)
    moved = burst(f, dram)
    out = []
    for tk in k_ladder:
        for tm in ladder:
            if tm * tk * f.ib > f.pool or tk * tn * f.wb > f.weight_part:
                continue  # the tile does not fit its part of a buffer
            tiles = []
            for n, n_count in steps(N, tn):
                for m, m_count in steps(M, tm):
                    k_tiles = [k for k, count in steps(K, tk) for _ in range(count)]
                    for i, k in enumerate(k_tiles):  # the last K tile emits the results
                        tiles.append((n_count * m_count, tile_cycles(f, m, k, i == len(k_tiles) - 1), m * k * n, m))
            macs = M * K * N
            hidden = sum(c * max(Fraction(0), Fraction(moved * t_macs, macs) / f.bw - cyc)
                         for c, cyc, t_macs, _ in tiles)
            first_in = tm * tk * f.ib + tk * tn * f.wb
            last_rows = steps(M, tm)[-1][0]
            last_out = last_rows * steps(N, tn)[-1][0] * f.ib
            exposed = (Fraction(burst(f, first_in)) / f.bw + max(Fraction(0), burst(f, last_out) / f.bw - last_rows)
                       + f.latency)
            stall = math.ceil(hidden + exposed) + f.command * sum(c for c, _, _, _ in tiles)
            out.append(Candidate(tm, tk, tn, tiles, sum(c * cyc for c, cyc, _, _ in tiles), first_in, last_out,
                                 last_rows, hidden, stall))
    return out


def _num(x: Fraction | float) -> str:
    """A number as the page shows it: exact if short, else 4 significant digits."""
    return f"{float(x):g}" if Fraction(x).denominator == 1 or len(f"{float(x):g}") <= 6 else f"{float(x):.4g}"


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}{'' if n == 1 else 's'}"


def power_law(x: float, x0: float, y0: float, x1: float, y1: float) -> float:
    return y0 * (x / x0) ** (math.log(y1 / y0) / math.log(x1 / x0))


def section() -> str:
    """The markdown of the worked example: computed by hand here, then checked against the tool."""
    f = facts()
    ib, wb, ab, R, C = f.ib, f.wb, f.ab, f.rows, f.cols
    a_bytes, b_bytes, out_bytes = M * K * ib, K * N * wb, M * N * ib
    assert a_bytes <= f.pool and b_bytes <= f.weight_part, \
        f"{PRESET}: A ({a_bytes} B) or B ({b_bytes} B) no longer fits whole in its buffer part: extend the hand" \
        " calculation"
    dram = a_bytes + b_bytes + out_bytes  # every byte once: both operands fit, and a MatMul has no bias
    cands = candidates(f, dram)
    # The cycles objective: fewest cycles; at equal cycles the deeper K; then the first tried.
    best = min(cands, key=lambda c: (c.cycles, -c.k))
    t_m, t_n = -(-M // best.m), -(-N // best.n)
    folds = sum(-(-k // R) * c for k, c in steps(K, best.k))
    macs = M * K * N

    # Energy (docs/model.md#energy): events x energy per event, 45 nm, the preset's [energy] or the defaults.
    e = f.energy
    mult = power_law(f.input_bits * f.weight_bits, 64, HOROWITZ_INT_MULT[8], 1024, HOROWITZ_INT_MULT[32])
    add = power_law(f.acc_bits, 8, HOROWITZ_INT_ADD[8], 32, HOROWITZ_INT_ADD[32])
    mac = e.get("mac_pj", mult + add)
    reg = e.get("array_reg_pj_per_byte", 0.25)
    dram_pj = e.get("dram_pj_per_byte", 160.0)
    write_factor = e.get("sram_write_factor", 1.0)

    def sram(kib: Fraction, width: int) -> float:
        fixed = e.get("sram_fixed_fraction", 0.0)
        per_byte = e.get("sram_pj_per_byte_ref", 1.25) * (float(kib) / e.get("sram_ref_kib", 8.0)) ** e.get(
            "sram_size_exponent", 0.5)
        return per_byte * (fixed * 64 / width + 1 - fixed)

    sram_i, sram_f, sram_o = sram(f.ifmap_kib, R * f.input_bits), sram(f.filter_kib, C * f.weight_bits), \
        sram(f.ofmap_kib, C * f.acc_bits)
    a_reads, b_reads, acc = a_bytes * t_n, b_bytes * t_m, M * N * folds * ab
    reg_bytes = macs * (ib + ab) + b_bytes * t_m
    static_w = e["static_power_w"]
    wf = "" if write_factor == 1 else f" × {write_factor:g}"
    parts = {
        "mac": (f"{macs:,} MACs × {mac:.3g} pJ ({f.input_bits}×{f.weight_bits}-bit multiply {mult:.3g} + "
                f"{f.acc_bits}-bit add {add:.3g})", macs * mac * 1e-12),
        "array_reg": (f"({macs:,} × ({ib} + {ab}) + {b_bytes:,} × {t_m}) B × {reg:g} pJ", reg_bytes * reg * 1e-12),
        "ifmap_sram": (f"({a_bytes:,} × {t_n} reads + {a_bytes:,} writes{wf}) B × {sram_i:.4g} pJ "
                       f"({float(f.ifmap_kib):g} KiB)",
                       (a_reads + a_bytes * write_factor) * sram_i * 1e-12),
        "filter_sram": (f"({b_bytes:,} × {t_m} reads + {b_bytes:,} writes{wf}) B × {sram_f:.4g} pJ "
                        f"({float(f.filter_kib):g} KiB)", (b_reads + b_bytes * write_factor) * sram_f * 1e-12),
        "ofmap_sram": (f"{M}·{N}·{folds} folds·{ab} B = {acc:,} B read + {acc:,} B written{wf}, × {sram_o:.6g} pJ "
                       f"({float(f.ofmap_kib):g} KiB)", (acc + acc * write_factor) * sram_o * 1e-12),
        "dram": (f"{dram:,} B × {dram_pj:g} pJ", dram * dram_pj * 1e-12),
        "vector": ("a MatMul has no epilogue", 0.0),
        "static": (f"{static_w} W (the device's `static_power_w`) × {best.cycles:,} cycles / "
                   f"{float(f.clock_mhz):g} MHz",
                   static_w * best.cycles / (float(f.clock_mhz) * 1e6)),
    }
    total = sum(j for _, j in parts.values())

    # The tool, only now: every figure above must be what it reports, digit for digit as shown.
    import compiler
    from hwsim.core.config import preset
    from hwsim.simulate import simulate

    report = simulate(compiler.compile_model(MODEL, preset(PRESET))).to_dict()
    layer = report["layers"][0]
    # The block plan that reads A and B once: order n, A whole; B whole, except that a K split with one
    # m tile keeps B's tile (its first plan already reads B once per m tile, i.e. once).
    block_n = best.n if best.k < K and t_m == 1 else N
    assert layer["mapping"]["tile"] == {"m": best.m, "k": best.k, "n": best.n}, (layer["mapping"], best)
    assert (layer["mapping"]["order"], layer["mapping"]["block"]) == ("n", {"m": M, "n": block_n}), layer["mapping"]
    assert (layer["compute_cycles"], layer["stall_cycles"]) == (best.compute, best.stall), (layer, best)
    assert (layer["dram_read_bytes"], layer["dram_write_bytes"]) == (a_bytes + b_bytes, out_bytes), layer
    assert layer["compulsory_dram_bytes"] == dram, layer
    for key, (_, joules) in parts.items():
        assert f"{joules:.6g}" == f"{layer['energy_breakdown_j'][key]:.6g}", (key, joules, layer["energy_breakdown_j"])
    assert f"{total:.6g}" == f"{layer['energy_j']:.6g}"

    emit_k = steps(K, best.k)[-1][0]  # the K tile that emits: all of K, or the last cut
    emit_cycles = tile_cycles(f, best.m, emit_k, True)
    fold_list = [min(R, emit_k - i * R) for i in range(-(-emit_k // R))]
    later = fold_list[1:]
    if not later:
        streams = ""
    elif all(kf == R for kf in later):
        streams = f" + {len(later)}·max({best.m}, {R})"
    else:
        streams = "".join(f" + max({best.m}, {kf})" for kf in later)
    assert best.m >= f.row_gap, "the best tile has one row: show max(m, k_f, row_gap) in the formula"
    pipe = f.pipeline_latency
    shapes = sorted({(cyc, rows) for _, cyc, _, rows in best.tiles}, reverse=True)
    per_tile = {cyc: sum(c for c, cy, _, _ in best.tiles if cy == cyc) for cyc, _ in shapes}
    each = " + ".join(f"{count} × {cyc}" for cyc, count in per_tile.items())
    split = [c for c in cands if c.k < K]
    best_split = min(split, key=lambda c: (c.cycles, -c.k)) if split else None
    share = Fraction(burst(f, dram), best.count) / f.bw
    first_wait = Fraction(burst(f, best.first_in)) / f.bw
    last_take = Fraction(burst(f, best.last_out)) / f.bw

    bwt = _num(f.bw)
    lines = [
        "## Worked example",
        "",
        f"`docs/examples/matmul_64x96x48.onnx` is one MatMul, x[{M}×{K}] · w[{K}×{N}], int8, on `{PRESET}`."
        " docs/worked_example.py computes every number below from the preset's parameters alone (not with"
        " hwsim's functions) and then asserts that the tool reports the same; check each line against",
        "",
        "```sh",
        f"bin/hwsim estimate docs/examples/matmul_64x96x48.onnx --preset {PRESET} --json -",
        "```",
        "",
        "| fact | value |",
        "|---|---|",
        f"| array | {R}×{C} weight-stationary, {float(f.clock_mhz):g} MHz |",
        f"| DRAM | {float(f.dram_gbps):g} GB/s = {bwt} B/cycle; latency {float(f.latency_ns):g} ns ="
        f" {f.latency} cycles;"
        f" bursts of {f.burst} B |",
        f"| tile command | {f.command} cycles |",
        f"| activation buffer | {float(f.ifmap_kib):g} KiB in {f.parts} parts: {f.pool:,} B per part |",
        f"| weight buffer | {float(f.filter_kib):g} KiB in {f.parts} parts: {f.weight_part:,} B per part |",
        f"| accumulator | {float(f.ofmap_kib):g} KiB in {f.parts} parts: {f.acc_depth} rows of {C} × {ab} B"
        " (`acc_depth`) |",
        "",
        f"* **Traffic.** A is {a_bytes:,} B and B {b_bytes:,} B; both fit whole in one part of their buffer, so"
        f" every tiling has a block plan that reads each once: DRAM reads **{a_bytes + b_bytes:,}** B, writes"
        f" **{out_bytes:,}** B (the results at the input width), {dram:,} B in all, equal to"
        " `compulsory_dram_bytes`.",
        f"* **Candidates** (`candidate_sizes`): tile n = min(N, C) = {min(N, C)}; k = all of K ({K}) or whole folds"
        f" doubling from {R}; tile m = min(M, `acc_depth`) = {min(M, f.acc_depth)} and its halvings. At equal"
        " traffic the search keeps the fewest cycles:",
        "",
        "| tile m×k×n | tiles | compute | first tile's operands | stall | cycles |",
        "|---|---|---|---|---|---|",
    ]
    shown = [c for c in cands if c.k == K] + ([best_split] if best_split else [])
    for c in shown:
        mark = "**" if c is best else ""
        cut = "" if c.k == K else " (best with K cut)"
        lines.append(f"| {mark}{c.m}×{c.k}×{c.n}{mark}{cut} | {c.count:,} | {c.compute:,} | {c.first_in:,} B |"
                     f" {c.stall:,} | {mark}{c.cycles:,}{mark} |")
    lines += [
        "",
        f"  Longer tiles amortize the fill and drain (`k_0 + R + C + P + 4` cycles per tile) but make the first tile,"
        " whose operands nothing hides, wait longer; shorter ones the reverse.",
        f"* **Mapping.** Tile {best.m}×{best.k}×{best.n}: {_count(t_n, 'n tile')} × {_count(t_m, 'm tile')}"
        + (f" = {best.count} tiles; order n, one block of all {M} rows and {N} columns (order m also reads each operand"
           " once; at equal cost the first plan tried stays)." if best.k == K else
           f" × {_count(sum(c for _, c in steps(K, best.k)), 'K tile')} ="
           f" {best.count} tiles; K is cut, so a tile's partial sums wait in the accumulator while its K tiles run"
           f" back to back; order n, A held whole (block of {M} rows), B in blocks of {block_n} columns: each read"
           " once."),
        f"* **Compute.** A tile of m = {best.m} rows that emits, k = {emit_k} in {_count(len(fold_list), 'fold')}"
        " (`ws_tile_cycles`):"
        f" `k_0 + Σ_{{f≥1}} max(m, k_f) + m + R + C + P + 1 + 3`, where P = mult_stages + adder_segments − 1 ="
        f" {f.mult_stages} + {f.adder_segments} − 1 = {pipe} cycles of pipeline ([rtl.md](rtl.md#pipeline)):"
        f" {fold_list[0]}{streams} + {best.m} + {R} + {C} + {pipe} + 1 + 3"
        f" = {emit_cycles} cycles (load, stream, drain, emit); {each} = **{best.compute:,}** (`compute_cycles`).",
        f"* **Stalls** (`overlap_stall`). A tile's share of the {burst(f, dram):,} B (by MACs"
        f"{'' if len({t for _, _, t, _ in best.tiles}) == 1 else ', on average'}) takes"
        f" {_num(share)} cycles at {bwt} B/cycle and moves while the previous tile computes; what exceeds the"
        f" tiles' compute, Σ max(0, share − compute), is {_num(best.hidden)} cycles."
        f" The first tile's operands, {best.m}·{best.k}·{ib} + {best.k}·{best.n}·{wb} = {best.first_in:,} B, wait"
        f" {_num(first_wait)} cycles; the last tile's {best.last_out:,} B of results take {_num(last_take)} cycles"
        f" and leave while its {best.last_rows} rows stream out, one a cycle"
        f" ({_num(max(Fraction(0), last_take - best.last_rows))} exposed); the first request waits {f.latency}"
        f" cycles; {best.count} tile commands cost"
        f" {f.command * best.count} cycles. **{best.stall}** (`stall_cycles`), so `cycles` ="
        f" **{best.cycles:,}** and `utilization` = {macs:,} / ({best.cycles:,} · {R * C}) ="
        f" {macs / (best.cycles * R * C):.4f}.",
        "",
        "| component | events × energy | joules (`energy_breakdown_j`) |",
        "|---|---|---|",
    ]
    for key, (how, joules) in parts.items():
        lines.append(f"| `{key}` | {how} | {joules:.6g} |")
    lines.append(f"| **total** | | **{total:.6g}** (`energy_j`) |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if "--write" in sys.argv:
        MODEL.parent.mkdir(exist_ok=True)
        onnx.save(build_model(), MODEL)
    print(section(), end="")
