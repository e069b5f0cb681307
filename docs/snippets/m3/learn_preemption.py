"""Preemption by recompute, step by step, on the engine's real scheduler and
block manager.

A cache of 6 blocks of 4 tokens (24 tokens). Three requests, A, B and C,
arrive together with 6-token prompts and want 10 output tokens each: 16
tokens, 4 blocks, per sequence at the end, 12 blocks for the three. The
model is a stand-in: every scheduled sequence samples token 0 each step.
"""

import torch
from transformers import AutoModelForCausalLM

from folovllm import SamplingParams
from folovllm.config import ModelConfig, SchedulerConfig
from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.core.scheduler import Scheduler
from folovllm.core.scheduler_output import ModelRunnerOutput
from folovllm.sequence import Request, SequenceStatus


def scheduler(num_blocks: int) -> tuple[Scheduler, KVCacheManager]:
    kv = KVCacheManager(num_blocks=num_blocks, block_size=4)
    # M3's policy: a step prefills or decodes (M5 made chunking the default)
    config = SchedulerConfig(max_num_seqs=8, max_num_batched_tokens=64,
                             enable_chunked_prefill=False)
    return Scheduler(config, kv, max_model_len=64), kv


def step(sched: Scheduler) -> tuple[dict[int, int], list[int]]:
    """One step: {sequence id: tokens computed}, and who was preempted."""
    before = {s.seq.seq_id for s in sched.running}
    out = sched.schedule()
    preempted = [s.seq.seq_id for s in sched.waiting if s.seq.seq_id in before]
    ids = list(out.num_scheduled_tokens)
    fake = ModelRunnerOutput(ids, [[0]] * len(ids), [0.0] * len(ids))
    sched.update_from_output(out, fake)  # append, stop at max_tokens, free
    return out.num_scheduled_tokens, preempted


sched, kv = scheduler(num_blocks=6)
for i, name in enumerate("ABC"):
    params = SamplingParams(max_tokens=10)
    sched.add_request(Request.create(name, None, [1] * 6, params, i))
log = []  # (step, kind, names, tokens, preempted, free blocks)
while True:
    counts, preempted = step(sched)
    if not counts:
        break
    # A step is a decode when every sequence computes one token.
    kind = "decode" if max(counts.values()) == 1 else "prefill"
    names = "".join("ABC"[i] for i in counts)
    log.append((len(log) + 1, kind, names, sum(counts.values()),
                "".join("ABC"[i] for i in preempted), kv.num_free_blocks()))
    n, kind, names, tokens, pre, free = log[-1]
    print(f"step {n:2d} {kind:7s} {','.join(names):6s} tokens {tokens:2d}"
          + (f"  preempted {','.join(pre)}" if pre else "")
          + f"  free blocks after {free}")
print(f"{len(log)} steps, {sched.num_preemptions} preemptions, "
      f"all {kv.num_free_blocks()} blocks free at the end")

# Alone and outgrowing the whole cache: it is not preempted (nobody would
# ever free room for it) but finished with finish_reason "length".
sched, kv = scheduler(num_blocks=2)  # 8 tokens in all
long = Request.create("long", None, [1] * 6, SamplingParams(), 0)
sched.add_request(long)
while step(sched)[0]:
    pass
seq = long.seqs[0]
reason = SequenceStatus.get_finished_reason(seq.status)
print(f"alone in an 8-token cache: {seq.data.get_output_len()} tokens, "
      f"finish_reason {reason!r}")

# Recompute or swap? For Qwen3-0.6B in bf16, a swap copies a 1,000-token
# sequence's K/V to host memory and back; recompute runs those 1,000
# tokens as one prefill: 2 FLOPs per weight per token in the linear layers
# (the embedding is a lookup, the norms do no matmul), causal attention
# over 1, 2, ..., 1,000 tokens, and the tied LM head on the last position.
qwen = ModelConfig(model="folovllm/benchmarks/configs/qwen3-0.6b",
                   dtype="bfloat16", device="cpu", load_format="dummy")
swap_bytes = 1000 * qwen.kv_cache_bytes_per_token()
with torch.device("meta"):  # shapes only: no memory, no weights
    hf = AutoModelForCausalLM.from_config(qwen.hf_config)
n = 1000
embedding = hf.get_input_embeddings().weight.numel()
matmul_params = sum(p.numel() for p in hf.parameters()
                    if p.dim() == 2) - embedding
linear_flops = 2 * matmul_params * n
attention_flops = (4 * qwen.num_layers * qwen.num_attention_heads
                   * qwen.head_dim * n * (n + 1) // 2)
recompute_flops = linear_flops + attention_flops + 2 * embedding
print(f"1,000 tokens of Qwen3-0.6B: swap {swap_bytes / 2**20:.1f} MiB each "
      f"way, or recompute {recompute_flops / 1e12:.2f} TFLOP in one prefill "
      f"(linear layers {linear_flops / 1e12:.2f}, "
      f"attention {attention_flops / 1e12:.2f})")
