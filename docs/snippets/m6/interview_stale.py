"""A stale-input bug and the test that catches it. A toy decode step
y = x * scale reads two static buffers; the buggy `prepare` forgets to
refill `scale` (as a runner might forget one buffer, say the block
tables). Replaying the batch that was captured hides the bug; a second,
different batch compared with eager steps shows it."""

import torch

from docs.snippets.m6.toy_graph import ToyGraph, mul

x, scale, y = torch.zeros(4), torch.zeros(4), torch.zeros(4)


def prepare(xs: list[float], scales: list[float], buggy: bool) -> None:
    x.copy_(torch.tensor(xs))
    if not buggy:
        scale.copy_(torch.tensor(scales))


def same_as_eager(batches, buggy: bool) -> bool:
    g = ToyGraph()
    prepare(*batches[0], buggy=False)      # capture sees the first batch
    g.capture(lambda: g.launch(mul, x, scale, y))
    for xs, scales in batches:
        prepare(xs, scales, buggy)
        g.replay()
        eager = torch.tensor(xs) * torch.tensor(scales)
        if not torch.equal(y, eager):
            return False
    return True


a = ([1.0, 2, 3, 4], [1.0, 1, 1, 1])
b = ([1.0, 2, 3, 4], [2.0, 0, 1, 3])
print("fixed runner, batches a, a:", same_as_eager([a, a], buggy=False))
print("buggy runner, batches a, a:", same_as_eager([a, a], buggy=True))
print("buggy runner, batches a, b:", same_as_eager([a, b], buggy=True))
