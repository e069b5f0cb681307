"""Chunks and the prefix cache: each step registers the full blocks its
chunks filled, so a request that shares the prompt finds them even while
the first one is still part-way through it; only the rest is chunked.

Blocks of 16, a budget of 64, chunks capped at 32 tokens."""

from docs.snippets.m5.sched_loop import add, scheduler, step

shared = list(range(1, 97))          # 96 shared tokens: 6 blocks
s = scheduler(budget=64, threshold=32, caching=True)
reqs = {"A": add(s, "A", shared + [500] * 4, max_tokens=2)}
for i in range(7):
    if i == 2:                       # A has computed 64 tokens
        reqs["B"] = add(s, "B", shared + [600] * 20, max_tokens=2)
    if i == 5:                       # A and B are done
        reqs["C"] = add(s, "C", shared + [700] * 8, max_tokens=2)
    st = step(s)
    print(f"step {i}: {st.tokens}")
for name, r in reqs.items():
    print(f"{name}: {len(r.prompt_token_ids)} prompt tokens, "
          f"{r.num_cached_tokens} from the cache")
