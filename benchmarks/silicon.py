"""Published accelerator figures beside hwsim's estimates, one config per chip (docs/validation.md).

Every (chip, workload) pair runs through the public path, ``compiler.compile_model(model, cfg)`` then
``hwsim.simulate.simulate(program)``, on that chip's one config in ``benchmarks/silicon/*.toml``:
no per-workload factor anywhere. A figure measured with a mapping the paper published (DOSA's) runs
that mapping: its file in ``benchmarks/silicon/`` pins each layer's DRAM loops
(``compile_model(..., mapping=...)``, docs/model.md#pinned-mappings); MoCA's runs pin the tiles its
library picks (written by ``benchmarks/moca_mappings.py``). The table gives the published value, hwsim's, their ratio
(hwsim / published) and the source; docs/validation.md says why each figure is comparable::

    .venv/bin/python benchmarks/silicon.py                 # the table, plus hwsim's cycle split
    .venv/bin/python benchmarks/silicon.py --markdown      # the table as docs/validation.md has it
    .venv/bin/python benchmarks/silicon.py --update-docs   # rewrite that table in docs/validation.md

The exit status is 0 whatever the ratios (it is a report); a pair that fails to compile or simulate
shows ``error`` in its row. Ratios: a published lower bound ("> 80") is compared with the bound; a
published range gives 1.00 inside it and hwsim / the nearer end outside.

A figure with a ``reason`` is one that hwsim's model cannot honestly be compared with (the reason
says why; docs/validation.md gives the evidence): it is not in the comparison but in a second table,
for reference, so that what hwsim gives for it stays visible and current.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import onnx  # noqa: E402

from compiler import compile_model, lower_training, schedule_model  # noqa: E402
from compiler.training import TrainingOptions  # noqa: E402
from compiler.zoo import resnet50  # noqa: E402
from compiler.zoo.published import (alexnet, dosa, googlenet, googlenet_tv, squeezenet11, tpu_cnn0,  # noqa: E402
                                    tpu_lstm0, tpu_lstm1, tpu_mlp0, tpu_mlp1)
from hwsim.core.config import AcceleratorConfig, load_config  # noqa: E402
from hwsim.core.training import master_words  # noqa: E402
from hwsim.report import Report  # noqa: E402
from hwsim.simulate import simulate  # noqa: E402

CONFIGS = ROOT / "benchmarks" / "silicon"
DOC = ROOT / "docs" / "validation.md"
BEGIN = "<!-- silicon-table:begin (generated: .venv/bin/python benchmarks/silicon.py --update-docs) -->"
END = "<!-- silicon-table:end -->"
REFERENCE_BEGIN = "<!-- silicon-reference:begin (generated: .venv/bin/python benchmarks/silicon.py --update-docs) -->"
REFERENCE_END = "<!-- silicon-reference:end -->"

#: Each chip's one config.
CHIPS: dict[str, Path] = {
    "TPUv1": CONFIGS / "tpuv1.toml",
    "Gemmini (DOSA, BERT design)": CONFIGS / "gemmini-dosa-bert.toml",
    "Gemmini (DOSA, ResNet-50 design)": CONFIGS / "gemmini-dosa-resnet50.toml",
    "Gemmini (DOSA, RetinaNet design)": CONFIGS / "gemmini-dosa-retinanet.toml",
    "Gemmini (DOSA, U-Net design)": CONFIGS / "gemmini-dosa-unet.toml",
    "Gemmini (MoCA)": CONFIGS / "gemmini-moca.toml",
    "Gemmini (default)": CONFIGS / "gemmini-default.toml",
    "Tesla FSD NPU": CONFIGS / "tesla-fsd-npu.toml",
    "TPU v3 (one TensorCore)": CONFIGS / "tpuv3-core.toml",
}

JOUPPI = "Jouppi et al., ISCA 2017"
MOCA = "Kim et al., HPCA 2023 (MoCA): ucb-bar/gemmini-rocc-tests @ 80b7b9a moca-data/data/uartlog"


def dosa_source(workload: str, column: str = "target.gemmini_cycle") -> str:
    return (f"Hong et al., MICRO 2023 (DOSA), Fig. 12: gemmini-rocc-tests @ 959b23f gemmini-data-collection/"
            f"artifact/both/{workload}.csv, {column} x layer_count.yaml (ucb-bar/dosa @ a7a3239)")
#: TPUv1 Table 5: host interaction, % of TPU time, MLP0 (applied to both MLP0 rows of Table 4).
MLP0_HOST_SHARE = 0.21


@dataclass(frozen=True)
class Figure:
    """One published figure and how hwsim's matching number is computed."""

    chip: str
    workload: str
    model: str          #: key of :data:`MODELS`
    batch: int
    metric: str         #: "TOPS", "inferences/s", "utilization %", "training samples/s" or "Mcycles" (per inference)
    published: float
    source: str
    high: float | None = None   #: a published range [published, high]
    bound: bool = False         #: the published figure is a lower bound ("> published")
    host_share: float = 0.0     #: published host time per accelerator time, added to hwsim's latency
    reason: str = ""            #: why the figure is not in the comparison (docs/validation.md); empty: compared
    #: The figure is comparable and hwsim misses the 0.8-1.25 target on it: ``reason`` names the
    #: modelling gap. False with a reason: measured under conditions hwsim does not model.
    gap: bool = False
    optimizer: str = ""         #: a training step with this optimizer (docs/training.md); empty: inference
    #: A mapping file in benchmarks/silicon/ pinning the measured run's DRAM loops (docs/model.md#pinned-mappings);
    #: empty: hwsim's own mapping search.
    mapping: str = ""

    @property
    def compared(self) -> bool:
        return not self.reason

    def shown(self) -> str:
        if self.high is not None:
            return f"{_fmt(self.metric, self.published, True)}–{_fmt(self.metric, self.high, True)}"
        return ("> " if self.bound else "") + _fmt(self.metric, self.published, True)

    def value(self, report: Report) -> float:
        t = report.totals
        if self.metric == "TOPS":  # 2 ops per MAC, as Table 3 counts them (92 TOPS peak = 65,536 x 2 x 0.7 GHz)
            return 2 * t.macs / t.latency_s / 1e12
        if self.metric in ("inferences/s", "training samples/s"):
            return self.batch / (t.latency_s * (1 + self.host_share))
        if self.metric == "utilization %":
            return 100 * t.utilization
        if self.metric == "Mcycles":
            return t.cycles / 1e6
        raise ValueError(self.metric)

    def ratio(self, hwsim: float) -> float:
        if self.high is not None:
            return hwsim / min(max(hwsim, self.published), self.high)
        return hwsim / self.published


#: Models by key: (builder, batch) -> ONNX model.
MODELS: dict[str, Callable[[int], onnx.ModelProto]] = {
    "mlp0": lambda batch: tpu_mlp0(batch=batch),
    "mlp1": lambda batch: tpu_mlp1(batch=batch),
    "lstm0": lambda batch: tpu_lstm0(batch=batch),
    "lstm1": lambda batch: tpu_lstm1(batch=batch),
    "cnn0": lambda batch: tpu_cnn0(batch=batch),
    "resnet50": lambda batch: resnet50(batch=batch),
    "resnet50-bn": lambda batch: resnet50(batch=batch, batchnorm=True),
    "googlenet": lambda batch: googlenet(batch=batch),
    # The MoCA artifact's networks at its headers' sizes (imagenet/*_params_1.h): a 1024-wide FC in ResNet-50
    # and AlexNet (fc_54, fc_8), 1000 classes in SqueezeNet and GoogLeNet.
    "resnet50_1024": lambda batch: resnet50(batch=batch, num_classes=1024),
    "alexnet_1024": lambda batch: alexnet(batch=batch, num_classes=1024),
    "squeezenet11": lambda batch: squeezenet11(batch=batch),
    "googlenet_tv": lambda batch: googlenet_tv(batch=batch),
    # DOSA's workloads (compiler.zoo.published.DOSA_LAYERS), each layer timed alone at batch 1.
    "dosa_bert": lambda batch: dosa("bert"),
    "dosa_resnet50": lambda batch: dosa("resnet50"),
    "dosa_retinanet": lambda batch: dosa("retinanet"),
    "dosa_unet": lambda batch: dosa("unet"),
}

FIGURES: tuple[Figure, ...] = (
    Figure("TPUv1", "MLP0", "mlp0", 200, "TOPS", 12.3, f"{JOUPPI}, Table 3 row 9"),
    Figure("TPUv1", "MLP1", "mlp1", 168, "TOPS", 9.7, f"{JOUPPI}, Table 3 row 9"),
    Figure("TPUv1", "LSTM0", "lstm0", 64, "TOPS", 3.7, f"{JOUPPI}, Table 3 row 9"),
    Figure("TPUv1", "LSTM1", "lstm1", 96, "TOPS", 2.8, f"{JOUPPI}, Table 3 row 9"),
    Figure("TPUv1", "CNN0", "cnn0", 8, "TOPS", 86.0, f"{JOUPPI}, Table 3 row 9"),
    Figure("TPUv1", "MLP0", "mlp0", 200, "inferences/s", 225_000,
           f"{JOUPPI}, Table 4 (with host; Table 5: +21 %)", host_share=MLP0_HOST_SHARE),
    Figure("TPUv1", "MLP0", "mlp0", 250, "inferences/s", 280_000,
           f"{JOUPPI}, Table 4 (with host; Table 5: +21 %)", host_share=MLP0_HOST_SHARE),
    Figure("TPUv1", "ResNet-50", "resnet50", 8, "utilization %", 22.5,
           f"{JOUPPI}, Table 3 row 2: CNN1 – CNN0", high=78.2),
    Figure("Gemmini (DOSA, BERT design)", "BERT layer (DOSA's 6 GEMMs)", "dosa_bert", 1, "Mcycles", 3.009802,
           dosa_source("bert"), mapping="dosa-bert-mapping.toml"),
    Figure("Gemmini (DOSA, RetinaNet design)", "RetinaNet (DOSA's 27 layers)", "dosa_retinanet", 1, "Mcycles",
           16.026592, dosa_source("retinanet"), mapping="dosa-retinanet-mapping.toml"),
    Figure("Gemmini (MoCA)", "ResNet-50", "resnet50_1024", 1, "Mcycles", 23.899749,
           f"{MOCA}: resnet total cycles, median of 7 runs", mapping="moca-resnet50-mapping.toml"),
    Figure("Gemmini (DOSA, ResNet-50 design)", "ResNet-50 (DOSA's 54 layers)", "dosa_resnet50", 1, "Mcycles",
           23.690955, dosa_source("resnet50"), mapping="dosa-resnet50-mapping.toml"),
    Figure("Gemmini (MoCA)", "GoogLeNet (torchvision)", "googlenet_tv", 1, "Mcycles", 11.364544,
           f"{MOCA}: googlenet total thread cycles, median of 7 runs",
           mapping="moca-googlenet-mapping.toml"),
    Figure("Gemmini (DOSA, U-Net design)", "U-Net (DOSA's 23 layers)", "dosa_unet", 1, "Mcycles", 969.735057,
           dosa_source("unet"), mapping="dosa-unet-mapping.toml"),
    Figure("Gemmini (DOSA, BERT design)", "BERT layer, Gemmini's own tiling", "dosa_bert", 1, "Mcycles", 3.757188,
           dosa_source("bert", "target.gemmini_auto_cycle"),
           reason="Gemmini's heuristic tiler (tiled_matmul_auto), not the searched mapping the design was measured with"),
    Figure("Gemmini (default)", "ResNet-50", "resnet50", 4, "utilization %", 51.0,
           "ucb-bar/gemmini PR #90 (2021-03-24)",
           reason="controller and software overheads of that commit, memory system not stated"),
    Figure("Gemmini (MoCA)", "AlexNet", "alexnet_1024", 1, "Mcycles", 12.265346,
           f"{MOCA}: alexnet total thread cycles, median of 7 runs", mapping="moca-alexnet-mapping.toml",
           gap=True,
           reason="3-channel conv1 (32 % of the run) DMA-bound past one request a cycle, and batch-1 FC weight "
           "streaming (46 %) at about 10 B/cycle, not the bus's 16: memory-path costs hwsim does not model"),
    Figure("Gemmini (MoCA)", "SqueezeNet 1.1", "squeezenet11", 1, "Mcycles", 3.849847,
           f"{MOCA}: squeezenet total cycles, median of 7 runs", mapping="moca-squeezenet11-mapping.toml",
           gap=True,
           reason="3-channel conv1 and its pool pass (52 % of the run) at 0.59, and 1x1 layers bound by streaming "
           "DRAM reads at about 10 B/cycle, not the bus's 16"),
    Figure("Tesla FSD NPU", "GoogLeNet", "googlenet", 1, "utilization %", 80.0,
           "Talpes et al., IEEE Micro 2020, abstract", bound=True,
           reason="network not named; > 80 % is beyond any 96x96 mapping of GoogLeNet"),
    # 125,100 steps of batch 1024 in 4.4 h of walltime on 8 TensorCores: 1,011 samples/s per core, a lower
    # bound on the step rate (the walltime includes evaluation).
    Figure("TPU v3 (one TensorCore)", "ResNet-50 training (SGD momentum)", "resnet50-bn", 128, "training samples/s",
           125_100 * 1024 / (4.4 * 3600) / 8,
           "google/flax examples/imagenet README, Example runs (TPU v3-8: 125,100 steps, 4.4 h); configs/tpu.py "
           "(batch 1024, half precision)", bound=True, optimizer="momentum"),
)


def _fmt(metric: str, value: float, published: bool = False) -> str:
    """Published figures without trailing zeros; hwsim's to a comparable precision."""
    if metric in ("inferences/s", "training samples/s"):
        return f"{value:,.0f}"
    if published:
        return f"{value:.2f}" if metric == "Mcycles" else f"{value:g}"
    return f"{value:.1f}" if metric == "utilization %" else f"{value:.2f}"


@lru_cache(maxsize=None)
def config(chip: str) -> AcceleratorConfig:
    return load_config(CHIPS[chip])


@lru_cache(maxsize=None)
def report(chip: str, model: str, batch: int, optimizer: str = "", mapping: str = "") -> Report:
    if optimizer:  # one training step, its fp32 master weights and state in the array's words
        options = TrainingOptions(optimizer=optimizer, state_words=master_words(config(chip)))
        cfg = config(chip)
        return simulate(schedule_model(lower_training(MODELS[model](batch), options, store_path=cfg.store_path), cfg))
    return simulate(compile_model(MODELS[model](batch), config(chip), mapping=CONFIGS / mapping if mapping else None))


@dataclass(frozen=True)
class Row:
    figure: Figure
    hwsim: float | None       #: None when hwsim failed on this pair
    error: str = ""
    stall_share: float = 0.0  #: hwsim's stall cycles / cycles

    def cells(self) -> list[str]:
        f = self.figure
        if self.hwsim is None:
            value, ratio = "error", "–"
        else:
            value, ratio = _fmt(f.metric, self.hwsim), f"{f.ratio(self.hwsim):.2f}"
        return [f.chip, f.workload, str(f.batch), f.metric, f.shown(), value, ratio, f.source]


HEADER = ["chip", "workload", "batch", "metric", "published", "hwsim", "ratio", "source"]


def rows() -> list[Row]:
    out = []
    for f in FIGURES:
        try:
            r = report(f.chip, f.model, f.batch, f.optimizer, f.mapping)
        except Exception as e:  # a report, not a gate: show the failure and go on
            out.append(Row(f, None, f"{type(e).__name__}: {e}"))
            continue
        t = r.totals
        out.append(Row(f, f.value(r), stall_share=t.stall_cycles / t.cycles if t.cycles else 0.0))
    return out


def _md(header: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines) + "\n"


def markdown(table: list[Row]) -> str:
    """The comparison: every figure hwsim is compared with."""
    return _md(HEADER, [r.cells() for r in table if r.figure.compared])


def reference_markdown(table: list[Row]) -> str:
    """The figures outside the comparison, with hwsim's number and why (docs/validation.md): first
    those hwsim misses (a modelling gap), then those measured under conditions it does not model."""
    rows = sorted((r for r in table if not r.figure.compared), key=lambda r: not r.figure.gap)
    return _md(HEADER[:-1] + ["why", "source"],
               [r.cells()[:-1] + [("**missed**, model gap: " if r.figure.gap else "not comparable: ") + r.figure.reason,
                                  r.cells()[-1]] for r in rows])


def plain(table: list[Row]) -> str:
    header = HEADER[:-1] + ["stalls", "source"]

    def body(rows: list[Row]) -> list[list[str]]:
        return [r.cells()[:-1] + ["–" if r.hwsim is None else f"{100 * r.stall_share:.0f} %", r.cells()[-1]]
                for r in rows]

    compared = body([r for r in table if r.figure.compared])
    missed = body([r for r in table if r.figure.gap])
    reference = body([r for r in table if not r.figure.compared and not r.figure.gap])
    widths = [max(len(x) for x in col) for col in zip(header, *compared, *missed, *reference)]

    def fmt(line: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip()

    lines = [fmt(line) for line in [header, *compared]]
    if missed:
        lines += ["", "missed: comparable, outside 0.8-1.25 (the model gaps in docs/validation.md):",
                  *(fmt(line) for line in missed)]
    if reference:
        lines += ["", "not comparable (reasons in docs/validation.md):", *(fmt(line) for line in reference)]
    lines += [f"error in {r.figure.chip} / {r.figure.workload}: {r.error}" for r in table if r.error]
    lines.append("ratio = hwsim / published; stalls = hwsim's stall cycles / all its cycles (docs/validation.md)")
    return "\n".join(lines) + "\n"


def update_docs(table_md: str, path: Path = DOC, reference_md: str | None = None) -> None:
    """Rewrite the comparison table (and, if given, the reference table) between their markers."""
    text = path.read_text(encoding="utf-8")
    for begin, end, body in ((BEGIN, END, table_md), (REFERENCE_BEGIN, REFERENCE_END, reference_md)):
        if body is None:
            continue
        pattern = re.compile(re.escape(begin) + r"\n.*?" + re.escape(end), re.S)
        if not pattern.search(text):
            raise SystemExit(f"{path}: no table markers ({begin} ... {end})")
        text = pattern.sub(lambda _: f"{begin}\n{body}{end}", text)
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--markdown", action="store_true", help="print the table as docs/validation.md has it")
    group.add_argument("--update-docs", action="store_true", help="rewrite the table in docs/validation.md")
    args = parser.parse_args(argv)
    table = rows()
    if args.update_docs:
        update_docs(markdown(table), reference_md=reference_markdown(table))
        print(f"updated {DOC.relative_to(ROOT)}")
    else:
        sys.stdout.write(markdown(table) if args.markdown else plain(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
