"""Which activations stay on chip between layers: a liveness-based allocation of the activation
buffer over the layers in execution order (docs/model.md#residency).

Contract: :func:`plan` returns, per workload, where each tensor it reads and writes lives and which
resident tensors it evicts. At every layer the bytes of resident tensors plus the staging space
the layer reserves for its operands (``reserve``) never exceed ``cfg.activation_buffer_bytes``.
A tensor stays on chip from the layer that writes it to its last reader when it fits; when it does
not, the tensor whose next use lies furthest ahead leaves first (Belady's rule), written to DRAM
once if it has no copy there, and its later readers read it back from DRAM; nothing is evicted for
a new tensor that would not fit even then (it goes to DRAM instead). Model inputs start in
DRAM and model outputs are written to DRAM (they may also stay on chip for later readers). With
``cfg.residency`` off, or for tensors without a name (SCALE-Sim topologies), everything moves
through DRAM; so do the tensors the caller names ``dram_only`` (a decode step's KV cache). A written
tensor's bytes are what the layer writes of it (all of it, what it appends in place, or its slice of
a Concat written in place). A tensor written in parts by several layers (a Concat's producers) is
placed by its first writer, for its whole size; the later parts go where it is: into its space on
chip, or to DRAM. Evicted part-way, it spills the parts written so far.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import AbstractSet, Sequence

from hwsim.core.config import AcceleratorConfig
from hwsim.core.program import TensorPlace
from hwsim.core.workload import Kind, LoweredModel, Workload

__all__ = ["LayerResidency", "plan", "decisions", "resize"]


@dataclass(frozen=True)
class LayerResidency:
    """Where one layer's tensors live; ``resident_bytes`` is the activation buffer resident
    tensors hold while it runs (its resident inputs and kept outputs included)."""

    reads: tuple[TensorPlace, ...] = ()
    writes: tuple[TensorPlace, ...] = ()
    spills: tuple[TensorPlace, ...] = ()
    resident_bytes: int = 0


def plan(lowered: LoweredModel, cfg: AcceleratorConfig, reserve: Sequence[int],
         reserve_on_chip: Sequence[int], dram_only: AbstractSet[str] = frozenset()) -> list[LayerResidency]:
    """Residency for every workload of ``lowered``: ``reserve[i]`` is the staging space workload ``i``
    keeps free in the activation buffer when its streamed operand comes from DRAM,
    ``reserve_on_chip[i]`` when that operand is already on chip. Tensors named in ``dram_only`` never
    stay on chip: they are written to DRAM and read from there (a decode step's KV cache and what
    grows with it)."""
    workloads = lowered.workloads
    capacity = cfg.activation_buffer_bytes if cfg.residency else 0
    uses: dict[str, list[int]] = {}
    for i, w in enumerate(workloads):
        if w.kind is not Kind.VIEW:
            for r in w.inputs:
                uses.setdefault(r.name, []).append(i)
    outputs = set(lowered.outputs)

    def next_use(name: str, after: int) -> int | None:
        return next((j for j in uses.get(name, ()) if j > after), None)

    streamed = [next((r.name for r in w.inputs if r.role == "a"), None) for w in workloads]

    def staging(j: int, kept: str | None = None) -> int:
        """Layer ``j``'s reserve, given what is on chip now (and ``kept``, about to be)."""
        on_chip = streamed[j] is not None and (streamed[j] in resident or streamed[j] == kept)
        return reserve_on_chip[j] if on_chip else reserve[j]

    resident: dict[str, int] = {}  # tensor -> bytes held on chip
    filled: dict[str, int] = {}  # resident tensor -> bytes written to it so far (less than held when in parts)
    in_dram: set[str] = set()
    written: set[str] = set()
    result: list[LayerResidency] = []
    for i, w in enumerate(workloads):
        if w.kind is Kind.VIEW:
            result.append(LayerResidency(resident_bytes=sum(resident.values())))
            continue
        spills: list[TensorPlace] = []

        def evict(name: str) -> None:
            resident.pop(name)
            done = filled.pop(name)
            if name not in in_dram:
                spills.append(TensorPlace(name, done, on_chip=False, dram=True))
                in_dram.add(name)

        read_now = {r.name for r in w.inputs}
        # Make room for the layer's staging: evict what is needed furthest ahead, this layer's own
        # inputs last (those it then reads back from DRAM).
        while resident and sum(resident.values()) + staging(i) > capacity:
            evict(max(resident, key=lambda n: (n not in read_now, next_use(n, i) or len(workloads), n)))
        reads = tuple(TensorPlace(r.name, cfg.tensor_bytes(r.elems, r.bits), on_chip=r.name in resident,
                                  dram=r.name not in resident) for r in w.inputs)
        writes: list[TensorPlace] = []
        for out in w.outputs:
            part = cfg.tensor_bytes(out.elems, out.bits)
            if out.name in written:  # a later part of a tensor written in parts: where the tensor is
                writes.append(TensorPlace(out.name, part, on_chip=out.name in resident,
                                          dram=out.name not in resident or out.name in outputs))
                if out.name in resident:
                    filled[out.name] += part
                else:
                    in_dram.add(out.name)
                continue
            written.add(out.name)
            size = cfg.tensor_bytes(out.size, out.bits)
            later = next_use(out.name, i)
            keep = later is not None and capacity > 0 and out.name not in dram_only
            # It must stay beside the staging of every layer up to its reader, not just this one's.
            room = max(staging(j, out.name) for j in range(i, later + 1)) if keep else 0
            if keep:
                # Those needed after it may leave for it, furthest ahead first; if even all of them
                # would not make room, it is the one that goes to DRAM and nothing is evicted.
                victims = sorted((n for n in resident if n not in read_now and (next_use(n, i) or len(workloads)) > later),
                                 key=lambda n: (next_use(n, i) or len(workloads), n), reverse=True)
                keep = sum(resident.values()) - sum(resident[n] for n in victims) + size + room <= capacity
                for victim in victims if keep else ():
                    if sum(resident.values()) + size + room <= capacity:
                        break
                    evict(victim)
            to_dram = not keep or out.name in outputs
            if keep:
                resident[out.name] = size
                filled[out.name] = part
            if to_dram:
                in_dram.add(out.name)
            # What the layer writes: all of the tensor, or what it appends to one kept in DRAM.
            writes.append(TensorPlace(out.name, part, on_chip=keep, dram=to_dram))
        held = sum(resident.values())
        result.append(LayerResidency(reads, tuple(writes), tuple(spills), held))
        for name in list(resident):
            if next_use(name, i) is None:
                del resident[name]  # dead: its last reader has run
                del filled[name]
    return result


def decisions(res: LayerResidency) -> tuple[object, ...]:
    """What a layer's residency decided, without the sizes: where each tensor it reads and writes
    lives, what it spills, what stays on chip around it."""
    return (tuple((p.name, p.on_chip, p.dram) for p in res.reads),
            tuple((p.name, p.on_chip, p.dram) for p in res.writes), tuple(p.name for p in res.spills), res.resident_bytes)


def resize(res: LayerResidency, w: Workload, cfg: AcceleratorConfig) -> LayerResidency:
    """``res``'s decisions for ``w``, a workload with the same tensors at other sizes (a decode step
    at a later position): each read and write keeps its place, its bytes are ``w``'s."""
    if w.kind is Kind.VIEW:
        return res
    if [p.name for p in res.reads] != [r.name for r in w.inputs] or \
            [p.name for p in res.writes] != [r.name for r in w.outputs]:
        raise ValueError(f"workload {w.name!r} does not read and write the tensors of the residency it is given")
    reads = tuple(TensorPlace(p.name, cfg.tensor_bytes(r.elems, r.bits), p.on_chip, p.dram)
                  for p, r in zip(res.reads, w.inputs))
    writes = tuple(TensorPlace(p.name, cfg.tensor_bytes(r.elems, r.bits), p.on_chip, p.dram)
                   for p, r in zip(res.writes, w.outputs))
    return LayerResidency(reads, writes, res.spills, res.resident_bytes)
