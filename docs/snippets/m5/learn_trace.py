"""One long prompt arrives while three requests decode: the steps with
chunked prefill (a budget of 16 tokens) and without it (whole prompts).

The engine's real Scheduler and KVCacheManager, blocks of 4 tokens; the
model is a stand-in that samples token 0 for every sequence whose step
reaches the end of its tokens (a chunk inside the prompt samples nothing).
"""

from folovllm import SamplingParams
from folovllm.config import SchedulerConfig
from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.core.scheduler import Scheduler
from folovllm.core.scheduler_output import ModelRunnerOutput
from folovllm.sequence import Request

NAMES = "ABCD"
PROMPTS = {"A": 4, "B": 4, "C": 4, "D": 42}
ARRIVES = {"A": 1, "B": 1, "C": 1, "D": 3}    # the step it is added at


def run(chunked: bool, budget: int) -> tuple[dict[str, list[int]], list]:
    """Print each step's split; return the steps that gave each request a
    token, and the tokens each step computed."""
    config = SchedulerConfig(max_num_seqs=4, max_num_batched_tokens=budget,
                             enable_chunked_prefill=chunked)
    kv = KVCacheManager(num_blocks=64, block_size=4)
    sched = Scheduler(config, kv, max_model_len=128)
    seqs, got, work = {}, {n: [] for n in NAMES}, []
    for step in range(1, 30):
        for i, name in enumerate(NAMES):
            if ARRIVES[name] == step:
                r = Request.create(name, None, [1] * PROMPTS[name],
                                   SamplingParams(max_tokens=6), i)
                sched.add_request(r)
                seqs[i] = r.seqs[0]
        out = sched.schedule()
        if not out.num_scheduled_tokens:
            break
        stats = sched.make_stats(out)      # before the step is applied
        n = out.num_scheduled_tokens       # sequence id -> tokens this step
        ends = {i: seqs[i].data.num_computed_tokens + n[i]
                == seqs[i].data.get_len() for i in n}
        tokens = [[0] if ends[i] else [] for i in n]
        sched.update_from_output(
            out, ModelRunnerOutput(list(n), tokens, [0.0] * len(n)))
        for i in n:
            if ends[i]:
                got[NAMES[i]].append(step)
        work.append(out.total_num_scheduled_tokens)
        split = " ".join(f"{NAMES[i]}:{k}" for i, k in n.items())
        print(f"step {step:2d}: {out.total_num_scheduled_tokens:2d} ="
              f" {stats.num_decode_tokens} decode + "
              f"{stats.num_prefill_tokens:2d} prefill   {split}")
    return got, work


def worst_wait(steps: list[int], work: list[int]) -> int:
    """The most tokens the model computes from one of a request's tokens to
    its next: a step takes longer the more tokens it computes."""
    return max(sum(work[a:b]) for a, b in zip(steps, steps[1:]))


print("chunked prefill, budget 16 (tokens per step):")
on, on_work = run(chunked=True, budget=16)
print("no chunked prefill, whole prompts (budget 64):")
off, off_work = run(chunked=False, budget=64)
for label, got, work in (("on ", on, on_work), ("off", off, off_work)):
    print(f"chunking {label}: {len(work)} steps, D's first token at step "
          f"{got['D'][0]}, A's tokens at steps {got['A']}, worst wait "
          f"{worst_wait(got['A'], work)} tokens")
