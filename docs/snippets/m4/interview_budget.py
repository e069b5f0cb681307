"""The token budget counts only what a step computes: cached prompt blocks
are free, so more prompts fit in one prefill step.

No model: a stand-in for the runner samples token 7 for every scheduled
sequence, and `update_from_output` registers the computed blocks."""

from folovllm import SamplingParams
from folovllm.config import SchedulerConfig
from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.core.scheduler import Scheduler
from folovllm.core.scheduler_output import ModelRunnerOutput
from folovllm.sequence import Request

B = 4
shared = list(range(1, 33))  # a 32-token shared prefix, 8 blocks
params = SamplingParams(temperature=0, max_tokens=4, ignore_eos=True)


def steps(caching: bool) -> list[dict[str, int]]:
    """Tokens each request computes in each step, until all have started."""
    kv = KVCacheManager(num_blocks=64, block_size=B, enable_caching=caching)
    # M4's policy: a step prefills or decodes (M5 made chunking the default)
    config = SchedulerConfig(max_num_seqs=8, max_num_batched_tokens=48,
                             enable_chunked_prefill=False)
    sched = Scheduler(config, kv, max_model_len=64)
    names = {}
    for i in range(4):  # 4 prompts of 40 tokens
        r = Request.create(f"r{i}", None, shared + [100 + i] * 8, params,
                           first_seq_id=i)
        names[i] = r.request_id
        sched.add_request(r)
    plan = []
    while sched.waiting:
        out = sched.schedule()
        plan.append({names[s]: n for s, n in out.num_scheduled_tokens.items()
                     if n > 1})  # prefills only
        ids = list(out.num_scheduled_tokens)
        sched.update_from_output(out, ModelRunnerOutput(
            ids, [[7]] * len(ids), [0.0] * len(ids)))
    return [p for p in plan if p]


plans = {caching: steps(caching) for caching in (False, True)}
for caching, plan in plans.items():
    print(f"cache {'on' if caching else 'off'}:")
    for i, step in enumerate(plan):
        print(f"  prefill step {i}: {step}")
