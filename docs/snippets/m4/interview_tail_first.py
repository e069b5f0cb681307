"""Why a sequence frees its blocks last block first: eviction takes the
free queue's head, and a prefix is only found up to its first missing
block. Freed head first, one eviction breaks the whole chain."""

from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.sequence import Sequence, SequenceData

B = 4
prompt = list(range(1, 14))  # 13 tokens: 3 full blocks and 1 token


def hits_after_one_eviction(tail_first: bool) -> tuple[int, int]:
    kv = KVCacheManager(num_blocks=4, block_size=B, enable_caching=True)
    seq = Sequence(0, SequenceData(tuple(prompt)))
    kv.allocate_slots(0, len(prompt), [])
    seq.data.num_computed_tokens = len(prompt)
    kv.cache_blocks(seq)
    blocks = kv.seq_to_blocks[0]
    if tail_first:
        kv.free(0)  # the manager's order: last block first
    else:
        kv.block_pool.free_blocks(list(blocks))  # block 0 first
        del kv.seq_to_blocks[0]
    kv.allocate_slots(1, 2 * B)  # another request needs two blocks
    again = Sequence(2, SequenceData(tuple(prompt)))
    _, num_hit = kv.get_computed_blocks(again)
    return num_hit, len(kv.block_pool.cached_block_hash_to_block)


results = {}
for tail_first in (True, False):
    num_hit, num_cached = hits_after_one_eviction(tail_first)
    results[tail_first] = num_hit, num_cached
    name = "tail first" if tail_first else "head first"
    print(f"{name}: cached blocks left {num_cached}, "
          f"the same prompt finds {num_hit} tokens")
