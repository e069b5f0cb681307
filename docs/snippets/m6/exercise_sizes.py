"""Choosing capture sizes under a cap on the number of graphs (each costs
capture time at startup and memory): the sizes that minimise the empty
rows of exercise_waste's run, by dynamic programming over the batch sizes
the run meets. The largest size must be 256, so every batch has a graph."""

import random
from functools import cache

rng = random.Random(0)
lengths = [rng.randint(100, 1024) for _ in range(256)]
steps = [0] * 257                       # steps[n]: decode steps of n rows
for t in range(max(lengths)):
    steps[sum(n > t for n in lengths)] += 1


def waste(lo: int, hi: int) -> int:
    """Empty rows when the batches lo+1..hi all pad to hi."""
    return sum(steps[n] * (hi - n) for n in range(lo + 1, hi + 1))


@cache
def best(hi: int, k: int) -> tuple[int, tuple[int, ...]]:
    """Least waste covering batches 1..hi with k sizes, the largest hi."""
    if k == 1:
        return waste(0, hi), (hi,)
    options = [(best(lo, k - 1)[0] + waste(lo, hi), best(lo, k - 1)[1])
               for lo in range(k - 1, hi)]
    total, sizes = min(options)
    return total, sizes + (hi,)


pow2 = [1, 2, 4, 8, 16, 32, 64, 128, 256]
pow2_waste = sum(waste(lo, hi) for lo, hi in zip([0] + pow2, pow2))
for k in (2, 4, 9):
    total, sizes = best(256, k)
    print(f"{k} graphs: {total:6,d} empty rows, sizes {list(sizes)}")
print(f"9 powers of two: {pow2_waste:,d} empty rows")
