"""An analytic model of SCALE-Sim 3.0's memory stalls (double_buffered_scratchpad_mem.py).

SCALE-Sim serves one demand line per cycle. Each line asks the ifmap and filter read buffers and
the ofmap write buffer for some words; the line waits for the slowest (``stall = max`` of the
three), and every stall delays all later lines. The model below follows that machinery at the
granularity of folds and buffer events instead of words, which is what makes it fast:

Read buffers (USER mode; CALC mode reads never stall). SCALE-Sim lays the operand out in its
*prefetch order* and cuts it into ``n`` sets of ``eps = ceil(words / 100)`` valid entries. A window
of ``na`` sets (the active half) is resident; the first window is loaded before the layer starts.
When a demanded entry lies outside the window, the window moves forward by ``np`` sets (wrapping
around the operand) until it covers it; each move is one prefetch of the other half and costs
``D = ceil(prefetch_words / bandwidth) + 1`` cycles. Prefetches run back to back regardless of
demand: move ``k`` of a layer completes at cycle ``A_k = k * D - 1``. A line that needs move ``k``
at cycle ``v`` resumes at ``A_k + max(0, A_k - v)``: SCALE-Sim charges a late prefetch twice.

Where the entries lie in the prefetch order (the operand's folds stacked, in anti-diagonal order
for operands that stream in skewed, row by row for the stationary one) and in what order the folds
demand them decides how often the window moves: a new column fold re-reads the streamed operand,
folds that overlap in the diagonal order step back across a set boundary, and the stationary
operand is read bottom row first. The model reproduces all three. It counts positions, except for
a convolution from a topology file whose windows overlap or hang over the input's edge: there it
follows the ifmap word by word and looks each word up by address as SCALE-Sim does (an input
element repeated in the im2col matrix hits through any copy in the window; holes take no place).

Write buffer. The ofmap buffer accepts words until it holds more than its drain half; then it
drains ``ceil(half / bandwidth)`` lines of ``bandwidth`` words, one line per cycle, freeing the
space at once. While a drain runs, a line that would overfill the buffer waits for the drain to
end. Writes per line follow each fold's skewed output block exactly.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from hwsim.core.config import AcceleratorConfig
from hwsim.core.workload import Workload

from ._compute import FoldMap, groups, layer_fold_map
from ._config import ScaleSimOptions
from ._topology import ConvGeometry, ConvLayer

__all__ = ["layer_stalls", "stall_cycles", "layer_traffic", "dram_words"]

#: SCALE-Sim's buffers hand half their capacity to the array and prefetch into the other half.
ACTIVE_FRACTION = 0.5
#: The span of a hole in a by-address demand: wider than any window, so never a miss.
_NEVER_MISSES = 1 << 30


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True)
class _Window:
    """The read buffer's sets and window for an operand of ``valid`` entries (read_buffer.py)."""

    eps: int
    n: int
    na: int
    np_: int
    move_cycles: int

    @classmethod
    def of(cls, buffer_kib: float, valid: int, bandwidth: int) -> _Window:
        words = int(buffer_kib * 1024)
        active = math.ceil(words * ACTIVE_FRACTION)
        prefetch = words - active
        eps = _ceil(words, 100)
        n = valid // eps + 1
        na = min(_ceil(active, eps), n)
        np_ = min(_ceil(prefetch, eps), n - na)
        return cls(eps=eps, n=n, na=na, np_=np_, move_cycles=_ceil(prefetch, bandwidth) + 1)


@dataclass(frozen=True)
class _Needs:
    """An operand's demand in line order: set ``s[i]`` is first needed at line ``line[i]``.

    Entry ``i`` with ``run[i]`` true ends a monotone run that started at entry ``i - 1``: the sets
    in between are needed in order, rank ``r`` at line ``l0 + (r - r0) * (line - l0) / (r1 - r0)``.
    With ``span``, entry ``i`` is one word whose address lies in sets ``s[i] .. s[i] + span[i]``
    (its first and last copies): any of them in the window is a hit; entry ``i`` is needed at line
    ``line_at(i)`` instead, and such needs repeat ``passes`` times, ``pass_lines`` lines apart.
    """

    s: np.ndarray
    line: np.ndarray
    run: np.ndarray | None = None
    r0: np.ndarray | None = None
    r1: np.ndarray | None = None
    l0: np.ndarray | None = None
    span: np.ndarray | None = None
    line_at: Callable[[int], int] | None = None
    passes: int = 1
    pass_lines: int = 0


def _moves(needs: _Needs, w: _Window) -> tuple[list[int], list[int]]:
    """(lines, moves): the window's moves, at the lines that need them, in line order."""
    lines: list[int] = []
    counts: list[int] = []
    if not w.np_:
        return lines, counts
    if needs.span is not None:
        return _moves_by_address(needs, w)
    n, na, np_, eps = w.n, w.na, w.np_, w.eps
    s, line = needs.s.tolist(), needs.line.tolist()
    run = needs.run.tolist() if needs.run is not None else [False] * len(s)
    a = 0
    for i, si in enumerate(s):
        # A run climbs from the previous entry's set (which is in the window) through every set
        # up to this one, so it leaves the window wherever the window ends, even if this set is in.
        delta = (s[i - 1] - a) % n + si - s[i - 1] if run[i] else (si - a) % n
        if delta < na:
            continue
        count = -(-(delta - na + 1) // np_)
        if run[i]:
            # Move t happens when the run reaches the set just past the window after t moves.
            assert needs.r0 is not None and needs.r1 is not None and needs.l0 is not None
            first = s[i - 1] + na - (s[i - 1] - a) % n
            r0, r1, l0 = int(needs.r0[i]), int(needs.r1[i]), int(needs.l0[i])
            span, width = max(1, r1 - r0), line[i] - l0
            for t in range(count):
                rank = (first + t * np_) * eps
                lines.append(l0 + width * min(span, max(0, rank - r0)) // span)
                counts.append(1)
        else:
            lines.append(line[i])
            counts.append(count)
        a = (a + count * np_) % n
    return lines, counts


def _moves_by_address(needs: _Needs, w: _Window) -> tuple[list[int], list[int]]:
    """:func:`_moves` for word-by-word needs: skip the hits in vectorised chunks."""
    assert needs.span is not None and needs.line_at is not None
    s, span, line_at = needs.s, needs.span, needs.line_at
    n, na, np_ = w.n, w.na, w.np_
    lines: list[int] = []
    counts: list[int] = []
    a, size, gap = 0, len(s), 1024
    for p in range(needs.passes):
        offset = p * needs.pass_lines
        i, chunk = 0, gap
        while i < size:
            stop = min(size, i + chunk)
            delta = s[i:stop] - a
            delta[delta < 0] += n
            miss = np.flatnonzero((delta >= na) & (delta + span[i:stop] < n))
            if miss.size == 0:
                i, chunk = stop, chunk * 2
                continue
            j = i + int(miss[0])
            count = _ceil(int(delta[miss[0]]) - na + 1, np_)
            lines.append(offset + line_at(j))
            counts.append(count)
            a = (a + count * np_) % n
            # Misses come about one window apart: look that far ahead first.
            gap = max(1024, j + 1 - i)
            i, chunk = j + 1, gap
    return lines, counts


def _anti_diagonal(h: int, w: int) -> np.ndarray:
    """The flat indices of an ``h x w`` row-major matrix in anti-diagonal order: diagonal
    ``d = row + col`` ascending, each diagonal by column ascending.

    >>> _anti_diagonal(3, 2).tolist()  # [[0, 1], [2, 3], [4, 5]]
    [0, 2, 1, 4, 3, 5]
    """
    col = np.arange(w, dtype=np.int64)[None, :]
    if h < w:
        row = np.arange(h + w - 1, dtype=np.int64)[:, None] - col
        return (row * w + col)[(row >= 0) & (row < h)]
    # Diagonals w - 1 .. h - 1 are whole: no mask there, only on the ragged ends.
    head = np.arange(w - 1, dtype=np.int64)[:, None] - col
    tail = np.arange(h, h + w - 1, dtype=np.int64)[:, None] - col
    middle = np.arange(w - 1, h, dtype=np.int64)[:, None] * w - col * (w - 1)
    return np.concatenate([(head * w + col)[head >= 0], middle.ravel(), (tail * w + col)[tail < h]])


def _ifmap_by_address(fm: FoldMap, g: ConvGeometry, eps: int) -> tuple[_Needs, int]:
    """The ifmap demand word by word, looked up by address like SCALE-Sim does: with overlapping
    windows an input element sits in several places of the prefetch order, and the window holds
    it if it holds any of them (first to last copy, which lie closer together than a window);
    windows that hang over the input's edge leave holes that take no place in that order."""
    R, C, L = fm.rows, fm.cols, fm.fold_cycles
    m, k = g.out_h * g.out_w, g.fh * g.fw * g.c
    stationary = fm.dataflow == "is"
    # The prefetch order stacks the blocks the folds use, ``nb`` blocks of ``tb x width``:
    # is, blocks of C ofmap pixels (rows = K); os, blocks of R pixels (rows = K); ws, blocks of
    # R columns of K (rows = pixels). Built in that layout directly, as (block, row, column).
    b = np.arange(fm.col_folds if stationary else fm.row_folds, dtype=np.int32)[:, None, None]
    if fm.dataflow == "ws":
        width, tb = R, m
        c = np.arange(width, dtype=np.int32)[None, None, :]
        blocks = g.addresses(np.arange(tb, dtype=np.int32)[None, :, None], b * width + c)
    else:
        width, tb = (C if stationary else R), k
        c = np.arange(width, dtype=np.int32)[None, None, :]
        blocks = g.addresses(b * width + c, np.arange(tb, dtype=np.int32)[None, :, None])
    nb = blocks.shape[0]
    stacked = blocks.reshape(nb * tb, width)
    order = stacked.ravel() if stationary else stacked.ravel()[_anti_diagonal(nb * tb, width)]
    order = order[order >= 0]
    sets = np.arange(len(order), dtype=np.int32) // eps
    first = np.zeros(g.h * g.w * g.c, dtype=np.int32)
    last = np.zeros(g.h * g.w * g.c, dtype=np.int32)
    first[order[::-1]] = sets[::-1]  # the last assignment wins: the earliest copy
    last[order] = sets
    # Demand entries stay in place, holes (-1) included: a hole spans every set, so it never misses,
    # and the line of an entry follows from its index (looked up only at the few misses).
    if stationary:
        # Fold (column fold b, row fold j) loads rows j * R + R - 1 down to j * R of block b,
        # one row per line, at lines R - 1 - r of the fold: within a block row ``perm[t]`` goes
        # at line ``row_line[t]``.
        r = np.arange(tb)
        j = r // R
        perm = np.minimum(j * R + R, tb) - 1 - (r - j * R)  # each slice's rows, bottom first
        row_line = j * L + R - 1 - perm % R
        words = blocks[:, perm, :].ravel()
        block_lines = fm.row_folds * L

        def line_at(e: int) -> int:
            row = e // width
            return (row // tb) * block_lines + int(row_line[row % tb])

        passes, pass_lines = 1, 0
    else:
        # One pass over the blocks (column fold fc re-reads them all): block b streams its word
        # (i, c) at line pre + i + c of fold fc * nb + b, a line's words in column order.
        pre = R if fm.dataflow == "ws" else 0
        by_line = _anti_diagonal(tb, width)
        words = blocks.reshape(nb, tb * width)[:, by_line].ravel()
        diagonal = by_line // width + by_line % width
        per_block = tb * width

        def line_at(e: int) -> int:
            return (e // per_block) * L + pre + int(diagonal[e % per_block])

        passes, pass_lines = fm.col_folds, nb * L
    f = first[words]
    span = np.where(words >= 0, last[words] - f, _NEVER_MISSES)
    # A word right after one with the same sets always hits (the window covers what the one
    # before needed), so only the first of each such run is scanned: neighbours along a diagonal
    # mostly share their sets, which cuts the scan many times over.
    changes = np.flatnonzero(np.concatenate([[True], (f[1:] != f[:-1]) | (span[1:] != span[:-1])]))
    return _Needs(s=f[changes], line=np.empty(0, dtype=np.int32), span=span[changes],
                  line_at=lambda e: line_at(int(changes[e])), passes=passes, pass_lines=pass_lines), len(order)


def _streamed_needs(nb: int, tb: int, width: int, wv: int, pre: int, blocks: np.ndarray,
                    fold_len: int, eps: int) -> tuple[_Needs, int]:
    """An operand that streams in skewed: SCALE-Sim prefetches its ``nb`` blocks of ``tb x width``
    (the last one ``wv`` valid columns wide) stacked, in anti-diagonal order; fold ``f`` streams
    block ``blocks[f]``, whose element ``(i, c)`` it needs at line ``pre + i + c`` of the fold."""
    h = nb * tb
    valid = (nb - 1) * tb * width + tb * wv
    b = np.arange(nb)
    wvb = np.where(b == nb - 1, wv, width)
    cols = np.arange(width)
    col_rows = np.where(cols < wv, h, (nb - 1) * tb)  # valid rows of each column

    def rank(row: np.ndarray, col: np.ndarray) -> np.ndarray:
        """Valid entries before ``(row, col)`` in the prefetch order: the anti-diagonals before
        ``d = row + col``, then the entries of ``d`` in the rows below it (listed first), less
        those in the last block's padding columns."""
        d = row + col
        before = np.clip(d[:, None] - cols[None, :], 0, col_rows[None, :]).sum(axis=1)
        top = np.minimum(d, h - 1)
        padding = np.maximum(0, np.minimum(d - wv, top) - np.maximum(row + 1, (nb - 1) * tb) + 1)
        return before + top - row - padding

    rank_lo = rank(b * tb, np.zeros_like(b))
    rank_hi = rank(b * tb + tb - 1, wvb - 1)
    line_hi = pre + tb - 1 + wvb - 1
    f0 = np.arange(len(blocks)) * fold_len
    lo, hi = rank_lo[blocks], rank_hi[blocks]
    s = np.empty(2 * len(blocks), dtype=np.int64)
    s[0::2], s[1::2] = lo // eps, hi // eps
    line = np.empty_like(s)
    line[0::2], line[1::2] = f0 + pre, f0 + line_hi[blocks]
    run = np.zeros(len(s), dtype=bool)
    run[1::2] = True
    needs = _Needs(s=s, line=line, run=run, r0=np.repeat(lo, 2), r1=np.repeat(hi, 2), l0=np.repeat(f0 + pre, 2))
    return needs, valid


def _stationary_needs(nb: int, kb: int, width: int, wv: int, rows: int, fold_len: int,
                      eps: int) -> tuple[_Needs, int]:
    """The operand a ws/is fold holds still: SCALE-Sim prefetches its ``nb`` blocks of
    ``kb x width`` (the last ``wv`` valid columns wide) row by row; fold ``(b, j)`` (block
    outermost) loads rows ``j * rows ...`` of block ``b`` bottom row first, each row left to right.

    Only rows where the set changes matter: each fold's first (top) row and, for every set
    boundary, the row holding it and the row loaded after it.
    """
    valid = (nb - 1) * kb * width + kb * wv
    slices = _ceil(kb, rows)
    fold_b = np.repeat(np.arange(nb), slices)
    fold_j = np.tile(np.arange(slices), nb)
    top = np.minimum(fold_j * rows + rows, kb) - 1
    bound = np.arange(1, (valid - 1) // eps + 1) * eps
    block_words = kb * width
    bb = np.minimum(bound // block_words, nb - 1)
    br = (bound - bb * block_words) // np.where(bb == nb - 1, wv, width)
    below = br - 1
    same = (below >= 0) & (below // rows == br // rows)
    b = np.concatenate([fold_b, bb, bb[same]])
    r = np.concatenate([top, br, below[same]])
    j = r // rows
    fold = b * slices + j
    key = np.unique(fold * kb + (kb - 1 - r))  # demand order: fold, then rows downwards
    fold, r = key // kb, kb - 1 - key % kb
    b, j = fold // slices, r // rows
    wvb = np.where(b == nb - 1, wv, width)
    start = b * block_words + r * wvb
    s = np.empty(2 * len(r), dtype=np.int64)
    s[0::2], s[1::2] = start // eps, (start + wvb - 1) // eps
    line = np.repeat(fold * fold_len + rows - 1 - (r - j * rows), 2)
    keep = np.ones(len(s), dtype=bool)
    keep[1:] = s[1:] != s[:-1]
    return _Needs(s=s[keep], line=line[keep]), valid


def _read_needs(fm: FoldMap, m: int, k: int, n: int, eps_if: int, eps_fi: int,
                geometry: ConvGeometry | None = None) -> tuple[tuple[_Needs, int], tuple[_Needs, int]]:
    """(ifmap, filter) demand for the layer, in SCALE-Sim's fold order (column fold outermost).

    A convolution whose windows overlap or hang over the input's edge has its ifmap looked up
    word by word by address (its im2col entries repeat, or it has holes); every other demand is
    looked up by position, which is the same thing there and far cheaper.
    """
    R, C, L = fm.rows, fm.cols, fm.fold_cycles
    fr = np.tile(np.arange(fm.row_folds), fm.col_folds)
    fc = np.repeat(np.arange(fm.col_folds), fm.row_folds)
    if fm.dataflow == "ws":
        nb = fm.row_folds
        ifmap = _streamed_needs(nb, m, R, k - (nb - 1) * R, R, fr, L, eps_if)
        nf = fm.col_folds
        filt = _stationary_needs(nf, k, C, n - (nf - 1) * C, R, L, eps_fi)
    elif fm.dataflow == "os":
        nb = fm.row_folds
        ifmap = _streamed_needs(nb, k, R, m - (nb - 1) * R, 0, fr, L, eps_if)
        nf = fm.col_folds
        filt = _streamed_needs(nf, k, C, n - (nf - 1) * C, 0, fc, L, eps_fi)
    else:
        nb = fm.col_folds
        ifmap = _stationary_needs(nb, k, C, m - (nb - 1) * C, R, L, eps_if)
        nf = fm.row_folds
        filt = _streamed_needs(nf, n, R, k - (nf - 1) * R, R, fr, L, eps_fi)
    if geometry is not None and (geometry.overlapping or geometry.hangs):
        ifmap = _ifmap_by_address(fm, geometry, eps_if)
    return ifmap, filt


class _Writes:
    """Cumulative ofmap writes over the layer's demand lines (systolic_compute_*.py ofmap demand)."""

    def __init__(self, fm: FoldMap, m: int, k: int, n: int) -> None:
        R, C = fm.rows, fm.cols
        fc = np.repeat(np.arange(fm.col_folds), fm.row_folds)
        fr = np.tile(np.arange(fm.row_folds), fm.col_folds)
        cv = np.minimum(C, fm.sc - fc * C)
        if fm.dataflow == "os":
            h = np.minimum(R, fm.sr - fr * R)
            u0 = k - 1 + (R - h)  # the block's rows come out flipped after T - 1 idle lines
        else:
            h = np.full(fm.all_folds, m if fm.dataflow == "ws" else n)
            u0 = np.full(fm.all_folds, 2 * R - 1)
        self.h, self.w, self.u0 = h.tolist(), cv.tolist(), u0.tolist()
        self.fold_len = fm.fold_cycles
        self.cum = np.cumsum(h * cv).tolist()
        self.total = self.cum[-1]

    @staticmethod
    def _in_fold(x: int, h: int, w: int) -> int:
        """Writes of a skewed ``h x w`` block in its first ``x + 1`` lines (element (i, c) at i + c)."""
        y = x + 1
        c1 = min(max(y - h + 1, 0), w)
        c2 = min(max(y, 0), w)
        return c1 * h + (c2 - c1) * y - (c2 - 1 + c1) * (c2 - c1) // 2

    def upto(self, line: int) -> int:
        """Words written in lines ``0 .. line``."""
        if line < 0:
            return 0
        f = line // self.fold_len
        if f >= len(self.cum):
            return self.total
        done = self.cum[f - 1] if f else 0
        return done + self._in_fold(line - f * self.fold_len - self.u0[f], self.h[f], self.w[f])

    def line_of(self, q: int) -> int:
        """The line that writes word ``q`` (1-based): the inverse of :meth:`upto`."""
        f = bisect_left(self.cum, q)
        r = q - (self.cum[f - 1] if f else 0)
        h, w = self.h[f], self.w[f]
        a, b = min(h, w), max(h, w)
        ramp = a * (a + 1) // 2
        if r <= ramp:  # growing diagonals: y (y + 1) / 2 words in the first y lines
            y = (math.isqrt(8 * r + 1) - 1) // 2
            y += y * (y + 1) // 2 < r
        elif r <= ramp + (b - a) * a:  # full diagonals of a words
            y = a + _ceil(r - ramp, a)
        else:  # shrinking diagonals: z (z + 1) / 2 words in the last z lines
            z = (math.isqrt(8 * (h * w - r) + 1) - 1) // 2
            y = a + b - 1 - z
        return f * self.fold_len + self.u0[f] + y - 1


def _after_moves(v: int, ready: int, count: int, d: int) -> int:
    """When a line resumes after ``count`` window moves, the first ready at cycle ``ready`` and
    each next one ``d`` cycles later, if it asked at cycle ``v``.

    SCALE-Sim resumes at ``ready + max(0, ready - v)`` after each move; the excess over the last
    ready cycle then alternates between ``x`` and ``d - x`` (or between 0 and ``d`` once ``x > d``).
    """
    x = max(0, ready - v)
    last = ready + (count - 1) * d
    if count == 1:
        return last + x
    if x > d:
        return last + (0 if count % 2 == 0 else d)
    return last + (x if count % 2 else d - x)


def _timeline(lines: int, reads: Sequence[tuple[list[int], list[int], int]], writes: _Writes,
              ofmap_kib: float, write_bw: int) -> int:
    """Stall cycles of the layer: the read buffers' moves and the write buffer, in line order."""
    # Read moves merged in line order (ifmap before filter within a line).
    events = sorted((line, op, count) for op, (ls, cs, _) in enumerate(reads) for line, count in zip(ls, cs))
    move_cycles = [d for _, _, d in reads]
    done = [0] * len(reads)
    nev, ri = len(events), 0

    tot = int(ofmap_kib * 1024)
    drain_half = tot - math.ceil(tot * ACTIVE_FRACTION)
    drain_lines = _ceil(drain_half, write_bw)
    total_words = writes.total
    freed, drain_end = 0, 0  # words handed to DRAM so far; cycle the running drain ends
    done_words = 0  # words of the lines already replayed
    trig_word, trig_line, full_word, full_line = 0, 0, 0, 0  # line_of cache
    stall = 0
    inf = lines + 1
    while True:
        # The next write event after the replayed lines: a drain that starts (the buffer holds
        # more than its drain half and no drain runs), or a word that overfills it during a drain.
        nxt = inf
        q = max(freed + drain_half + 1, done_words + 1)
        if q <= total_words:
            if q != trig_word:
                trig_word, trig_line = q, writes.line_of(q)
            nxt = trig_line
            if trig_line + stall < drain_end:
                first = writes.upto(math.ceil(drain_end - stall) - 1) + 1
                nxt = writes.line_of(first) if first <= total_words else inf
        q = freed + tot
        if done_words < q <= total_words:
            if q != full_word:
                full_word, full_line = q, writes.line_of(q)
            if full_line + stall < drain_end and full_line < nxt:
                nxt = full_line
        line = events[ri][0] if ri < nev and events[ri][0] < nxt else nxt
        if line >= lines:
            break
        cycle = line + stall
        line_stall = 0
        while ri < nev and events[ri][0] == line:
            # All moves of one operand in this line chain; a late prefetch costs twice its lateness.
            op, count = events[ri][1], 0
            while ri < nev and events[ri][0] == line and events[ri][1] == op:
                count += events[ri][2]
                ri += 1
            d = move_cycles[op]
            v = _after_moves(cycle + 1, (done[op] + 1) * d - 1, count, d)
            done[op] += count
            line_stall = max(line_stall, v - cycle - 1)
        # This line's writes: at most one overfill wait and one drain start.
        word, last = max(writes.upto(line - 1), done_words) + 1, writes.upto(line)
        t = cycle
        while word <= last:
            if t < drain_end:
                full = freed + tot
                if full > last:
                    break
                t = drain_end  # the overfilling word waits for the running drain
                word = max(word, full) + 1
                continue
            trigger = max(word, freed + drain_half + 1)
            if trigger > last:
                break
            occupancy = trigger - freed
            lines_now = min(drain_lines, _ceil(occupancy, write_bw))
            freed += min(lines_now * write_bw, occupancy)
            drain_end = t + lines_now - 1
            word = trigger + 1
        done_words = max(done_words, last)
        stall += max(line_stall, t - cycle)
    return stall


def layer_stalls(cfg: AcceleratorConfig, fm: FoldMap, m: int, k: int, n: int, options: ScaleSimOptions,
                 geometry: ConvGeometry | None = None) -> int:
    """Stall cycles of one SCALE-Sim layer (one group)."""
    reads: list[tuple[list[int], list[int], int]] = []
    if options.reads_stall:
        total_if, total_fi = int(cfg.ifmap_kib * 1024), int(cfg.filter_kib * 1024)
        eps_if, eps_fi = _ceil(total_if, 100), _ceil(total_fi, 100)
        (if_needs, if_valid), (fi_needs, fi_valid) = _read_needs(fm, m, k, n, eps_if, eps_fi, geometry)
        for needs, valid, kib, bw in ((if_needs, if_valid, cfg.ifmap_kib, options.ifmap_bank_bandwidth),
                                      (fi_needs, fi_valid, cfg.filter_kib, options.filter_bank_bandwidth)):
            window = _Window.of(kib, valid, bw)
            reads.append((*_moves(needs, window), window.move_cycles))
    writes = _Writes(fm, m, k, n)
    return _timeline(fm.lines, reads, writes, cfg.ofmap_kib, options.write_bandwidth(cfg.cols))


def layer_traffic(cfg: AcceleratorConfig, fm: FoldMap, m: int, k: int, n: int, options: ScaleSimOptions,
                  geometry: ConvGeometry | None = None) -> tuple[int, int, int]:
    """Words one SCALE-Sim layer (one group) moves over DRAM: (ifmap read, filter read, ofmap written).

    The ofmap buffer drains every word the array writes into it (ws writes its partial sums once
    per row fold), in both modes. The reads follow the buffers of each mode:

    * USER (read_buffer.py): the same window moves as the stalls. A buffer fetches its first window
      (``na`` sets of ``eps`` words, at most the operand) and one prefetch half (``np`` sets) per move.
    * CALC (read_buffer_estimate_bw.py): the buffer keeps the words last fetched and fetches only
      those it misses, so an operand is read once if it fits the active half, else once per pass
      over it (the streamed operand is passed once per fold of the other operand's dimension; the
      stationary one once). Im2col copies of one input word count as words: an upper bound for
      convolutions whose windows overlap.
    """
    if not options.reads_stall:
        active_if = math.ceil(cfg.ifmap_kib * 1024 * ACTIVE_FRACTION)
        active_fi = math.ceil(cfg.filter_kib * 1024 * ACTIVE_FRACTION)

        def passes(words: int, folds: int, active: int) -> int:
            return words * (folds if words > active else 1)

        if fm.dataflow == "ws":
            reads = passes(m * k, fm.col_folds, active_if), k * n
        elif fm.dataflow == "os":
            reads = passes(m * k, fm.col_folds, active_if), passes(k * n, fm.row_folds, active_fi)
        else:
            reads = m * k, passes(k * n, fm.col_folds, active_fi)
        return reads[0], reads[1], _Writes(fm, m, k, n).total
    total_if, total_fi = int(cfg.ifmap_kib * 1024), int(cfg.filter_kib * 1024)
    eps_if, eps_fi = _ceil(total_if, 100), _ceil(total_fi, 100)
    words = []
    for (needs, valid), kib in zip(_read_needs(fm, m, k, n, eps_if, eps_fi, geometry), (cfg.ifmap_kib, cfg.filter_kib)):
        window = _Window.of(kib, valid, 1)
        moves = sum(_moves(needs, window)[1])
        words.append(min(valid, window.na * window.eps) + moves * window.np_ * window.eps)
    return words[0], words[1], _Writes(fm, m, k, n).total


def dram_words(cfg: AcceleratorConfig, layer: Workload, options: ScaleSimOptions | None = None) -> tuple[int, int, int]:
    """:func:`layer_traffic` for a GEMM layer, all its groups: (ifmap read, filter read, ofmap written)."""
    opts = options if options is not None else ScaleSimOptions.for_config(cfg)
    fm = layer_fold_map(cfg, layer)
    g = layer.gemm
    assert g is not None  # layer_fold_map rejects other kinds
    geometry = layer.geometry if isinstance(layer, ConvLayer) else None
    count = groups(layer)
    ifmap, filt, ofmap = layer_traffic(cfg, fm, g.m, g.k, g.n, opts, geometry)
    return count * ifmap, count * filt, count * ofmap


def stall_cycles(cfg: AcceleratorConfig, layer: Workload, options: ScaleSimOptions | None = None) -> int:
    """SCALE-Sim 3.0's "Stall Cycles" for a GEMM layer, from the analytic model above.

    ``options`` come with a ``.cfg`` (:func:`hwsim.scalesim.load_scalesim_config`); without them the
    buffers move ``cfg.dram_bytes_per_cycle`` words per cycle (:meth:`ScaleSimOptions.for_config`).
    """
    fm = layer_fold_map(cfg, layer)
    opts = options if options is not None else ScaleSimOptions.for_config(cfg)
    g = layer.gemm
    assert g is not None  # layer_fold_map rejects other kinds
    geometry = layer.geometry if isinstance(layer, ConvLayer) else None
    return groups(layer) * layer_stalls(cfg, fm, g.m, g.k, g.n, opts, geometry)
