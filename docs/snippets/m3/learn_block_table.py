"""A block table and its slot mapping, worked by the engine's own code.

A pool of 10 blocks of 16 tokens. Ten short sequences take one block each; three of them finish
(the ones holding blocks 7, 2 and 9, in that order), and a new 37-token prompt arrives. The
`KVCacheManager` gives it three blocks from the free queue, and the model runner's own
`prepare_inputs` turns its block table into the slot of every token, for the prefill and for the
next decode step. `prepare_inputs` needs only two things from its runner, the block size and a
way to move a tensor to the device, so a stand-in replaces the model runner here.
"""

from types import SimpleNamespace

from folovllm.config import ModelConfig
from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.sequence import Sequence, SequenceData
from folovllm.worker.model_runner import ModelRunner

BLOCK = 16
kv = KVCacheManager(num_blocks=10, block_size=BLOCK)

# Ten running sequences of 5 tokens, one block each: block i for sequence i.
others = [Sequence(i, SequenceData([1] * 5)) for i in range(10)]
for seq in others:
    assert kv.allocate_slots(seq, 5)
assert [s.block_ids for s in others] == [[i] for i in range(10)] and kv.num_free_blocks() == 0

# Three of them finish; their blocks join the free queue in the order they are freed.
for i in (7, 2, 9):
    kv.free(others[i])
assert [b.block_id for b in kv.block_pool.free_block_queue] == [7, 2, 9]

# A 37-token prompt: ceil(37 / 16) = 3 blocks, whatever they are, wherever they are.
new = Sequence(10, SequenceData(list(range(100, 137))))
assert kv.allocate_slots(new, 37)
assert new.block_ids == [7, 2, 9]  # the block table: logical block j -> physical block

runner = SimpleNamespace(block_size=BLOCK, _to_device=lambda t: t,  # all prepare_inputs
                         _zero_new_blocks=lambda tables: None)    # needs, with no cache
ids, md = ModelRunner.prepare_inputs(runner, [new], is_prefill=True)
slots = md.slot_mapping.tolist()
assert slots == [*range(112, 128), *range(32, 48), *range(144, 149)]
assert [slots[p] for p in (0, 15, 16, 31, 32, 36)] == [112, 127, 32, 47, 144, 148]
assert md.block_tables.tolist() == [[7, 2, 9]] and md.seq_lens.tolist() == [37]
for p in range(37):  # slot = block_table[p // 16] * 16 + p % 16
    assert slots[p] == new.block_ids[p // BLOCK] * BLOCK + p % BLOCK
print("prefill of 37 tokens, block table", new.block_ids)
for j, block in enumerate(new.block_ids):
    part = slots[j * BLOCK:(j + 1) * BLOCK]
    print(f"  positions {j * BLOCK:2d}-{j * BLOCK + len(part) - 1:2d} -> block {block}, "
          f"slots {part[0]}-{part[-1]}")
tail = 3 * BLOCK - 37
assert tail == 11  # slots 149..159 of block 9 are held but empty

# The sampler adds token 38; the next decode step feeds it at position 37.
new.data.append_token_id(500, 0.0)
new.data.num_computed_tokens = 37
assert kv.allocate_slots(new, 1) and new.block_ids == [7, 2, 9]   # still room in block 9
ids, md = ModelRunner.prepare_inputs(runner, [new], is_prefill=False)
assert ids.tolist() == [500] and md.positions.tolist() == [37] and md.slot_mapping.tolist() == [149]
print(f"decode: position 37 -> slot {md.slot_mapping.item()} (block 9, offset 5), no new block")
# A sequence asks for a new block only when a token lands at position 48, 64, 80, ...
assert kv.num_blocks_for(48) == 3 and kv.num_blocks_for(49) == 4

# What one block of the cache is for Qwen3-0.6B in bf16, in every layer, K and V together.
qwen = ModelConfig(model="folovllm/benchmarks/configs/qwen3-0.6b", dtype="bfloat16", device="cpu",
                   load_format="dummy")
per_token = qwen.kv_cache_bytes_per_token()
assert per_token == 114_688
per_block = BLOCK * per_token
assert per_block == 1_835_008 and per_block / 2**20 == 1.75
assert BLOCK * qwen.num_kv_heads * qwen.head_dim * 2 == 32 * 1024  # one layer's K part of a block
print(f"Qwen3-0.6B bf16: {per_token:,} bytes per token, {per_block:,} bytes "
      f"({per_block / 2**20} MiB) per block of {BLOCK}")
kv.free(new)
for i, seq in enumerate(others):
    if i not in (7, 2, 9):
        kv.free(seq)
assert kv.num_free_blocks() == 10
print("block table: all numbers check out")
