"""The free queue: a doubly linked list in eviction order. Blocks join at
the tail when their last holder lets go, new contents take the head (least
recently used), and a cache hit unlinks a block from the middle in O(1)."""

from folovllm.core.block_pool import BlockPool

pool = BlockPool(6, enable_caching=True)
q = pool.free_block_queue


orders = []


def order() -> list[int]:
    orders.append([b.block_id for b in q.blocks()])  # head: evicted next
    return orders[-1]


a = pool.get_new_blocks(2)  # request a: blocks 0, 1
b = pool.get_new_blocks(2)  # request b: blocks 2, 3
for blk, h in zip(a + b, [b"a0", b"a1", b"b0", b"b1"]):
    pool.cache_full_block(blk, h)  # all four full and cached
print("start:            ", order())
pool.free_blocks(a[::-1])  # a finishes first (tail first)
pool.free_blocks(b[::-1])  # then b
print("a, then b freed:  ", order())
pool.touch([pool.get_cached_block(b"a0")])  # a hit on a0: out of the middle
print("a0 hit, unlinked: ", order())
new = pool.get_new_blocks(3)  # three blocks for new contents
print("3 blocks reused:  ", [x.block_id for x in new])
print("still cached:     ",
      sorted(h.decode() for h in pool.cached_block_hash_to_block))
# The links live in the blocks themselves: unlinking needs no search.
blk = pool.blocks[3]
print("block 3: after the head sentinel:", blk.prev_free is q.head,
      "| before block", blk.next_free.block_id)
