"""The flat batch of M2, tensor by tensor: one prefill step and one decode step of three sequences.

A tiny random-weight Qwen3 (2 layers, 4 query heads over 2 KV heads of dimension 32) is written
to a temporary directory, loaded by our `ModelRunner`, and driven by hand: the metadata comes from
the runner's own `prepare_inputs`, the step from its `execute_model`, and the logits are compared
with `transformers` running each sequence alone.

Since M3 the cache is made of blocks. With `block_size=max_model_len` every sequence holds exactly
one block, which is M2's slot: block `b` is slot `b`, and a token's `slot_mapping` entry is
`slot * max_model_len + position`, M2's (slot, position) pair as one flat index.
"""

import tempfile
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM

from folovllm.config import EngineArgs
from folovllm.core.scheduler import ScheduledSeq, SchedulerOutput
from folovllm.sequence import Sequence, SequenceData
from folovllm.worker.model_runner import ModelRunner
from tests.tiny_models import build_tiny_model

PROMPTS = {"A": [11, 12, 13, 14], "B": [21, 22], "C": [31, 32, 33]}
SLOTS = [2, 0, 1]  # the scheduler hands out whichever slots are free; here A got slot 2
MAX_LEN = 16


def show(title: str, md, input_ids: list[int]) -> None:
    print(title)
    print(f"  input_ids       {input_ids}")
    print(f"  positions       {md.positions.tolist()}")
    print(f"  slot_mapping    {md.slot_mapping.tolist()}")
    print(f"  query_start_loc {md.query_start_loc_host}")
    print(f"  seq_lens        {md.seq_lens.tolist()}")
    print(f"  block_tables    {md.block_tables.tolist()}")
    print(f"  max_seq_len     {md.max_seq_len}")


def reference_logits(hf, seqs: list[Sequence]) -> torch.Tensor:
    """transformers, one sequence at a time, whole sequence, no cache: last-position logits."""
    with torch.no_grad():
        return torch.stack([hf(torch.tensor([s.data.get_token_ids()])).logits[0, -1] for s in seqs])


with tempfile.TemporaryDirectory() as tmp:
    model_dir = build_tiny_model("qwen3", Path(tmp) / "qwen3")
    # max_model_len=16, one block of 16 tokens per slot, and room for 4 slots: 2 (K, V) x 2 layers
    # x 2 KV heads x 32 x 4 bytes = 1,024 bytes per token in float32, 16 tokens per slot.
    config = EngineArgs.from_kwargs(model=str(model_dir), device="cpu", max_model_len=MAX_LEN,
                                    block_size=MAX_LEN, max_num_seqs=4,
                                    kv_cache_memory_bytes=4 * 16 * 1024).create_engine_config()
    runner = ModelRunner(config)
    hf = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()

assert runner.bytes_per_block == 16 * 1024 and runner.num_blocks == 4
k_cache = runner.model.model.layers[0].self_attn.attn.k_cache
k_cache.zero_()  # allocated uninitialised: zero it so that written rows stand out
assert tuple(k_cache.shape) == (4, 16, 2, 32)  # [slots, max_model_len, KV heads, head dim]

seqs = [Sequence(i, SequenceData(tuple(p))) for i, p in enumerate(PROMPTS.values())]
for s, slot in zip(seqs, SLOTS):
    s.block_ids = [slot]  # what the scheduler's KVCacheManager records at admission
step = SchedulerOutput([ScheduledSeq(None, s) for s in seqs], is_prefill=True, num_batched_tokens=9)

# --- prefill: every prompt token of the three sequences, back to back, no padding -------------
lengths = [s.data.get_len() for s in seqs]
ids, md = runner.prepare_inputs(seqs, is_prefill=True)  # what execute_model feeds the model
show("prefill step (9 tokens)", md, ids.tolist())
assert ids.tolist() == [11, 12, 13, 14, 21, 22, 31, 32, 33]
assert md.positions.tolist() == [0, 1, 2, 3, 0, 1, 0, 1, 2]
token_slots = [2, 2, 2, 2, 0, 0, 1, 1, 1]  # the slot of every token
assert md.slot_mapping.tolist() == [slot * MAX_LEN + pos
                                    for slot, pos in zip(token_slots, md.positions.tolist())]
assert md.slot_mapping.tolist() == [32, 33, 34, 35, 0, 1, 16, 17, 18]
assert md.query_start_loc_host == [0, 4, 6, 9]
assert md.seq_lens.tolist() == [4, 2, 3] and md.block_tables.tolist() == [[2], [0], [1]]
assert md.max_seq_len == 4
last_rows = [end - 1 for end in md.query_start_loc_host[1:]]
assert last_rows == [3, 5, 8]  # the only hidden states that reach the LM head
print(f"  logits taken at rows {last_rows} of the 9")

logits = runner.execute_model(step)
assert logits.shape == (3, 384)  # one row per sequence, not per token
ref = reference_logits(hf, seqs)
torch.testing.assert_close(logits, ref, atol=1e-5, rtol=1e-5)

# The K/V of each token went to (its slot, its position); the rest of the cache is untouched.
written = k_cache.abs().sum(dim=(2, 3)) != 0  # [slot, position]: does it hold a token?
assert written.sum(dim=1).tolist() == [2, 3, 4, 0]  # slot 0: B, slot 1: C, slot 2: A, slot 3: free
assert all(written[slot, :n].all() for slot, n in zip(SLOTS, lengths))

# --- decode: one token per sequence; say the sampler picked 15, 23 and 34 ---------------------
for s, token in zip(seqs, [15, 23, 34]):
    s.data.append_token_id(token, 0.0)
    s.data.num_computed_tokens = s.data.get_len() - 1  # what the engine records after sampling
lengths = [s.data.get_len() for s in seqs]
ids, md = runner.prepare_inputs(seqs, is_prefill=False)
show("decode step (3 tokens)", md, ids.tolist())
assert ids.tolist() == [15, 23, 34]
assert md.positions.tolist() == [4, 2, 3]  # each new token sits right after its sequence
assert md.slot_mapping.tolist() == [2 * MAX_LEN + 4, 0 * MAX_LEN + 2, 1 * MAX_LEN + 3]
assert md.query_start_loc_host == [0, 1, 2, 3]
assert md.seq_lens.tolist() == [5, 3, 4] and md.max_seq_len == 5

step.is_prefill = False
logits = runner.execute_model(step)
torch.testing.assert_close(logits, reference_logits(hf, seqs), atol=1e-5, rtol=1e-5)
assert written.sum().item() == 9 and (k_cache.abs().sum(dim=(2, 3)) != 0).sum().item() == 12
print("logits of both steps match transformers (atol 1e-5); flat batch: all checks pass")
