"""Prefix caching costs no KV memory: the cache is the free blocks nobody
has reused yet. Held blocks are shared, so it saves memory instead.

No model: the KV cache manager only moves integers."""

from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.sequence import Sequence, SequenceData

B = 4
prefix = list(range(1, 25))  # a 24-token shared prefix: 6 blocks


def run(seq: Sequence, kv: KVCacheManager) -> bool:
    hits, _ = kv.get_computed_blocks(seq)
    if kv.allocate_slots(seq.seq_id, seq.data.get_len(), hits) is None:
        return False
    seq.data.num_computed_tokens = seq.data.get_len()
    kv.cache_blocks(seq)
    return True


fits = {}  # caching -> (sequences that fit, blocks held)
for caching in (False, True):
    kv = KVCacheManager(num_blocks=32, block_size=B, enable_caching=caching)
    seqs = [Sequence(i, SequenceData(tuple(prefix + [100 + i] * 3)))
            for i in range(8)]
    run(seqs[0], kv)  # the first computes the prefix...
    ran = 1 + sum(run(s, kv) for s in seqs[1:])  # ...the others share it
    fits[caching] = ran, kv.num_blocks - kv.num_free_blocks()
    print(f"caching {'on ' if caching else 'off'}: {ran} of 8 sequences "
          f"of 27 tokens fit in 32 blocks, "
          f"{fits[caching][1]} blocks held")

# Every block free and cached: a prompt that needs all 32 still fits.
for s in seqs:
    kv.free(s.seq_id)
print("free blocks:", kv.num_free_blocks(), "| cached:",
      len(kv.block_pool.cached_block_hash_to_block))
big = Sequence(99, SequenceData(tuple(range(200, 200 + 32 * B))))
big_fits = run(big, kv)
print("a 128-token prompt fits:", big_fits, "| cached now:",
      len(kv.block_pool.cached_block_hash_to_block))
