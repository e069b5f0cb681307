"""How many steps a prompt alone needs before its first token: its
uncached tokens over the chunk size (the budget, or the threshold when it
is smaller). The cache gives whole blocks of 16, never the last token's."""

from docs.snippets.m5.sched_loop import add, scheduler, step

B = 16


def rule(length: int, prefix: int, budget: int, threshold: int) -> int:
    cached = min(prefix // B, (length - 1) // B) * B
    chunk = min(budget, threshold or budget)
    return -(-(length - cached) // chunk)           # ceiling division


def engine(length: int, prefix: int, budget: int, threshold: int) -> int:
    s = scheduler(budget, caching=True, threshold=threshold)
    if prefix:                                      # fill the cache
        add(s, "first", prefix, max_tokens=1)
        while s.running or s.waiting:
            step(s)
    add(s, "p", list(range(1, prefix + 1))
        + list(range(5000, 5000 + length - prefix)), max_tokens=1)
    steps = 1
    while "p" not in step(s).sampled:
        steps += 1
    return steps


cases = [(1000, 0, 256, 0), (1000, 600, 256, 0), (1000, 1000, 256, 0),
         (4096, 100, 512, 0), (4096, 0, 8192, 1024), (100, 40, 16, 8)]
measured = {c: engine(*c) for c in cases}
for case, n in measured.items():
    length, prefix, budget, threshold = case
    print(f"L={length:4d} prefix={prefix:4d} budget={budget:4d} "
          f"threshold={threshold:4d}: rule {rule(*case)}, engine {n}")
