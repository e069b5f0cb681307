"""Chunks with the prefix cache and with preemption, on the engine's real
scheduler (blocks of 4 tokens, a budget of 8, a stand-in model)."""

from docs.snippets.m5.sched_loop import apply
from folovllm import SamplingParams
from folovllm.config import SchedulerConfig
from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.core.scheduler import Scheduler
from folovllm.core.scheduler_output import SchedulerOutput
from folovllm.sequence import Request


def scheduler(num_blocks: int) -> Scheduler:
    config = SchedulerConfig(max_num_seqs=4, max_num_batched_tokens=8)
    kv = KVCacheManager(num_blocks, block_size=4, enable_caching=True)
    return Scheduler(config, kv, max_model_len=64)


def request(seq_id: int, tokens: list[int], out: int = 4) -> Request:
    params = SamplingParams(max_tokens=out)
    return Request.create(str(seq_id), None, tokens, params, seq_id)


def step(sched: Scheduler) -> SchedulerOutput:
    """Schedule and apply one step; what the runner was told."""
    out = sched.schedule()
    apply(sched, out)
    return out


# 1. The prefix cache first, then chunks of what is left.
sched = scheduler(num_blocks=32)
system = list(range(100, 120))                 # 20 shared tokens
first = request(0, system + [1, 2, 3])
sched.add_request(first)
while sched.running or sched.waiting:
    step(sched)
second = request(1, system + list(range(7, 18)))  # 31 tokens
sched.add_request(second)
chunks = []
while second.seqs[0].data.get_output_len() == 0:
    chunks.append(step(sched).num_scheduled_tokens[1])
print(f"31-token prompt: {second.num_cached_tokens} tokens from the cache, "
      f"the other {sum(chunks)} in chunks {chunks}")

# 2. Preempted part-way through its prompt, it resumes from its own blocks.
sched = scheduler(num_blocks=7)
a = request(0, list(range(200, 210)), out=5)   # 10 tokens, 5 to generate
b = request(1, list(range(300, 318)))          # 18 tokens
sched.add_request(a)
sched.add_request(b)
seq = b.seqs[0]
for i in range(1, 12):
    out = step(sched)
    print(f"step {i}: scheduled {out.num_scheduled_tokens}, b "
          f"{seq.status.name.lower()}, {seq.data.num_computed_tokens} computed")
    cached = out.scheduled_cached_seqs
    if True in cached.resumed_from_preemption:
        resumed_at = cached.num_computed_tokens[0]
        break
print(f"b resumes with {resumed_at} of its 13 computed tokens found in its "
      f"own cached blocks")
