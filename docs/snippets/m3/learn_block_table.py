"""A block table and its slot mapping, worked by the engine's own code.

A pool of 10 blocks of 16 tokens; ten short sequences take one block each;
three finish (blocks 7, 2, 9, in that order); a 37-token prompt arrives.
"""

import numpy as np

from docs.snippets.m3.runner_inputs import bare_runner, step_inputs
from folovllm import SamplingParams
from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.core.scheduler_output import CachedSeqData, NewSeqData

BLOCK = 16
kv = KVCacheManager(num_blocks=10, block_size=BLOCK)
for seq_id in range(10):
    kv.allocate_slots(seq_id, 5)  # sequence i gets block i
for seq_id in (7, 2, 9):
    kv.free(seq_id)  # freed blocks join the free queue in this order

kv.allocate_slots(10, 37)  # ceil(37 / 16) = 3 blocks, wherever they are
table = kv.get_block_ids(10)
print("prefill of 37 tokens, block table", table)

# The scheduler hands the runner the new sequence: prompt and block table.
runner = bare_runner(BLOCK)
prompt = tuple(range(100, 137))
runner.input_batch.add(
    NewSeqData(10, "new", 0, prompt, SamplingParams(), table, 0))
ids, md = step_inputs(runner, {10: 37})
slots = md.slot_mapping.tolist()  # block_table[p // 16] * 16 + p % 16
for j, block in enumerate(table):
    part = slots[j * BLOCK:(j + 1) * BLOCK]
    print(f"  positions {j * BLOCK:2d}-{j * BLOCK + len(part) - 1:2d} -> "
          f"block {block}, slots {part[0]}-{part[-1]}")

# The sampler picks 500; the runner writes it after the prompt, and the
# next step feeds it at position 37.
rows = np.array([runner.input_batch.row_of[10]])
place = runner.input_batch.reserve_sampled(rows)
runner.input_batch.write_sampled(rows, place, np.array([500]))
new_blocks = kv.allocate_slots(10, 38)  # block 9 still has room: none
runner.input_batch.update(CachedSeqData([10], [False], [new_blocks], [37]))
ids, md = step_inputs(runner, {10: 1})
print(f"decode: position 37 -> slot {md.slot_mapping.item()}, "
      f"block table still {kv.get_block_ids(10)}")
