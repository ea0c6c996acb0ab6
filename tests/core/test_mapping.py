"""The program builder: tiles that cover every GEMM once and fit, mappings that never move less than
the compulsory traffic and reach it when everything fits, residency that never overflows a buffer."""

from __future__ import annotations

from collections import Counter

import onnx
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

from compiler import compile_model, lower_model, schedule_model
from compiler.ops.gemm import touched_positions
from compiler.schedule import schedule
from compiler.tiling import k_segment
from compiler.zoo import resnet18
from hwsim.core.config import AcceleratorConfig, preset
from hwsim.core.program import Program
from hwsim.core.workload import GemmShape, Kind, LoweredModel, TensorRef, Workload
from hwsim.simulate import simulate

configs = st.builds(
    AcceleratorConfig,
    rows=st.integers(1, 48),
    cols=st.integers(1, 48),
    dataflow=st.sampled_from(["ws", "os", "is"]),
    ifmap_kib=st.sampled_from([8.0, 32.0, 128.0]),
    filter_kib=st.sampled_from([8.0, 32.0, 128.0]),
    ofmap_kib=st.sampled_from([16.0, 64.0]),
    double_buffer=st.booleans(),
    shared_buffer=st.booleans(),
    mapping_objective=st.sampled_from(["cycles", "dram"]),
    conv_reduction=st.sampled_from(["im2col", "per_tap"]),
    command_rows=st.sampled_from([0, 0, 4, 16]),   # a fold in one command, or Gemmini-like commands
    command_min_cycles=st.integers(1, 6),
)


def _conv_shape(m: int, channels: int, n: int, groups: int, taps: int, row: int = 0) -> GemmShape:
    return GemmShape(m=m, k=channels * taps, n=n, groups=groups, taps=taps, row=row)


# Plain GEMMs, and convolutions whose K is kernel taps of input channels (per-tap arrays keep taps apart).
gemms = st.one_of(
    st.builds(GemmShape, m=st.integers(1, 700), k=st.integers(1, 3000), n=st.integers(1, 300), groups=st.integers(1, 3)),
    st.builds(_conv_shape, m=st.integers(1, 700), channels=st.integers(1, 64), n=st.integers(1, 300),
              groups=st.integers(1, 3), taps=st.sampled_from([3, 9, 49]), row=st.integers(0, 60)),
)


def _gemm(g: GemmShape, name: str = "x") -> Workload:
    return Workload(name, "MatMul", Kind.GEMM, gemm=g, input_elems=g.groups * g.m * g.k,
                    weight_elems=g.groups * g.k * g.n, output_elems=g.groups * g.m * g.n)


@settings(max_examples=150, deadline=None)
@given(g=gemms, cfg=configs)
def test_tiles_cover_the_gemm_once_and_fit(g: GemmShape, cfg: AcceleratorConfig) -> None:
    s = schedule(_gemm(g), cfg)
    placements = list(s.placements())
    segment = k_segment(g, cfg)
    assert Counter(p.tile for p in placements) == Counter({r.tile: r.count for r in s.runs})
    assert sum(p.tile.macs for p in placements) == g.macs
    assert len({(p.group, p.m0, p.n0, p.k0) for p in placements}) == len(placements)
    bounds = {"ws": (cfg.acc_depth, cfg.cols), "os": (cfg.rows, cfg.cols), "is": (cfg.cols, cfg.acc_depth)}
    max_m, max_n = bounds[cfg.dataflow]
    ib, wb = cfg.input_bytes, cfg.weight_bytes
    pool = cfg.activation_buffer_bytes // cfg.buffer_parts
    for p in placements:
        t = p.tile
        assert t.m <= max_m and t.n <= max_n
        if cfg.dataflow == "ws":  # the tile controller's command limit, shared scratchpad or not
            assert t.k <= cfg.k_max
        # a K tile lies inside one segment of K (a kernel tap's channels on a per-tap array, else all
        # of K), and every one but a segment's last is whole folds, so folds never straddle tiles or taps
        if cfg.dataflow != "os":
            assert p.k0 // segment == (p.k0 + t.k - 1) // segment
            if (p.k0 + t.k) % segment:
                assert t.k % cfg.rows == 0
        a, b = t.m * t.k * ib, t.k * t.n * wb
        fold_a, fold_b = cfg.rows * t.m * ib, cfg.rows * t.n * wb  # one fold always fits (the config checks)
        if cfg.shared_buffer:
            assert a + b <= max(pool, fold_a + fold_b)
        else:
            assert b <= max(cfg.filter_part_bytes, fold_b) and a <= max(pool, fold_a)
        # accumulate exactly when the tile does not start K, emit exactly when it ends K
        assert t.accumulate == (p.k0 > 0)
        assert t.emit == (p.k0 + t.k == g.k)
    # the K tiles of one output tile follow each other: partial sums wait in the accumulator only
    done: set[tuple[int, int, int]] = set()
    current = None
    for p in placements:
        key = (p.group, p.m0, p.n0)
        if key != current:
            assert key not in done
            if current is not None:
                done.add(current)
            current = key


@settings(max_examples=150, deadline=None)
@given(g=gemms, cfg=configs)
def test_dram_traffic_is_at_least_compulsory_and_more_memory_never_worsens_the_objective(
        g: GemmShape, cfg: AcceleratorConfig):
    s = schedule(_gemm(g), cfg)
    moved = s.traffic.dram_read + s.traffic.dram_write
    ib, wb = cfg.input_bytes, cfg.weight_bytes
    # every input, weight and output byte once, counted by hand
    compulsory = g.groups * (g.m * g.k * ib + g.k * g.n * wb + g.m * g.n * ib)
    assert s.compulsory_bytes == compulsory
    assert moved >= compulsory
    bigger = cfg.replace(ifmap_kib=cfg.ifmap_kib * 4, filter_kib=cfg.filter_kib * 4)
    more = schedule(_gemm(g), bigger)
    if cfg.mapping_objective == "dram":
        assert more.traffic.dram_read + more.traffic.dram_write <= moved
    else:
        assert _cycles(more, bigger) <= _cycles(s, cfg)


def _cycles(layer, cfg: AcceleratorConfig) -> int:
    return simulate(Program("one", cfg, (layer,))).totals.cycles


@settings(max_examples=60, deadline=None)
@given(g=gemms, cfg=configs)
def test_when_everything_fits_the_mapping_reaches_the_compulsory_traffic(g: GemmShape, cfg: AcceleratorConfig):
    ib, wb = cfg.input_bytes, cfg.weight_bytes
    need = g.groups * (g.m * g.k * ib + g.k * g.n * wb)
    roomy = cfg.replace(ifmap_kib=2 * need / 1024 + cfg.ifmap_kib, filter_kib=2 * need / 1024 + cfg.filter_kib)
    s = schedule(_gemm(g), roomy)
    assert s.traffic.dram_read + s.traffic.dram_write == g.groups * (g.m * g.k * ib + g.k * g.n * wb + g.m * g.n * ib)


def test_a_memory_bound_resnet_layer_reads_its_weights_once():
    cfg = AcceleratorConfig(rows=16, cols=16, ifmap_kib=128, filter_kib=128, ofmap_kib=64)
    g = GemmShape(m=49, k=4608, n=512)
    s = schedule(_gemm(g), cfg)
    # A (49 x 4608 = 225,792 bytes) does not fit a 64 KiB half, so it streams once per block of B;
    # a 64 KiB half holds 16 columns of all of K (73,728 bytes) only with K cut, so B's blocks are
    # its 32 column tiles, each read once: A 32 times, B once, the results once.
    assert s.traffic.dram_read_ifmap == 49 * 4608 * 32
    assert s.traffic.dram_read_filter == 4608 * 512
    assert s.traffic.dram_write_ofmap == 49 * 512
    layer = simulate(schedule_model(LoweredModel("one", (_gemm(g),)), cfg)).layers[0]
    # memory bound: the cycles are at least the DRAM time at 16 bytes per cycle
    assert layer.cycles >= (49 * 4608 * 32 + 4608 * 512 + 49 * 512) / 16


def _conv_model(stride: int) -> onnx.ModelProto:
    w = helper.make_tensor("w", TensorProto.FLOAT, [128, 64, 1, 1], [0.0] * 128 * 64)
    out = 56 // stride
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], strides=[stride, stride])], "down",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64, 56, 56])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 128, out, out])], [w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_a_strided_1x1_convolution_reads_exactly_the_pixels_it_uses():
    cfg = preset("gemmini-like")
    (layer,) = schedule_model(lower_model(_conv_model(2)), cfg).layers
    # 28 x 28 of the 56 x 56 pixels, 64 channels, int8; the weights once: 128 x 64
    assert layer.traffic.dram_read_ifmap == 28 * 28 * 64
    assert layer.traffic.dram_read_filter == 128 * 64
    (dense,) = schedule_model(lower_model(_conv_model(1)), cfg).layers
    assert dense.traffic.dram_read_ifmap == 56 * 56 * 64


def _chain(sizes: list[int], batch: int) -> LoweredModel:
    """A chain of GEMMs (an MLP): layer i reads t{i} and writes t{i+1}."""
    workloads = []
    for i, (k, n) in enumerate(zip(sizes, sizes[1:])):
        g = GemmShape(m=batch, k=k, n=n)
        workloads.append(Workload(f"fc{i}", "MatMul", Kind.GEMM, gemm=g, input_elems=batch * k, weight_elems=k * n,
                                  output_elems=batch * n, inputs=(TensorRef(f"t{i}", batch * k, batch * k, "a"),),
                                  outputs=(TensorRef(f"t{i + 1}", batch * n, batch * n),)))
    return LoweredModel("chain", tuple(workloads), outputs=(f"t{len(sizes) - 1}",))


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(8, 600), min_size=2, max_size=6), batch=st.integers(1, 300), cfg=configs)
def test_residency_never_overflows_the_activation_buffer(sizes: list[int], batch: int, cfg: AcceleratorConfig):
    program = schedule_model(_chain(sizes, batch), cfg)
    for layer in program.layers:
        assert layer.resident_bytes <= cfg.activation_buffer_bytes
        # what stays on chip is only what a later layer reads; the model's output reaches DRAM
    ib = cfg.input_bytes
    last = program.layers[-1]
    assert [p.dram for p in last.writes] == [True]
    # a tensor kept on chip is read on chip by the next layer; one that went to DRAM is read from it
    for layer, nxt in zip(program.layers, program.layers[1:]):
        (out,) = layer.writes
        (inp,) = nxt.reads
        assert inp.bytes == out.bytes == nxt.workload.gemm.m * nxt.workload.gemm.k * ib
        assert inp.on_chip == out.on_chip and inp.dram == out.dram
    # every layer moves at least its compulsory bytes, given where its tensors live
    for layer in program.layers:
        assert layer.traffic.dram_read + layer.traffic.dram_write >= layer.compulsory_bytes


def test_resnet18_fuses_residuals_and_pooling_without_changing_macs():
    lowered = lower_model(resnet18())
    assert lowered.macs == 1_814_073_344
    ops = [w.op for w in lowered.workloads]
    assert ops[0] == "Conv+Relu+MaxPool"
    assert sum(op.endswith("Add+Relu") for op in ops) == 8  # every basic block's shortcut add
    assert not any(op in ("Add", "Relu", "MaxPool") for op in ops)


def test_an_unsupported_store_path_step_costs_a_separate_pass():
    lowered = lower_model(resnet18())
    full = simulate(schedule_model(lowered, preset("gemmini-like")))
    no_pool = simulate(schedule_model(lowered, preset("gemmini-like").replace(
        store_path=("activation", "scale", "requantize"))))
    first, first_np = full.layers[0], no_pool.layers[0]
    assert first.op == first_np.op == "Conv+Relu+MaxPool"
    # the pass pools 112 x 112 x 64 results: 8 comparisons per output (3 x 3 window) over 16 lanes
    assert first_np.compute_cycles - first.compute_cycles == -(-56 * 56 * 64 * 8 // 16)
    assert no_pool.totals.cycles > full.totals.cycles


def _matmul_add(m: int, k: int, n: int, add: bool) -> onnx.ModelProto:
    """y = x @ w (+ r): a GEMM whose store path may have to add a second tensor."""
    w = helper.make_tensor("w", TensorProto.FLOAT, [k, n], [1.0] * (k * n))
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h" if add else "y"])]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [m, k])]
    if add:
        nodes.append(helper.make_node("Add", ["h", "r"], ["y"]))
        inputs.append(helper.make_tensor_value_info("r", TensorProto.FLOAT, [m, n]))
    graph = helper.make_graph(nodes, "g", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])], [w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_a_separate_residual_pass_reads_its_second_tensor_while_it_runs():
    # gemmini-like's store path cannot add a second tensor, so MatMul+Add adds it in a pass after the
    # array: the int8 result goes out and comes back (2 m n bytes) and the residual r is read (m n bytes),
    # 3 m n bytes at 16 B/cycle, against m n / 16 cycles of vector adds. The pass is DRAM-bound, so it
    # adds 3 m n / 16 cycles; r cannot hide behind the array, which has finished before the pass starts.
    cfg = preset("gemmini-like").replace(residency=False, dram_gbps=16.0, clock_mhz=1000.0, dram_latency_ns=0.0,
                                         command_cycles=0, vector_lanes=16)
    assert "residual" not in cfg.store_path
    for m, k, n in ((64, 1024, 64), (128, 2048, 128)):
        with_add = simulate(compile_model(_matmul_add(m, k, n, True), cfg))
        plain = simulate(compile_model(_matmul_add(m, k, n, False), cfg))
        assert with_add.layers[0].op == "MatMul+Add"
        assert with_add.totals.cycles - plain.totals.cycles == 3 * m * n // 16


def test_each_layer_reports_where_its_tensors_lived_and_its_compulsory_traffic():
    # fc0: 64 x 256 -> 512, fc1: 512 -> 128, batch 64, int8; a 1 MiB activation buffer holds t1
    cfg = preset("gemmini-like").replace(shared_buffer=False, ifmap_kib=1024.0, filter_kib=512.0)
    report = simulate(schedule_model(_chain([256, 512, 128], 64), cfg)).to_dict()
    fc0, fc1 = report["layers"]
    assert fc0["tensors"] == [
        {"name": "t0", "use": "read", "bytes": 64 * 256, "on_chip": False, "dram": True},
        {"name": "t1", "use": "write", "bytes": 64 * 512, "on_chip": True, "dram": False}]
    assert fc1["tensors"] == [
        {"name": "t1", "use": "read", "bytes": 64 * 512, "on_chip": True, "dram": False},
        {"name": "t2", "use": "write", "bytes": 64 * 128, "on_chip": False, "dram": True}]
    # compulsory: the model input and the weights once (fc0), the weights and the model output (fc1)
    assert fc0["compulsory_dram_bytes"] == 64 * 256 + 256 * 512
    assert fc1["compulsory_dram_bytes"] == 512 * 128 + 64 * 128
    assert report["totals"]["compulsory_dram_bytes"] == 64 * 256 + 256 * 512 + 512 * 128 + 64 * 128
    # everything fits, so the traffic is the compulsory traffic and t1 holds its bytes meanwhile
    for layer in (fc0, fc1):
        assert layer["dram_read_bytes"] + layer["dram_write_bytes"] == layer["compulsory_dram_bytes"]
    assert fc1["resident_bytes"] >= 64 * 512
    tile = fc0["mapping"]["tile"]
    assert tile["k"] == 256 and tile["m"] == 64 and fc0["mapping"]["block"] == {"m": 64, "n": 512}


@settings(max_examples=80, deadline=None)
@given(g=gemms, rows=st.sampled_from([4, 8, 16]), cols=st.sampled_from([4, 8, 16, 32]),
       ofmap=st.sampled_from([16.0, 64.0]), grow=st.sampled_from([1.5, 2.0, 4.0]))
def test_a_deeper_accumulator_never_costs_cycles(g: GemmShape, rows: int, cols: int, ofmap: float, grow: float):
    # from a power-of-two accumulator depth (16 or 64 KiB over a power-of-two number of int32 columns)
    cfg = AcceleratorConfig(rows=rows, cols=cols, ofmap_kib=ofmap)
    deeper = cfg.replace(ofmap_kib=ofmap * grow)
    assert _cycles(schedule(_gemm(g), deeper), deeper) <= _cycles(schedule(_gemm(g), cfg), cfg)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 40), st.integers(1, 7), st.integers(1, 5), st.integers(1, 4), st.integers(0, 8), st.integers(0, 40))
def test_the_touched_input_positions_match_enumeration(size: int, k: int, s: int, d: int, b: int, o: int) -> None:
    every = {i * s + j * d - b for i in range(o) for j in range(k)}
    assert touched_positions(size, k, s, d, b, o) == sum(1 for p in every if 0 <= p < size)


def test_a_huge_padded_axis_is_counted_without_enumerating_it() -> None:
    # 2**31 outputs of a 3-tap, stride-1 window over an 8-wide input padded by 2**31 - 1 on the
    # left: every input position is read, and counting takes no time.
    assert touched_positions(8, 3, 1, 1, 2**31 - 1, 2**31 + 8) == 8


def test_a_shared_scratchpad_never_gets_tiles_longer_than_the_tile_controller_takes():
    # A 5x2 gemmini-like array whose weight buffer is 30 B: a part of 15 B holds 15 weights of one
    # column, 3 folds of 5, so the tile controller takes k <= 15 although the shared scratchpad
    # has room for all of K = 25 (bin/test-all's RTL sweep ran such a tile and the RTL refused it).
    cfg = preset("gemmini-like").replace(rows=5, cols=2, filter_kib=30 / 1024, ofmap_kib=80 / 1024)
    assert cfg.shared_buffer and cfg.k_max == 15
    s = schedule(_gemm(GemmShape(5, 25, 2)), cfg)
    ks = [p.tile.k for p in s.placements()]
    assert max(ks) <= 15 and sum(ks) == 25
