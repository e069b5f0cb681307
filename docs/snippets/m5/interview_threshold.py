"""long_prefill_token_threshold caps one sequence's chunk. A 400-token
prompt and then a 10-token one, a budget of 64: without a cap the long
prompt takes every step until it is done, and the short one waits."""

from docs.snippets.m5.sched_loop import add, scheduler, step

first = {}  # threshold -> {request: the step of its first token}
for threshold in (0, 32):
    s = scheduler(budget=64, threshold=threshold)
    add(s, "long", 400, max_tokens=1)
    add(s, "short", 10, max_tokens=1)
    first[threshold], i = {}, 0
    while s.running or s.waiting:
        st = step(s)
        if i == 0:
            print(f"threshold {threshold:2d}, step 0: {st.tokens}")
        first[threshold].update({n: i for n in st.sampled})
        i += 1
    print(f"  first token at step: {first[threshold]}")
