"""The token budget, and long_prefill_token_threshold, on the engine's
real scheduler (blocks of 16 tokens, a stand-in model as in the trace).

Eight requests decode when a 512-token prompt arrives. For each budget:
the steps until the long prompt's first token, the largest step, and how
many tokens the model computes between two tokens of a decoding request.
"""

from docs.snippets.m5.sched_loop import apply
from folovllm import SamplingParams
from folovllm.config import SchedulerConfig
from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.core.scheduler import Scheduler
from folovllm.sequence import Request


def scheduler(budget: int, chunked: bool = True, cap: int = 0) -> Scheduler:
    config = SchedulerConfig(max_num_seqs=16, max_num_batched_tokens=budget,
                             enable_chunked_prefill=chunked,
                             long_prefill_token_threshold=cap)
    kv = KVCacheManager(num_blocks=256, block_size=16)
    return Scheduler(config, kv, max_model_len=1024)


def add(sched: Scheduler, seq_id: int, prompt_len: int) -> Request:
    params = SamplingParams(max_tokens=100)
    r = Request.create(str(seq_id), None, [1] * prompt_len, params, seq_id)
    sched.add_request(r)
    return r


def step(sched: Scheduler) -> dict[int, int]:
    """Schedule and apply one step; sequence id -> tokens it computed."""
    out = sched.schedule()
    apply(sched, out)
    return out.num_scheduled_tokens


def long_prompt_arrives(budget: int, chunked: bool = True) -> tuple:
    """(steps to its first token, largest step, worst wait of a decode)."""
    sched = scheduler(budget, chunked)
    shorts = [add(sched, i, 8).seqs[0] for i in range(8)]
    while not all(s.data.get_output_len() for s in shorts):
        step(sched)                          # until all eight decode
    long = add(sched, 8, 512).seqs[0]
    steps, largest, wait, since = 0, 0, 0, 0
    while True:
        n = step(sched)
        largest, since = max(largest, sum(n.values())), since + sum(n.values())
        steps += long.data.get_output_len() == 0
        if 0 in n:                           # request 0 got a token
            wait, since = max(wait, since), 0
            if long.data.get_output_len():
                return steps + 1, largest, wait


print("budget  steps  largest step  worst wait of a decode (tokens)")
for budget in (32, 128, 512):
    steps, largest, wait = long_prompt_arrives(budget)
    print(f"{budget:6d} {steps:6d} {largest:13d} {wait:8d}")
steps, largest, wait = long_prompt_arrives(1024, chunked=False)
print(f"off    {steps:6d} {largest:13d} {wait:8d}   (whole prompt)")

# Three 300-token prompts, a budget of 256: without a cap the oldest
# takes the whole step; a threshold of 64 starts all three at once.
for cap in (0, 64):
    sched = scheduler(256, cap=cap)
    for i in range(3):
        add(sched, i, 300)
    first, second = step(sched), step(sched)
    print(f"threshold {cap:2d}: step 1 {list(first.values())}, "
          f"step 2 {list(second.values())}")
