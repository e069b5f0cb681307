"""Reference counts and "free but cached": a block nobody holds keeps its
K/V and its hash until the pool hands it out for something else."""

from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.sequence import Sequence, SequenceData

kv = KVCacheManager(num_blocks=6, block_size=4, enable_caching=True)
pool = kv.block_pool


def admit(seq_id: int, tokens: list[int]) -> Sequence:
    """Look the prompt up, allocate, compute it, register its full blocks."""
    seq = Sequence(seq_id, SequenceData(tuple(tokens)))
    hits, num_hit = kv.get_computed_blocks(seq)
    kv.allocate_slots(seq_id, len(tokens), hits)
    seq.data.num_computed_tokens = len(tokens)
    kv.cache_blocks(seq)
    print(f"admit {seq_id}: {num_hit} tokens from the cache, "
          f"blocks {kv.get_block_ids(seq_id)}")
    return seq


states = {}  # when -> (ref count, cached?) of blocks 0, 1 and 2


def show(when: str) -> None:
    state = []
    for b in pool.blocks[:3]:
        free = "free" if b.ref_cnt == 0 else "held"
        cached = "cached" if b.block_hash else "-"
        state.append(f"{b.block_id}:ref={b.ref_cnt},{free},{cached}")
    states[when] = [(b.ref_cnt, b.block_hash is not None)
                    for b in pool.blocks[:3]]
    print(f"  {when:14} {' | '.join(state)}")


prefix = [1, 2, 3, 4, 5, 6, 7, 8]  # two full blocks
admit(0, prefix + [9])
admit(1, prefix + [10, 11])
show("both running")
kv.free(0)
show("0 finished")
kv.free(1)
show("1 finished")
admit(2, prefix + [12])  # a hit on free blocks: they leave the free queue
show("2 running")
kv.free(2)
kv.allocate_slots(3, 6 * 4)  # a prompt that needs every block: evicts all
show("all reused")
print("hashes still mapped:", len(pool.cached_block_hash_to_block))
