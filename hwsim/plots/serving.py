"""The ``hwsim llm --plot`` figure: time per output token against the position, and where a decode
step's time goes, from the ``--json`` report's dict (:data:`hwsim.llm.LLM_SCHEMA`)."""

from __future__ import annotations

from typing import Any, Mapping

from .render import figure_bytes, fit, new_figure

__all__ = ["serving_image"]

_PHASE_COLOURS = {"projections": "#4c72b0", "attention_scores": "#dd8452", "attention_values": "#c44e52",
                  "mlp": "#55a868", "head": "#8172b3", "kv_write": "#937860", "vector": "#da8bc3",
                  "movement": "#8c8c8c", "other": "#ccb974"}


def serving_image(report: Mapping[str, Any], fmt: str = "png") -> bytes:
    """Two panels: each decode step's time (ms) against its context, the prefill's time (time to
    first token) marked; and the decode steps' time per phase."""
    fig = new_figure(11.0, 7.5, layout=None)
    line, bars = fig.add_subplot(2, 1, 1), fig.add_subplot(2, 1, 2)
    positions = report["positions"]
    title = (f"{report['model']} on {report['config']['name']}: prompt {report['prompt']}, "
             f"{report['generate']} generated, batch {report['batch']}, KV {report['kv_bits']} bits")
    if positions:
        line.plot([p["context"] for p in positions], [p["seconds"] * 1e3 for p in positions], color="#4c72b0",
                  label=f"time per output token (mean {report['tpot_s'] * 1e3:.3f} ms)")
        line.set_xlabel("context (tokens attended to)")
        line.set_ylabel("ms per decode step")
        line.legend(loc="lower right")
    else:
        line.text(0.5, 0.5, "no decode steps", ha="center", va="center", transform=line.transAxes)
    line.set_title(f"{title}\ntime to first token {report['ttft_s'] * 1e3:.3f} ms", fontsize=10)
    line.grid(alpha=0.3)
    part = report["decode"] if positions else report["prefill"]
    phases = [(name, cost["seconds"] * 1e3 / max(1, len(positions))) for name, cost in part["phases"].items()
              if cost["seconds"] > 0]
    names = [name for name, _ in phases]
    bars.barh(range(len(phases)), [ms for _, ms in phases], color=[_PHASE_COLOURS[n] for n in names])
    bars.set_yticks(range(len(phases)), names)
    bars.invert_yaxis()
    bars.set_xlabel("ms per decode step (mean)" if positions else "ms of the prefill")
    bars.set_title("decode step by phase" if positions else "prefill by phase", fontsize=10)
    bars.grid(axis="x", alpha=0.3)
    fit(fig, [(line, (0.0, 0.45, 1.0, 1.0)), (bars, (0.0, 0.0, 1.0, 0.45))])
    return figure_bytes(fig, fmt)
