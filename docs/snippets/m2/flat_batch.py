"""M2's flat batch: one prefill step and one decode step of 3 sequences.

A tiny random-weight Qwen3 (2 layers, 2 KV heads of dimension 32) is loaded
by our `ModelRunner`; its own `prepare_inputs` builds the metadata. With
`block_size=max_model_len` each sequence holds one block, which is M2's
slot: a token's `slot_mapping` entry is `slot * max_model_len + position`.
"""

import tempfile
from pathlib import Path

from folovllm.config import EngineArgs
from folovllm.core.scheduler import ScheduledSeq, SchedulerOutput
from folovllm.sequence import Sequence, SequenceData
from folovllm.worker.model_runner import ModelRunner
from tests.tiny_models import build_tiny_model

PROMPTS = [[11, 12, 13, 14], [21, 22], [31, 32, 33]]  # A, B, C
SLOTS = [2, 0, 1]  # whichever slots were free: A got slot 2
MAX_LEN = 16


def show(title: str, ids, md) -> None:
    print(title)
    print(f"  input_ids       {ids.tolist()}")
    print(f"  positions       {md.positions.tolist()}")
    print(f"  slot_mapping    {md.slot_mapping.tolist()}")
    print(f"  query_start_loc {md.query_start_loc_host}")
    print(f"  seq_lens        {md.seq_lens.tolist()}")
    print(f"  block_tables    {md.block_tables.tolist()}")


with tempfile.TemporaryDirectory() as tmp:
    model_dir = build_tiny_model("qwen3", Path(tmp) / "qwen3")
    config = EngineArgs.from_kwargs(
        model=str(model_dir), device="cpu", max_model_len=MAX_LEN,
        block_size=MAX_LEN, max_num_seqs=4,
        kv_cache_memory_bytes=4 * 16 * 1024,  # 4 slots of 16 KiB
    ).create_engine_config()
    runner = ModelRunner(config)

seqs = [Sequence(i, SequenceData(tuple(p))) for i, p in enumerate(PROMPTS)]
for s, slot in zip(seqs, SLOTS):
    s.block_ids = [slot]  # what the KVCacheManager records at admission
step = SchedulerOutput([ScheduledSeq(None, s) for s in seqs],
                       is_prefill=True, num_batched_tokens=9)

# Prefill: every prompt token, back to back, no padding.
ids, md = runner.prepare_inputs(seqs, is_prefill=True)
show("prefill step (9 tokens)", ids, md)
last_rows = [end - 1 for end in md.query_start_loc_host[1:]]
print(f"  logits taken at rows {last_rows} of the 9")
prefill_logits = runner.execute_model(step)  # one row per sequence

# Decode: one token per sequence; say the sampler picked 15, 23 and 34.
for s, token in zip(seqs, [15, 23, 34]):
    s.data.append_token_id(token, 0.0)
    s.data.num_computed_tokens = s.data.get_len() - 1
ids, md = runner.prepare_inputs(seqs, is_prefill=False)
show("decode step (3 tokens)", ids, md)
step.is_prefill = False
decode_logits = runner.execute_model(step)
