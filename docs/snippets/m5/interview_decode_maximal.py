"""Decode-maximal batching: every running decode first, a prompt chunk in
what is left. With a budget of 64 the chunk shrinks as the decodes grow,
so a 512-token prompt waits longer for its first token; the step's size,
and so its time, stays the same."""

from docs.snippets.m5.sched_loop import add, scheduler, step, step_ms

print("decodes  chunk  steps to the first token  step time")
for decodes in (0, 16, 48, 63):
    s = scheduler(budget=64, seqs=64, blocks=4096)
    for i in range(decodes):
        add(s, f"chat{i}", 1, max_tokens=1000)
    if decodes:
        step(s)                      # their 1-token prompts: all decode now
    add(s, "long", 512, max_tokens=1)
    trace = [step(s)]
    while "long" not in trace[-1].sampled:
        trace.append(step(s))
    chunk, size = trace[0].tokens["long"], sum(trace[0].tokens.values())
    print(f"{decodes:7d} {chunk:6d} {len(trace):15d} "
          f"{step_ms(size):15.1f} ms")
