"""A stale padding row, in the toy graph: a decode step of 4 rows stores
each row's new K/V value into the cache at its slot (a slot < 0 is
skipped, as in the store kernel). Step 1 runs 4 sequences; then the 4th
finishes and its slot goes to a new sequence, which writes 99 there; step
2 runs 3 sequences padded to 4. `pad` either leaves the padding row's
slot as step 1 left it (the bug) or sets it to -1 (the fix, as `_pad`)."""

import torch

from docs.snippets.m6.toy_graph import ToyGraph

x = torch.zeros(4)                              # the step's new values
slots = torch.full((4,), -1, dtype=torch.long)  # where each row stores
cache = torch.zeros(8)


def store(x: torch.Tensor, slots: torch.Tensor, cache: torch.Tensor) -> None:
    keep = slots >= 0
    cache[slots[keep]] = x[keep]


def prepare(values: list[float], where: list[int], fix: bool) -> None:
    n = len(values)
    x[:n], slots[:n] = torch.tensor(values), torch.tensor(where)
    x[n:] = 0                                   # padding: input id 0
    if fix:
        slots[n:] = -1                          # padding: store nothing


for fix in (False, True):
    cache.zero_()
    g = ToyGraph()
    g.capture(lambda: g.launch(store, x, slots, cache))
    prepare([10, 11, 12, 13], [0, 1, 2, 3], fix)
    g.replay()
    cache[3] = 99                               # slot 3's new owner
    prepare([20, 21, 22], [4, 5, 6], fix)       # 3 rows, padded to 4
    g.replay()
    print(f"{'fixed' if fix else 'buggy'} pad: cache {cache.tolist()}")
