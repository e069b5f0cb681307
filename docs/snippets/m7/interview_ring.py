"""A ring all-reduce of N chunks over N ranks, counted: N - 1 steps of
reduce-scatter (each rank adds the chunk it receives to its own), then
N - 1 steps of all-gather (each rank passes on a finished chunk)."""

import torch


def ring_all_reduce(data: list[torch.Tensor]) -> tuple[list, int]:
    n = len(data)
    chunks = [list(d.chunk(n)) for d in data]       # chunks[rank][i]
    sent = 0
    for phase in ("reduce-scatter", "all-gather"):
        for step in range(n - 1):
            msgs = []
            for r in range(n):                       # r sends to r + 1
                i = (r - step + (phase == "all-gather")) % n
                msgs.append(((r + 1) % n, i, chunks[r][i].clone()))
                sent += chunks[r][i].numel()
            for dst, i, c in msgs:
                chunks[dst][i] = (chunks[dst][i] + c
                                  if phase == "reduce-scatter" else c)
    return [torch.cat(c) for c in chunks], sent // n


for n in (2, 4, 8):
    data = [torch.randn(8 * 1024) for _ in range(n)]
    out, per_rank = ring_all_reduce(data)
    ok = all(torch.allclose(o, sum(data), atol=1e-4) for o in out)
    print(f"N={n}: sum everywhere {ok}, each rank sent "
          f"{per_rank / data[0].numel():.3f} x buffer, "
          f"2(N-1)/N = {2 * (n - 1) / n:.3f}")
