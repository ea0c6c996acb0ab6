"""Verilog emission and the manifest that describes the emitted design's ports and protocol."""

from __future__ import annotations

import hashlib
from typing import Any

from amaranth.back import verilog
from amaranth.lib import data, wiring

from hwsim.core import __version__
from hwsim.core.config import AcceleratorConfig

from ._controller import TileController
from ._params import Params, params

__all__ = ["generate_verilog", "ports", "manifest", "PROTOCOL"]

#: What the manifest says about the streams; docs/rtl.md#protocol is the long form.
PROTOCOL: dict[str, str] = {
    "clock": "clk: every register updates on the rising edge",
    "reset": "rst: synchronous, active high; registers also power up to their reset values",
    "streams": "cmd, w, a in and o out are valid/ready streams: a word moves in a cycle where valid and ready are both high; "
               "every ready, o.valid and done depend on registers only, never combinationally on an input",
    "cmd": "one tile {m, k, n, accumulate, emit}; 1 <= m <= acc_depth, 1 <= k <= k_max, 1 <= n <= cols; accepted while idle",
    "w": "the tile's k x n block of B, rows 0..k-1 in order, lane c = column c (lanes >= n ignored)",
    "a": "the tile's m x k block of A fold by fold: fold f sends rows 0..m-1 of columns f*rows .. f*rows+rows-1, "
         "lane r = column f*rows+r (lanes past k ignored)",
    "o": "when emit: the m result rows in order, lane c = column c, lanes >= n zero",
    "done": "high for one cycle, the first idle cycle after a tile; a command presented then is accepted in that cycle",
    "accumulate": "accumulate = 1 adds onto the partial sums left in accumulator rows 0..m-1 by the previous tile (K split across tiles)",
    "stalls": "the array never stalls: a missing activation word sends a bubble through it, and results wait in an output "
              "queue whose space is reserved before the activations that produce them are taken",
    "timing": "cycles from the command transfer to done with every valid and ready high: hwsim.core.timing.ws_tile_cycles "
              "(docs/rtl.md#timing)",
}


def generate_verilog(cfg: AcceleratorConfig, target: str = "generic") -> str:
    """The Verilog of the design for ``cfg``: top module ``cfg.module_name``, no source paths, no dates.

    ``target`` (rtl._dsp.TARGETS) says how the multipliers and accumulator memories are written:
    portable Verilog (``generic``, the default: what is simulated and linted) or an FPGA family's
    DSP and block RAM primitives (``ecp5``, ``ice40``) with the same registers and cycles.
    """
    p = params(cfg, target)
    return verilog.convert(TileController(p), name=p.cfg.module_name, emit_src=False)


def _describe(shape: Any) -> dict[str, Any]:
    if isinstance(shape, data.ArrayLayout):
        return {"lanes": shape.length, "lane_bits": data.Shape.cast(shape.elem_shape).width, "signed": True}
    if isinstance(shape, data.StructLayout):
        return {"fields": [{"name": name, "offset": f.offset, "width": f.width} for name, f in shape]}
    return {}


def ports(p: Params) -> list[dict[str, Any]]:
    """Every top-level port: name, direction, width, and the layout of payloads."""
    sig = TileController.signature_for(p)
    out: list[dict[str, Any]] = [
        {"name": "clk", "direction": "input", "width": 1},
        {"name": "rst", "direction": "input", "width": 1},
    ]
    for path, member, value in sig.flatten(sig.create()):
        entry = {"name": "__".join(map(str, path)), "direction": "input" if member.flow == wiring.In else "output",
                 "width": data.Shape.cast(member.shape).width}
        entry.update(_describe(member.shape))
        out.append(entry)
    return out


def manifest(cfg: AcceleratorConfig, files: dict[str, bytes]) -> dict[str, Any]:
    """The manifest of a design directory holding ``files`` (name -> bytes)."""
    p = params(cfg)
    return {
        "generator": f"hwsim {__version__}",
        "module": p.cfg.module_name,
        "config": cfg.to_dict(),
        "limits": {"acc_depth": p.cfg.acc_depth, "k_max": p.cfg.k_max, "n_max": p.cfg.cols},
        "ports": ports(p),
        "protocol": PROTOCOL,
        "files": {name: {"sha256": hashlib.sha256(blob).hexdigest(), "bytes": len(blob)} for name, blob in files.items()},
    }
