"""Four chats decode; at step 5 a 4000-token prompt arrives. Without
chunking its prefill is one long step, and every chat waits for it; with a
budget of 512 it is split, and the chats keep their pace.

Time comes from the assumed cost model of sched_loop (not a measurement).
"""

from statistics import mean

from docs.snippets.m5.sched_loop import add, scheduler, step, step_ms
from folovllm.outputs import RequestMetrics


def serve(chunked: bool, budget: int) -> dict[str, RequestMetrics]:
    s = scheduler(budget, chunked=chunked, blocks=512)
    metrics = {f"chat{i}": RequestMetrics(0.0) for i in range(4)}
    for name in metrics:
        add(s, name, 50, max_tokens=40)
    now = 0.0
    for i in range(200):
        if i == 5:
            add(s, "long", 4000, max_tokens=2)
            metrics["long"] = RequestMetrics(now)
        st = step(s)
        if not st.tokens:
            break
        now += step_ms(sum(st.tokens.values()))
        for name in st.sampled:
            metrics[name].record_token(now)
    return metrics


for chunked, budget in ((False, 8192), (True, 512)):
    m = serve(chunked, budget)
    itl = m["chat0"].inter_token_latencies
    print(f"chunking {'on ' if chunked else 'off'}, budget {budget:4d}: "
          f"chat0 TPOT {mean(itl):.1f} ms, worst ITL {max(itl):5.1f} ms"
          f" | long TTFT {m['long'].ttft:.0f} ms")
