"""One row of sites: pack cells in order near their target sites, insert tap cells so that no site is
further than half a tap pitch from a tap, then cover every empty site with fill / decap cells.

Everything here counts in sites (integers); the caller turns sites into nm.
"""
from __future__ import annotations

import numpy as np


def tap_reserve(width_sites: int, pitch_sites: int, max_cell_sites: int) -> int:
    """Upper bound on the taps a row segment of `width_sites` needs (taps forced early by wide cells)."""
    step = max(1, pitch_sites - max_cell_sites + 1)
    return -(-width_sites // step) + 1


def pack_row(widths: np.ndarray, targets: np.ndarray, row_sites: int, pitch_sites: int
             ) -> tuple[np.ndarray, list[int]] | None:
    """Left edges (sites) for cells given in left-to-right order, and the tap sites.

    Cells stay in the given order and as close to their targets as the cells still to come allow.
    Consecutive taps are at most `pitch_sites` apart and the row ends are at most (pitch-1)//2 sites
    from a tap. Returns None when the cells do not fit in the row.
    """
    n = len(widths)
    half = (pitch_sites - 1) // 2
    maxw = int(widths.max()) if n else 1
    if maxw >= pitch_sites:
        raise ValueError(f"a cell of {maxw} sites is wider than the tap pitch of {pitch_sites} sites")
    suffix = np.zeros(n + 1, dtype=np.int64)
    suffix[:n] = np.cumsum(widths[::-1])[::-1]
    step = max(1, pitch_sites - maxw + 1)
    reserve = -(-suffix // step) + 1
    # the last site stays free for a final tap
    limit = (row_sites - 1) - suffix - reserve
    xs = np.empty(n, dtype=np.int64)
    taps: list[int] = []
    cursor = 0
    deadline = half  # the next tap must sit at a site <= deadline
    tg = targets.tolist()
    wd = widths.tolist()
    lim = limit.tolist()
    for i in range(n):
        w = wd[i]
        x = max(cursor, min(tg[i], lim[i]))
        while x + w > deadline:
            if x - 1 >= cursor:
                t = min(x - 1, deadline)
            else:
                t = cursor
                x = cursor + 1
            taps.append(t)
            cursor = t + 1
            deadline = t + pitch_sites
            x = max(x, cursor)
        xs[i] = x
        cursor = x + w
    while not taps or taps[-1] < row_sites - 1 - half:
        t = min(deadline, row_sites - 1)
        if t < cursor:
            return None
        taps.append(t)
        cursor = t + 1
        deadline = t + pitch_sites
    if cursor > row_sites:
        return None
    return xs, taps


def fill_gaps(occupied_starts: np.ndarray, occupied_ends: np.ndarray, row_sites: int,
              sizes: list[int]) -> list[tuple[int, int]]:
    """(site, size) pieces that cover every site not in [start, end) intervals (sorted, disjoint).

    `sizes` are the available filler widths in order of preference (largest first); 1 must be among them.
    A gap is covered greedily, largest piece first.
    """
    if 1 not in sizes:
        raise ValueError("filler sizes must include a 1-site cell")
    pieces: list[tuple[int, int]] = []
    edges = np.r_[0, occupied_ends]
    ends = np.r_[occupied_starts, row_sites]
    for a, b in zip(edges.tolist(), ends.tolist()):
        g = b - a
        for size in sizes:
            while g >= size:
                pieces.append((a, size))
                a += size
                g -= size
    return pieces


def spill_over(members: list[list[int]], caps, w: np.ndarray) -> list[list[int]] | None:
    """Cells per row (or row segment) within each one's capacity in sites: an overflowing row hands
    its widest cells (fewest cells leave their global-placement row) to the next, top to bottom, then
    the last ones back up. None if cells are still left over."""
    members = [list(m) for m in members]
    for direction in (1, -1):
        order = range(len(members)) if direction == 1 else range(len(members) - 1, -1, -1)
        carry: list[int] = []
        for r in order:
            cur = members[r] + carry
            carry = []
            cap = max(int(caps[r]), 0)
            used = int(w[cur].sum()) if cur else 0
            if used > cap:
                excess = []
                for i in sorted(cur, key=lambda i: (-w[i], i)):
                    if used <= cap:
                        break
                    excess.append(i)
                    used -= int(w[i])
                ex = set(excess)
                cur = [i for i in cur if i not in ex]
                carry = excess
            members[r] = cur
        if carry and direction == 1:  # the last ones hand them back up
            members[order[-1]] += carry
        elif carry:
            return None
    return members
