"""hwsim llm beside a published LLM serving figure: one config per chip, the ratio hwsim / published.

    .venv/bin/python benchmarks/llm_silicon.py                # the comparison, and what narrower arrays give
    .venv/bin/python benchmarks/llm_silicon.py --update-docs  # rewrite the table in docs/validation.md

tests/llm/test_validation.py fails when docs/validation.md's table is not this script's output, or
when a ratio held to the target (``Figure.target``) leaves 0.7-1.4.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import hwsim  # noqa: E402
from hwsim.core.config import load_config  # noqa: E402
from hwsim.llm import LlmReport  # noqa: E402

BEGIN = "<!-- llm-silicon-table:begin (generated: .venv/bin/python benchmarks/llm_silicon.py --update-docs) -->"
END = "<!-- llm-silicon-table:end -->"


#: What a figure can measure (value() reads each from hwsim's report), and whether it is a time: the
#: ratio is always hwsim's speed over the published speed.
METRICS = {"decode tokens/s": False, "end-to-end s": True, "time to first token s": True,
           "end-to-end ms / output token": True}


#: Models a figure names that compiler.llm.spec.NAMED does not hold: their Hugging Face config.json fields.
#: Llama-2-13B (meta-llama/Llama-2-13b-hf): 40 layers of hidden 5120, 40 heads without GQA, MLP 13824,
#: vocabulary 32000 (copies of the model's config.json in several public repositories; docs/validation.md).
CONFIGS: dict[str, dict[str, object]] = {
    "llama-2-13b": {"model_type": "llama", "hidden_size": 5120, "intermediate_size": 13824, "num_hidden_layers": 40,
                    "num_attention_heads": 40, "num_key_value_heads": 40, "vocab_size": 32000,
                    "max_position_embeddings": 4096, "tie_word_embeddings": False},
}


@dataclass(frozen=True)
class Figure:
    chip: str
    config: str           #: benchmarks/silicon/<config>.toml
    model: str            #: a name of compiler.llm.spec.NAMED, or of CONFIGS
    batch: int
    prompt: int
    generate: int         #: tokens the figure generates per sequence
    kv_bits: int
    metric: str           #: one of METRICS
    published: float
    source: str
    #: True: held to the issue's 0.7-1.4 by tests/llm/test_validation.py. False: reported with its ratio
    #: and the reason it is out of reach in docs/validation.md#llm-serving (no tuning).
    target: bool = True

    @property
    def steps(self) -> int:
        """Decode steps hwsim runs: a generate() timed end to end takes its first token from the prefill."""
        return self.generate if self.metric == "decode tokens/s" else self.generate - 1


FIGURES = (
    # "We successfully deploy a LLaMA2-7B model, achieving a decoding speed of around 5 token/s ...
    # reaching 85% decoding speed of the theoretical memory bandwidth limit" (4-bit weights). The
    # abstract states no prompt or context: 128 + 128 tokens, one sequence (the KV cache is 2-4 % of
    # each step's bytes there). An FPGA whose compute array is an assumption (kv260.toml).
    Figure("KV260 FPGA (LLaMA2-7B, 4-bit)", "kv260", "llama-2-7b", 1, 128, 128, 16, "decode tokens/s", 5.0,
           "arXiv:2502.10659v1 (2025), abstract"),
    # One Inferentia2 chip: "Llama2 7B - budget", num cores 2, batch_size 1, fp16, compiled for 2048 tokens,
    # on inf2.8xlarge ("only one neuron device"); generate() from 256 input tokens to a sequence of 1024
    # (768 new tokens, greedy): "End-to-end Latency" 47,3 s, "Encoding time" (256 input tokens, one new
    # token) 0,3 s. huggingface/blog inferentia-llama2.md @ 11cb064; the script that made it,
    # huggingface/optimum-neuron benchmark/text-generation/{llama2,benchmark}.py @ 0aac6a4, run(model, 256, 1024).
    # Out of reach: docs/validation.md#llm-serving.
    Figure("Inferentia2, 1 chip (Llama-2-7B, fp16)", "inferentia2", "llama-2-7b", 1, 256, 768, 16, "end-to-end s",
           47.3, "huggingface/blog inferentia-llama2.md @ 11cb064, \"Llama2 7B budget\"", target=False),
    Figure("Inferentia2, 1 chip (Llama-2-7B, fp16)", "inferentia2", "llama-2-7b", 1, 256, 768, 16,
           "time to first token s", 0.3, "the same, \"Encoding time\", 256 input tokens", target=False),
    # One Inferentia2 chip again, AWS's own 2023 measurement with transformers-neuronx: Llama-2 7B, bf16, batch 1,
    # "it takes 7.9 ms for the model to generate 256 output tokens with 256 input tokens on inf2.48xlarge but 30.1 ms
    # on Inf2.xlarge" (one chip, TP degree 2: "from 30.1 ms/token with 2 cores to 7.9 ms/token with 24 cores"), where
    # "the latency per output token is calculated as the end-to-end latency divided by the number of output tokens".
    # bf16 and fp16 move the same bytes at the same Tensor Engine rate, so inferentia2.toml serves both.
    # pytorch/pytorch.github.io _posts/2023-10-04-high-performance-llama.md @ d4846e0. Out of reach:
    # docs/validation.md#llm-serving.
    Figure("Inferentia2, 1 chip (Llama-2-7B, bf16)", "inferentia2", "llama-2-7b", 1, 256, 256, 16,
           "end-to-end ms / output token", 30.1,
           "pytorch/pytorch.github.io _posts/2023-10-04-high-performance-llama.md @ d4846e0, \"Tensor parallelism\"",
           target=False),
    # The same paragraph: "for the Llama-2 13B model, it goes down from 57.3 ms/token to 11.1 ms/token" (2 to 24
    # cores). It states no lengths for 13B: 256 + 256 as for 7B is an assumption (the cache is 1-2 % of a step's bytes).
    Figure("Inferentia2, 1 chip (Llama-2-13B, bf16)", "inferentia2", "llama-2-13b", 1, 256, 256, 16,
           "end-to-end ms / output token", 57.3, "the same, 13B", target=False),
)


@dataclass(frozen=True)
class Row:
    figure: Figure
    hwsim: float
    ttft_s: float

    @property
    def ratio(self) -> float:
        """hwsim's speed over the published speed (> 1: hwsim is faster)."""
        if METRICS[self.figure.metric]:
            return self.figure.published / self.hwsim
        return self.hwsim / self.figure.published


def serve(f: Figure, **overrides: object) -> LlmReport:
    cfg = load_config(ROOT / "benchmarks" / "silicon" / f"{f.config}.toml")
    return hwsim.serve_llm(CONFIGS.get(f.model, f.model), cfg, prompt=f.prompt, generate=f.steps, batch=f.batch,
                           kv_bits=f.kv_bits, **overrides)


def value(f: Figure, report: LlmReport) -> float:
    """The figure's metric read from hwsim's report."""
    assert report.tpot_s is not None and f.metric in METRICS
    if f.metric == "decode tokens/s":
        return f.batch / report.tpot_s
    if f.metric == "end-to-end s":
        return report.ttft_s + report.tpot_s * f.steps
    if f.metric == "end-to-end ms / output token":
        return (report.ttft_s + report.tpot_s * f.steps) / f.generate * 1e3
    return report.ttft_s


def row(f: Figure, report: LlmReport) -> Row:
    return Row(f, value(f, report), report.ttft_s)


def run(f: Figure, **overrides: object) -> Row:
    return row(f, serve(f, **overrides))


def rows() -> list[Row]:
    reports: dict[tuple[object, ...], LlmReport] = {}  # figures of one run share it
    table = []
    for f in FIGURES:
        key = (f.config, f.model, f.batch, f.prompt, f.steps, f.kv_bits)
        if key not in reports:
            reports[key] = serve(f)
        table.append(row(f, reports[key]))
    return table


def markdown(table: list[Row]) -> str:
    lines = ["| chip | model | batch | prompt + generated | metric | published | hwsim | ratio (hwsim speed / published) "
             "| held to 0.7-1.4 | source |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in table:
        f = r.figure
        lines.append(f"| {f.chip} | {f.model} | {f.batch} | {f.prompt} + {f.generate} | {f.metric} | "
                     f"{f.published:g} | {r.hwsim:.3g} | {r.ratio:.2f} | {'yes' if f.target else 'no'} | {f.source} |")
    return "\n".join(lines) + "\n"


def update_docs(table: list[Row]) -> None:
    path = ROOT / "docs" / "validation.md"
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(BEGIN) + r"\n.*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{path}: no {BEGIN} ... {END} markers")
    path.write_text(pattern.sub(lambda _: f"{BEGIN}\n{markdown(table)}{END}", text), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update-docs", action="store_true")
    args = parser.parse_args()
    table = rows()
    if args.update_docs:
        update_docs(table)
    print(markdown(table))
    kv260 = FIGURES[0]
    print(f"{kv260.chip}: the array is an assumption; narrower weight-stationary arrays at 300 MHz give")
    for cols in (32, 64, 128, 256):
        r = run(kv260, cols=cols)
        print(f"  16 x {cols:3}: {r.hwsim:5.2f} tokens/s (ratio {r.ratio:.2f}), time to first token {r.ttft_s:.2f} s")
    inf2, encoding = FIGURES[1], FIGURES[2].published
    print(f"{inf2.chip}: the figure's other lengths (end-to-end s from 256 input tokens), and the decode step")
    for new, published in ((256, 15.9), (512, 31.7), (768, 47.3)):
        f = replace(inf2, generate=new, published=published)
        report = serve(f)
        r = row(f, report)
        assert report.tpot_s is not None
        print(f"  {new} new tokens: published {published:g} s, hwsim {r.hwsim:.2f} s (ratio {r.ratio:.2f}); "
              f"published per token {(published - encoding) / (new - 1) * 1e3:.1f} ms, hwsim {report.tpot_s * 1e3:.1f} ms")
    print("Inferentia2, AWS's one-chip figures (7B, 13B): hwsim's parts of the time per output token")
    for f in FIGURES[3:]:
        report = serve(f)
        assert report.tpot_s is not None and report.tpot_last_s is not None
        print(f"  {f.model}: time to first token {report.ttft_s * 1e3:.1f} ms, "
              f"decode step {report.tpot_s * 1e3:.1f} ms (last {report.tpot_last_s * 1e3:.1f} ms), "
              f"weights {report.memory.weight_bytes / 1e9:.2f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
