"""A block table and its slot mapping, worked by the engine's own code.

A pool of 10 blocks of 16 tokens; ten short sequences take one block each;
three finish (blocks 7, 2, 9, in that order); a 37-token prompt arrives.
"""

from types import SimpleNamespace

from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.sequence import Sequence, SequenceData
from folovllm.worker.model_runner import ModelRunner

BLOCK = 16
kv = KVCacheManager(num_blocks=10, block_size=BLOCK)
others = [Sequence(i, SequenceData([1] * 5)) for i in range(10)]
for seq in others:
    kv.allocate_slots(seq, 5)  # sequence i gets block i
for i in (7, 2, 9):
    kv.free(others[i])  # freed blocks join the free queue in this order

new = Sequence(10, SequenceData(list(range(100, 137))))  # 37 tokens
kv.allocate_slots(new, 37)  # ceil(37 / 16) = 3 blocks, wherever they are
print("prefill of 37 tokens, block table", new.block_ids)

# prepare_inputs needs only the block size and a way to reach the device.
runner = SimpleNamespace(block_size=BLOCK, _to_device=lambda t: t)
ids, md = ModelRunner.prepare_inputs(runner, [new], is_prefill=True)
slots = md.slot_mapping.tolist()  # block_table[p // 16] * 16 + p % 16
for j, block in enumerate(new.block_ids):
    part = slots[j * BLOCK:(j + 1) * BLOCK]
    print(f"  positions {j * BLOCK:2d}-{j * BLOCK + len(part) - 1:2d} -> "
          f"block {block}, slots {part[0]}-{part[-1]}")

# The sampler adds a token; the next step feeds it at position 37.
new.data.append_token_id(500, 0.0)
new.data.num_computed_tokens = 37
kv.allocate_slots(new, 1)  # block 9 still has room: no new block
ids, md = ModelRunner.prepare_inputs(runner, [new], is_prefill=False)
print(f"decode: position 37 -> slot {md.slot_mapping.item()}, "
      f"block table still {new.block_ids}")
