"""Two policies on one workload: FoloVLLM's default (vLLM v1's; Sarathi-
Serve's stall-free batching), one budget shared by decodes and prompt
chunks; and whole prompts in prefill-only steps (nano-vllm's policy,
FoloVLLM with enable_chunked_prefill=False). Four chats decode while two
3000-token prompts arrive. Time: the assumed cost model of sched_loop."""

from collections import Counter

from docs.snippets.m5.sched_loop import add, scheduler, step, step_ms


def serve(chunked: bool, budget: int) -> tuple[Counter, float, float]:
    s = scheduler(budget, chunked=chunked, blocks=1024)
    for i in range(4):
        add(s, f"chat{i}", 50, max_tokens=40)
    kinds, now, last, worst, i = Counter(), 0.0, {}, 0.0, 0
    while s.running or s.waiting:
        if i in (3, 15):
            add(s, f"long{i}", 3000, max_tokens=5)
        st = step(s)
        kinds["mixed" if st.decode and st.prefill else
              "decode-only" if st.decode else "prefill-only"] += 1
        now += step_ms(st.decode + st.prefill)
        for name in st.sampled:
            if name.startswith("chat") and name in last:
                worst = max(worst, now - last[name])
            last[name] = now
        i += 1
    return kinds, worst, now


for label, chunked, budget in (("chunked, budget 512", True, 512),
                               ("whole prompts     ", False, 4096)):
    kinds, worst, total = serve(chunked, budget)
    print(f"{label}: {dict(sorted(kinds.items()))}")
    print(f"  chats' worst ITL {worst:5.1f} ms | all done in {total:.0f} ms")
