"""A chunk cap per request: long_prefill_token_threshold for one request
only, say a batch job, so that it never takes a whole step from the
interactive requests behind it. A budget of 128; the batch job's 2000-token
prompt is capped at 32 tokens a step."""

from docs.snippets.m5.sched_loop import add, scheduler, step
from folovllm.core.scheduler import Scheduler


class PerRequestCap(Scheduler):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.caps: dict[int, int] = {}  # sequence id -> most tokens a step

    def _chunk(self, s, start, budget):
        n = super()._chunk(s, start, budget)
        return min(n, self.caps.get(s.seq.seq_id, n))


def first_tokens(cap: int) -> dict[str, int]:
    """The step in which each request gets its first token."""
    s = scheduler(budget=128, cls=PerRequestCap)
    batch = add(s, "batch", 2000, max_tokens=1)
    if cap:
        s.caps[batch.seqs[0].seq_id] = cap
    for i in range(3):
        add(s, f"chat{i}", 60, max_tokens=1)
    first, i = {}, 0
    while s.running or s.waiting:
        first.update({name: i for name in step(s).sampled})
        i += 1
    return first


first = {cap: first_tokens(cap) for cap in (0, 32)}
print("no cap:         ", first[0])
print("batch capped 32:", first[32])
