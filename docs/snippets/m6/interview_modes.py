"""FULL_DECODE_ONLY or piecewise: which steps get a graph. The M5 step
loop (the engine's Scheduler, no model) serves 8 requests that arrive two
every 16 steps (prompts of 300 tokens, 48 output tokens, budget 256)."""

from docs.snippets.m5.sched_loop import add, scheduler, step

s = scheduler(budget=256, seqs=8)
kinds = {"decode only": 0, "mixed": 0, "prefill only": 0}
for t in range(1000):
    if t % 16 == 0 and t < 64:
        add(s, f"r{t // 8}", 300, max_tokens=48)
        add(s, f"r{t // 8 + 1}", 300, max_tokens=48)
    st = step(s)
    if not st.tokens:
        break
    kind = ("decode only" if not st.prefill else
            "mixed" if st.decode else "prefill only")
    kinds[kind] += 1
total = sum(kinds.values())
print(f"{total} steps:", ", ".join(f"{k} {n}" for k, n in kinds.items()))
print(f"FULL_DECODE_ONLY: {kinds['decode only'] / total:.0%} of steps replay;"
      " piecewise: every step")
