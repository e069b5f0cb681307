"""Choose max_num_batched_tokens for an inter-token latency target: the
largest budget whose worst gap between two tokens stays under it.

The workload: 8 chats (200-token prompts, 50 tokens out), and an 8000-token
prompt arriving every 10 steps, 6 in all. Time comes from the assumed cost
model of sched_loop (5 ms a step + 0.025 ms a token), not a measurement."""

from docs.snippets.m5.sched_loop import add, scheduler, step, step_ms

TARGET_MS = 40.0


def serve(budget: int) -> tuple[float, float]:
    """(worst inter-token gap, tokens computed per second)."""
    s = scheduler(budget, seqs=16, blocks=4096)
    for i in range(8):
        add(s, f"chat{i}", 200, max_tokens=50)
    now, last, worst, tokens, i = 0.0, {}, 0.0, 0, 0
    while s.running or s.waiting or i <= 50:
        if i % 10 == 0 and i <= 50:
            add(s, f"long{i}", 8000, max_tokens=10)
        st = step(s)
        now += step_ms(sum(st.tokens.values()))
        tokens += sum(st.tokens.values())
        for name in st.sampled:
            worst = max(worst, now - last.get(name, now))
            last[name] = now
        i += 1
    return worst, tokens / now * 1000


results = {b: serve(b) for b in (256, 512, 1024, 2048, 4096, 8192)}
print("budget  worst ITL  tokens/s")
for budget, (worst, tput) in results.items():
    print(f"{budget:6d} {worst:7.1f} ms {tput:9,.0f}")
best = max(b for b, (worst, _) in results.items() if worst <= TARGET_MS)
given_up = 1 - results[best][1] / results[8192][1]
print(f"ITL target {TARGET_MS:.0f} ms: budget {best}, "
      f"{given_up:.0%} of the throughput of 8192 given up")
