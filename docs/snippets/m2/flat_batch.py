"""M2's flat batch: one prefill step and one decode step of 3 sequences.

A tiny random-weight Qwen3 (2 layers, 2 KV heads of dimension 32) is loaded
by our `ModelRunner`, which builds the metadata itself. With
`block_size=max_model_len` each sequence holds one block, which is M2's
slot: a token's `slot_mapping` entry is `slot * max_model_len + position`.
"""

import tempfile
from pathlib import Path

from folovllm import SamplingParams
from folovllm.config import EngineArgs
from folovllm.core.scheduler_output import (CachedSeqData, NewSeqData,
                                            SchedulerOutput)
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


def record(fn, into: list):
    """Wrap a method of the runner: keep what each call returns."""
    def wrapper(*args):
        into.append(fn(*args))
        return into[-1]
    return wrapper


with tempfile.TemporaryDirectory() as tmp:
    model_dir = build_tiny_model("qwen3", Path(tmp) / "qwen3")
    config = EngineArgs.from_kwargs(
        model=str(model_dir), device="cpu", max_model_len=MAX_LEN,
        block_size=MAX_LEN, max_num_seqs=4,
        kv_cache_memory_bytes=4 * 16 * 1024,  # 4 slots of 16 KiB
    ).create_engine_config()
    runner = ModelRunner(config)
inputs, logits = [], []  # (input_ids, metadata, samples), logits per step
runner._prepare_inputs = record(runner._prepare_inputs, inputs)
model = runner.model
model.compute_logits = record(model.compute_logits, logits)

# Prefill: the scheduler sends each new sequence whole, with its slot.
greedy = SamplingParams(temperature=0)
new = [NewSeqData(i, str(i), 0, tuple(p), greedy, [slot], 0)
       for i, (p, slot) in enumerate(zip(PROMPTS, SLOTS))]
step = SchedulerOutput(new, CachedSeqData(), {0: 4, 1: 2, 2: 3}, 9, set())
sampled = runner.execute_model(step).sampled_token_ids
ids, md, _ = inputs[-1]
show("prefill step (9 tokens)", ids, md)
last_rows = [end - 1 for end in md.query_start_loc_host[1:]]
print(f"  logits taken at rows {last_rows} of the 9; sampled {sampled}")
prefill_logits = logits[-1]  # one row per sequence

# Decode: the runner appended each sampled token; the scheduler only
# says that the prompts are computed and each sequence runs one token.
cached = CachedSeqData([0, 1, 2], [False] * 3, [[], [], []], [4, 2, 3])
step = SchedulerOutput([], cached, {0: 1, 1: 1, 2: 1}, 3, set())
runner.execute_model(step)
ids, md, _ = inputs[-1]
show("decode step (3 tokens)", ids, md)
decode_logits = logits[-1]
