"""Preemption by recompute, step by step, on the engine's real scheduler and block manager.

A cache of 6 blocks of 4 tokens (24 tokens). Three requests, A, B and C, arrive together with
6-token prompts and want 10 output tokens each: 16 tokens, 4 blocks, per sequence at the end, 12
blocks for the three. The model is a stand-in: every scheduled sequence gains one token per step.
"""

import torch
from transformers import AutoModelForCausalLM

from folovllm import SamplingParams
from folovllm.config import ModelConfig, SchedulerConfig
from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.core.scheduler import Scheduler
from folovllm.sequence import Request, SequenceStatus

WANTS = 10
kv = KVCacheManager(num_blocks=6, block_size=4)
sched = Scheduler(SchedulerConfig(max_num_seqs=8, max_num_batched_tokens=64), kv)
for i, name in enumerate("ABC"):
    sched.add_request(Request.create(name, None, [1] * 6, SamplingParams(), first_seq_id=i))

log = []
step = 0
while (out := sched.schedule()) is not None:
    step += 1
    names = [s.request.request_id for s in out.scheduled]
    kind = "prefill" if out.is_prefill else "decode"
    tokens = {s.request.request_id: s.seq.data.get_len() for s in out.scheduled}
    preempted = [s.request.request_id for s in out.preempted]
    for s in out.scheduled:                   # the model's part: one new token each
        s.seq.data.append_token_id(0, 0.0)
        s.seq.data.num_computed_tokens = s.seq.data.get_len() - 1
        if s.seq.data.get_output_len() == WANTS:
            s.seq.status = SequenceStatus.FINISHED_LENGTH_CAPPED
    sched.free_finished()
    log.append((step, kind, names, out.num_batched_tokens, preempted, kv.num_free_blocks()))
    print(f"step {step:2d} {kind:7s} {','.join(names):6s} tokens {out.num_batched_tokens:2d}"
          + (f"  preempted {','.join(preempted)}" if preempted else "")
          + f"  free blocks after {kv.num_free_blocks()}")

by_step = {s: (kind, names, tokens, pre) for s, kind, names, tokens, pre, _ in log}
# Step 1 admits all three: 2 blocks each, the cache is full.
assert by_step[1] == ("prefill", ["A", "B", "C"], 18, [])
# Step 4: each needs a third block for position 8. A, the oldest, takes C's (C is the newest);
# then B takes the second block C freed.
assert by_step[4] == ("decode", ["A", "B"], 2, ["C"])
# Step 8: A and B need a fourth block for position 12; none is free, B is now the newest.
assert by_step[8] == ("decode", ["A"], 1, ["B"])
# A alone runs to its 10th token. B then comes back first (preempted sequences go to the head
# of the queue, in arrival order): a prefill of its 6 prompt tokens and the 7 it had generated.
# C needs 3 blocks and only 2 are left, so C waits (admission stops at the first misfit).
assert by_step[10][1] == ["A"] and by_step[11] == ("prefill", ["B"], 13, [])
# C comes back when there is room: its 6 prompt tokens and 3 outputs again.
c_back = next(s for s, kind, names, *_ in log if kind == "prefill" and names == ["C"])
assert c_back == 14 and by_step[c_back][2] == 9
assert sched.num_preemptions == 2 and kv.num_free_blocks() == 6 and not sched.has_unfinished()
print(f"{step} steps, {sched.num_preemptions} preemptions, all 6 blocks free at the end")

# A sequence alone that outgrows the whole cache: it is not preempted (nobody would ever free
# room for it) but finished with finish_reason "length".
kv = KVCacheManager(num_blocks=2, block_size=4)     # 8 tokens in all
sched = Scheduler(SchedulerConfig(max_num_seqs=8, max_num_batched_tokens=64), kv)
req = Request.create("long", None, [1] * 6, SamplingParams(), first_seq_id=0)
sched.add_request(req)
while (out := sched.schedule()) is not None:
    for s in out.scheduled:
        s.seq.data.append_token_id(0, 0.0)
        s.seq.data.num_computed_tokens = s.seq.data.get_len() - 1
    sched.free_finished()
seq = req.seqs[0]
# Positions 0..7 fit; the token sampled after position 7 never needs its own K/V.
assert out is None and seq.data.get_output_len() == 3
assert SequenceStatus.get_finished_reason(seq.status) == "length" and kv.num_free_blocks() == 2
print(f"alone in an 8-token cache: {seq.data.get_output_len()} tokens, finish_reason "
      f"{SequenceStatus.get_finished_reason(seq.status)!r}")

# Recompute or swap? For Qwen3-0.6B in bf16, a 1,000-token sequence's K/V is what a swap would
# copy to host memory and back; recompute instead runs those 1,000 tokens as one prefill.
qwen = ModelConfig(model="folovllm/benchmarks/configs/qwen3-0.6b", dtype="bfloat16", device="cpu",
                   load_format="dummy")
swap_bytes = 1000 * qwen.kv_cache_bytes_per_token()
assert swap_bytes == 114_688_000 and round(swap_bytes / 2**20, 1) == 109.4
# Recompute counts the FLOPs of that prefill: 2 per weight per token in the linear layers (the
# embedding is a lookup, not a matmul, and the norm weights do no matmul), causal attention over
# 1, 2, ..., 1,000 tokens, and the tied LM head on the last position only (one token is sampled).
with torch.device("meta"):                         # shapes only: no memory, no weights
    hf = AutoModelForCausalLM.from_config(qwen.hf_config)
n = 1000
embedding = hf.get_input_embeddings().weight.numel()
matmul_params = sum(p.numel() for p in hf.parameters() if p.dim() == 2) - embedding
assert embedding == 151_936 * 1024 and matmul_params == 440_401_920
linear_flops = 2 * matmul_params * n
attention_flops = 4 * qwen.num_layers * qwen.num_attention_heads * qwen.head_dim * n * (n + 1) // 2
recompute_flops = linear_flops + attention_flops + 2 * embedding
assert round(recompute_flops / 1e12, 2) == 1.00
print(f"1,000 tokens of Qwen3-0.6B: swap {swap_bytes / 2**20:.1f} MiB each way, "
      f"or recompute {recompute_flops / 1e12:.2f} TFLOP in one prefill (linear layers "
      f"{linear_flops / 1e12:.2f}, attention {attention_flops / 1e12:.2f})")
print("preemption: all numbers check out")
