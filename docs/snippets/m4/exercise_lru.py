"""Exercise: which cached block does a new sequence evict?

6 blocks of 4 tokens. A (12 tokens) and B (8 tokens) ran, so their blocks
hold computed K/V and are cached; A finishes, then B. Then C, 8 unrelated
tokens, needs 2 blocks; then D arrives with A's first 8 tokens and 1 more.
"""

from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.sequence import Sequence, SequenceData


def seq(seq_id: int, tokens: list[int]) -> Sequence:
    s = Sequence(seq_id, SequenceData(tuple(tokens)))
    s.data.num_computed_tokens = len(tokens)    # as if a step computed them
    return s


def run(tail_first: bool) -> tuple[list[int], int]:
    kv = KVCacheManager(num_blocks=6, block_size=4, enable_caching=True)
    a, b = seq(0, list(range(1, 13))), seq(1, [90] * 8)
    for s in (a, b):
        kv.allocate_slots(s.seq_id, s.data.get_len())
        kv.cache_blocks(s)                      # full blocks become findable
    if tail_first:
        kv.free(a.seq_id)                       # what the engine does
    else:                                       # head first, for comparison
        kv.block_pool.free_blocks(kv.seq_to_blocks.pop(a.seq_id))
    kv.free(b.seq_id)
    queue = [blk.block_id for blk in kv.block_pool.free_block_queue.blocks()]
    print(f"  free queue, head first: {queue}")
    kv.allocate_slots(2, 8)                     # C: 2 new blocks
    print(f"  C takes {kv.get_block_ids(2)}")
    d = Sequence(3, SequenceData(tuple(range(1, 9)) + (77,)))
    _, num_hit = kv.get_computed_blocks(d)
    print(f"  D finds {num_hit} tokens in the cache")
    return kv.get_block_ids(2), num_hit


print("A freed tail first:")
tail = run(tail_first=True)
print("A freed head first:")
head = run(tail_first=False)
