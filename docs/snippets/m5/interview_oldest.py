"""Overload: a 20-token prompt arrives every step, more than a budget of
16 tokens can serve. Running sequences are served first, oldest first, so
whatever is admitted keeps streaming; the overload waits in the queue."""

from docs.snippets.m5.sched_loop import add, scheduler, step

s = scheduler(budget=16, seqs=4)
last: dict[str, int] = {}        # request -> the last step it got a token
gaps, oldest_served, started = [], [], set()
for i in range(60):
    add(s, f"r{i}", 20, max_tokens=8)
    oldest = s.running[0].request.request_id if s.running else None
    st = step(s)
    oldest_served.append(oldest is None or oldest in st.tokens)
    for name in st.sampled:
        if name in last:
            gaps.append(i - last[name])
        last[name] = i
    started |= set(st.tokens)
print("oldest running sequence computed in every step:", all(oldest_served))
print("longest wait between two tokens of a request:", max(gaps), "step")
print(f"started {len(started)} of 60 requests; {len(s.waiting)} waiting")
