"""One budget, no phases: the running sequences first (a decode is one
token), then the waiting prompt with what is left; its chunks fill each
step up to the budget of 32 tokens until its prompt is done."""

from docs.snippets.m5.sched_loop import add, scheduler, step

s = scheduler(budget=32)
for name in ("a", "b", "c"):
    add(s, name, 5)
trace = [step(s)]           # three short prompts: 15 tokens
add(s, "long", 100)
trace += [step(s) for _ in range(5)]
for i, st in enumerate(trace):
    print(f"step {i}: decode {st.decode} + prefill {st.prefill:2d} | "
          + " ".join(f"{k}:{n}" for k, n in st.tokens.items())
          + f" | sampled {','.join(st.sampled)}")
