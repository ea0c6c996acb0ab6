"""Decode steps position by position, without scheduling a whole graph per position.

A decode step at past length ``L`` is the same graph at every ``L``; only the attention's part of it
changes: the scores and values GEMMs (``n`` or ``k`` = ``L + 1``), the mask and softmax over the
scores, the cache they read. Contract:

- :class:`Positional` holds a step's workloads as exact affine functions of ``L``, from two
  lowerings at ``L`` and ``L + 1`` (:meth:`Positional.check` holds it to a third): every count of
  every workload is ``a + b (L - L0)``. The tensors whose size changes are the KV cache and what
  grows with it; they stay in DRAM (``dram_only``, :func:`compiler.residency.plan`), as the step's
  cache does on a real accelerator.
- :func:`schedule_positions` gives, for every ``L`` asked for, the step's program as
  :func:`compiler.schedule.schedule_model` would make it for ``positional.at(L)`` with the same
  ``dram_only``, exactly: position-independent layers once per residency plan, the attention's
  layers at each ``L``, workloads that cost the same (the same attention in every transformer
  layer) scheduled once. Residency depends on ``L`` only through the staging space each attention
  layer reserves; the plan made with every reserve at its smallest over a range of positions and
  the plan made with every reserve at its largest are compared, and where they agree every
  position between gets the same plan (each of the planner's comparisons is monotone in the
  reserves); where they disagree the range is halved, down to single positions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Iterable, Sequence

from hwsim.core.config import AcceleratorConfig
from hwsim.core.errors import InternalError
from hwsim.core.program import LayerSchedule
from hwsim.core.workload import EpilogueStep, GemmShape, Kind, LoweredModel, TensorRef, Workload

from ..residency import LayerResidency, decisions, plan, resize
from ..schedule import Choices, layer_schedule, reserves

__all__ = ["Positional", "StepGroup", "StepSchedule", "schedule_positions"]


def _ints(w: Workload) -> tuple[int, ...]:
    """Every count of ``w``, in a fixed order (:func:`_rebuild` is its inverse)."""
    g = w.gemm
    out = [g.m, g.k, g.n, g.groups, g.taps, g.row] if g is not None else []
    out += [w.input_elems, w.weight_elems, w.output_elems, w.vector_ops]
    for r in w.inputs + w.outputs:
        out += [r.elems, r.size]
    out += [e.vector_ops for e in w.epilogue]
    return tuple(out)


def _rebuild(w: Workload, values: Sequence[int]) -> Workload:
    it = iter(values)
    gemm = GemmShape(*(next(it) for _ in range(6))) if w.gemm is not None else None
    input_elems, weight_elems, output_elems, vector_ops = (next(it) for _ in range(4))
    refs = [TensorRef(r.name, next(it), next(it), r.role, r.bits) for r in w.inputs + w.outputs]
    epilogue = tuple(EpilogueStep(e.op, e.family, next(it)) for e in w.epilogue)
    return replace(w, gemm=gemm, input_elems=input_elems, weight_elems=weight_elems, output_elems=output_elems,
                   vector_ops=vector_ops, inputs=tuple(refs[:len(w.inputs)]), outputs=tuple(refs[len(w.inputs):]),
                   epilogue=epilogue)


def _skeleton(w: Workload) -> tuple[object, ...]:
    """What must not change with the position: names, kinds, tensors, roles, widths."""
    return (w.name, w.op, w.kind, w.b_is_weight, w.gemm is None, w.nodes,
            tuple((r.name, r.role, r.bits) for r in w.inputs), tuple((r.name, r.role, r.bits) for r in w.outputs),
            tuple((e.op, e.family) for e in w.epilogue))


@dataclass(frozen=True)
class Positional:
    """A decode step's workloads as affine functions of the past length (module docstring)."""

    base: LoweredModel
    past: int
    slopes: tuple[tuple[int, ...], ...]

    @classmethod
    def of(cls, at: LoweredModel, at_next: LoweredModel, past: int) -> Positional:
        """From the step lowered at past lengths ``past`` and ``past + 1``."""
        if len(at.workloads) != len(at_next.workloads) or any(
                _skeleton(a) != _skeleton(b) for a, b in zip(at.workloads, at_next.workloads)):
            raise InternalError(f"{at.name}: the decode step's graph changes with the position, not just its sizes")
        slopes = tuple(tuple(y - x for x, y in zip(_ints(a), _ints(b))) for a, b in zip(at.workloads, at_next.workloads))
        return cls(at, past, slopes)

    @property
    def dynamic(self) -> tuple[int, ...]:
        """Indices of the workloads whose counts change with the position."""
        return tuple(i for i, s in enumerate(self.slopes) if any(s))

    @property
    def dram_only(self) -> frozenset[str]:
        """Tensors whose size changes with the position (the KV cache and what grows with it)."""
        names = set()
        for i in self.dynamic:
            w = self.base.workloads[i]
            for j, r in enumerate(w.inputs + w.outputs):
                if self._ref_slope(i, j)[1]:
                    names.add(r.name)
        return frozenset(names)

    def _ref_slope(self, i: int, j: int) -> tuple[int, int]:
        w = self.base.workloads[i]
        start = (5 if w.gemm is not None else 0) + 4 + 2 * j
        return self.slopes[i][start], self.slopes[i][start + 1]

    def workload(self, i: int, past: int) -> Workload:
        w = self.base.workloads[i]
        if not any(self.slopes[i]):
            return w
        delta = past - self.past
        values = [a + s * delta for a, s in zip(_ints(w), self.slopes[i])]
        if min(values) < 0:
            raise InternalError(f"{w.name}: a count turns negative at past length {past}")
        return _rebuild(w, values)

    def at(self, past: int) -> LoweredModel:
        """The step's workloads at past length ``past``."""
        return replace(self.base, workloads=tuple(self.workload(i, past) for i in range(len(self.slopes))))

    def check(self, lowered: LoweredModel, past: int) -> None:
        """Raise :class:`InternalError` unless ``lowered`` (the step lowered at ``past``) is :meth:`at` ``past``."""
        if lowered.workloads != self.at(past).workloads:
            raise InternalError(f"{lowered.name}: the decode step's counts are not affine in the position")


@dataclass(frozen=True)
class StepGroup:
    """Attention workloads of a step that cost the same: one's schedule, and which workloads share it."""

    schedule: LayerSchedule
    members: tuple[int, ...]


@dataclass(frozen=True)
class StepSchedule:
    """One decode step's program: ``static`` (index -> schedule) for the layers that do not depend
    on the position, shared by every position with the same residency plan (``plan`` numbers it),
    and ``groups`` for the rest at this position."""

    past: int
    plan: int
    static: dict[int, LayerSchedule]
    groups: tuple[StepGroup, ...]

    def layers(self) -> list[LayerSchedule]:
        """Every layer's schedule in execution order (what :func:`compiler.schedule.schedule_model`
        gives for the step); the groups' members get their representative's schedule."""
        out = dict(self.static)
        for g in self.groups:
            for i in g.members:
                out[i] = g.schedule
        return [out[i] for i in sorted(out)]


def _shape_key(w: Workload, slope: tuple[int, ...]) -> tuple[object, ...]:
    """Workloads with equal keys have equal counts, roles and widths at every position."""
    return (w.kind, w.op, w.b_is_weight, _ints(w), slope, tuple((r.role, r.bits) for r in w.inputs),
            tuple(r.bits for r in w.outputs), tuple((e.op, e.family) for e in w.epilogue))


def _group_key(w: Workload, slope: tuple[int, ...], res: LayerResidency) -> tuple[object, ...]:
    """Workloads with equal keys have equal schedules at every position."""
    flags = (tuple((p.on_chip, p.dram) for p in res.reads), tuple((p.on_chip, p.dram) for p in res.writes),
             tuple(p.bytes for p in res.spills), res.resident_bytes)
    return _shape_key(w, slope) + (flags,)


def schedule_positions(positional: Positional, cfg: AcceleratorConfig, pasts: Iterable[int],
                       choices: Choices | None = None) -> list[StepSchedule]:
    """The step's program at each past length in ``pasts`` (sorted, distinct), exactly (module docstring)."""
    choices = {} if choices is None else choices
    pasts = sorted(set(pasts))
    if not pasts:
        return []
    dynamic = positional.dynamic
    dram_only = positional.dram_only
    base = positional.at(pasts[0])
    static_off, static_on = reserves(base, cfg, choices)
    # Attention layers alike at one position are alike at every position: reserve staging for one of each.
    kinds: dict[tuple[object, ...], int] = {}
    rep = [kinds.setdefault(_shape_key(base.workloads[i], positional.slopes[i]), i) for i in dynamic]
    distinct = sorted(set(rep))
    dyn_off: dict[int, list[int]] = {}
    dyn_on: dict[int, list[int]] = {}
    for past in pasts:
        step = LoweredModel(base.name, tuple(positional.workload(i, past) for i in distinct))
        off, on = reserves(step, cfg, choices)
        at = {i: j for j, i in enumerate(distinct)}
        dyn_off[past], dyn_on[past] = [off[at[r]] for r in rep], [on[at[r]] for r in rep]

    def planned(past: int, pick: Callable[[Iterable[int]], int], span: Sequence[int]) -> list[LayerResidency]:
        off, on = list(static_off), list(static_on)
        for j, i in enumerate(dynamic):
            off[i] = pick(dyn_off[p][j] for p in span)
            on[i] = pick(dyn_on[p][j] for p in span)
        return plan(positional.at(past), cfg, off, on, dram_only)

    ranges: list[tuple[list[int], list[LayerResidency]]] = []
    pending = [pasts]
    while pending:
        span = pending.pop()
        low = planned(span[0], min, span)
        if len(span) == 1:
            ranges.append((span, low))
            continue
        high = planned(span[-1], max, span)
        if [decisions(r) for r in low] == [decisions(r) for r in high]:
            ranges.append((span, low))
        else:
            half = len(span) // 2
            pending += [span[half:], span[:half]]
    ranges.sort(key=lambda r: r[0][0])
    out: list[StepSchedule] = []
    statics: list[tuple[list[tuple[object, ...]], dict[int, LayerSchedule]]] = []
    dyn = set(dynamic)
    for span, residency in ranges:
        signature = [decisions(residency[i]) for i in range(len(residency)) if i not in dyn]
        number = next((n for n, (sig, _) in enumerate(statics) if sig == signature), None)
        if number is None:
            schedules = {i: layer_schedule(base.workloads[i], cfg, residency[i], choices)
                         for i in range(len(residency)) if i not in dyn}
            statics.append((signature, schedules))
            number = len(statics) - 1
        keys: dict[tuple[object, ...], list[int]] = {}
        for i in dynamic:
            keys.setdefault(_group_key(base.workloads[i], positional.slopes[i], residency[i]), []).append(i)
        for past in span:
            groups = []
            for members in keys.values():
                w = positional.workload(members[0], past)
                res = resize(residency[members[0]], w, cfg)
                groups.append(StepGroup(layer_schedule(w, cfg, res, choices), tuple(members)))
            out.append(StepSchedule(past, number, statics[number][1], tuple(groups)))
    return out
