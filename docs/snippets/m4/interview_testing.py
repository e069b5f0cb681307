"""Testing a prefix cache: random admissions, growth and frees against
the pool's invariants after every operation, then the same with a bug
planted: a cache hit that forgets to unlink a free block."""

import random

from folovllm.core.block_pool import BlockPool
from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.sequence import Sequence, SequenceData

B = 4
PREFIXES = [[1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 9, 9, 9, 9], [5] * 8]


def check(kv: KVCacheManager) -> None:
    """Ref counts equal holders; the free queue is exactly the unheld
    blocks, once each; every hashed block is mapped once, to itself."""
    pool = kv.block_pool
    holders = [0] * pool.num_blocks
    for blocks in kv.seq_to_blocks.values():
        for b in blocks:
            holders[b.block_id] += 1
    assert [b.ref_cnt for b in pool.blocks] == holders, "ref counts"
    free = [b.block_id for b in pool.free_block_queue.blocks()]
    unheld = {i for i, n in enumerate(holders) if n == 0}
    assert len(free) == len(set(free)) == pool.get_num_free_blocks()
    assert set(free) == unheld, \
        f"held blocks in the free queue: {sorted(set(free) - unheld)}"
    hashed = [b for b in pool.blocks if b.block_hash is not None]
    assert len(hashed) == len(pool.cached_block_hash_to_block)
    assert all(pool.cached_block_hash_to_block[b.block_hash] is b
               for b in hashed), "hash map"


def fuzz(seed: int, pool: type[BlockPool] = BlockPool) -> int:
    """300 random operations on a 12-block cache; returns the hits seen."""
    rng = random.Random(seed)
    kv, live, hits = KVCacheManager(12, B, enable_caching=True), {}, 0
    kv.block_pool = pool(12, enable_caching=True)
    for seq_id in range(300):
        op = rng.choice(["add", "add", "grow", "free"])
        if op == "add":
            ids = rng.choice(PREFIXES) + [seq_id] * rng.randint(1, 6)
            seq = Sequence(seq_id, SequenceData(tuple(ids)))
            found, n = kv.get_computed_blocks(seq)
            if kv.allocate_slots(seq_id, len(ids), found) is not None:
                seq.data.num_computed_tokens = len(ids)
                kv.cache_blocks(seq)
                live[seq_id], hits = seq, hits + n
        elif live:
            seq = live[rng.choice(list(live))]
            n = seq.data.get_len() + 1
            if op == "grow" and kv.allocate_slots(seq.seq_id, n) is not None:
                seq.data.append_token_id(seq_id, 0.0)
                seq.data.num_computed_tokens = n
                kv.cache_blocks(seq)
            else:
                kv.free(live.pop(seq.seq_id).seq_id)
        check(kv)
    return hits


print("clean pool, 20 seeds x 300 operations:",
      "hits", sum(fuzz(s) for s in range(20)), "| every check passed")


class BuggyPool(BlockPool):
    def touch(self, blocks: list) -> None:
        for block in blocks:  # forgets: a free block must leave the queue
            block.ref_cnt += 1


try:
    fuzz(0, BuggyPool)
except AssertionError as error:
    caught = str(error)
print("planted bug caught:", caught)
