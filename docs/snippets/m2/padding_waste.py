"""What one padded static batch computes for nothing, on M2's workloads.

A static batch pads every prompt to the longest one, and decodes every row
until the longest output is done. A row that wants `out` tokens needs
`out - 1` decode steps: the first token comes from the prefill.
"""

from folovllm import SamplingParams
from folovllm.benchmarks.workload import Workload
from folovllm.config import SchedulerConfig
from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.core.scheduler import Scheduler
from folovllm.sequence import Request, SequenceStatus


def waste(prompts, out_lens) -> dict[str, int]:
    """Token positions: useful ones, and those the rectangle computes."""
    rows, in_lens = len(prompts), [len(p) for p in prompts]
    return {"prompt_useful": sum(in_lens),
            "prompt_computed": rows * max(in_lens),
            "decode_useful": sum(n - 1 for n in out_lens),
            "decode_computed": rows * (max(out_lens) - 1)}


def share(useful: int, computed: int) -> str:
    return f"{useful:>7,} / {computed:>7,} {1 - useful / computed:>6.1%}"


workloads = {  # the lengths `folovllm bench` uses
    "nanovllm": Workload(name="nanovllm", num_prompts=256)
    .requests(vocab_size=151936),
    "cpu mixed": Workload(num_prompts=32, input_len=128, output_len=128,
                          range_ratio=0.9).requests(vocab_size=49152),
}
print(f"{'workload':<10}{'prompt tokens, wasted':>25}"
      f"{'decode steps, wasted':>25}{'all':>7}")
for name, (prompts, out_lens) in workloads.items():
    w = waste(prompts, out_lens)
    useful = w["prompt_useful"] + w["decode_useful"]
    computed = w["prompt_computed"] + w["decode_computed"]
    print(f"{name:<10}{share(w['prompt_useful'], w['prompt_computed']):>25}"
          f"{share(w['decode_useful'], w['decode_computed']):>25}"
          f"{1 - useful / computed:>7.1%}")


def prefill_batches(prompts, static: bool) -> list[int]:
    """Prompts per prefill step, under the engine's 8192-token step budget.

    Static: each batch decodes until it drains before the next is formed.
    Continuous: the steps before the first decode step.
    """
    sched = Scheduler(  # M2's whole-prompt prefill steps (M5: chunked)
        SchedulerConfig(max_num_seqs=256, max_num_batched_tokens=8192,
                        enable_chunked_prefill=False),
        KVCacheManager(num_blocks=256, block_size=2048),  # one slot each
        max_model_len=2048)
    for i, p in enumerate(prompts):
        sched.add_request(Request.create(str(i), None, p, SamplingParams(), i))
    sizes = []
    while (out := sched.schedule()).scheduled_new_seqs:
        sizes.append(len(out.scheduled_new_seqs))
        if static:  # the batch decodes until it drains; then the next one
            sched.finish_seqs(list(out.num_scheduled_tokens),
                              SequenceStatus.FINISHED_LENGTH_CAPPED)
    return sizes


m1 = prefill_batches(workloads["nanovllm"][0], static=True)
m2 = prefill_batches(workloads["nanovllm"][0], static=False)
print(f"nano-vllm: M1 forms {len(m1)} static batches of {min(m1)} to "
      f"{max(m1)} prompts;")
print(f"  M2 runs {len(m2)} prefill steps, then decodes all 256 together")
