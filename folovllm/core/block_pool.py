"""The block pool: every physical KV block of the cache, the free ones, and the cached ones.

A block is ``block_size`` token positions in every layer's K and V cache. The pool hands blocks
out and takes them back; *which* sequence holds which block is the KV cache manager's business.

Prefix caching (M4) changes what "free" means. A block nobody holds keeps its contents and its
hash: it is *free* (it can be reused for anything) and *cached* (a later prompt with the same
prefix can take it back as it is). Three structures make that work, as in vLLM v1:

- ``ref_cnt`` per block: how many sequences hold it (several can share a cached prefix);
- the free queue, a doubly linked list in eviction order: blocks are appended when their last
  holder lets go and taken from the head, so the block freed longest ago is reused (evicted)
  first — least recently used. A cache hit on a free block unlinks it from the middle in O(1);
- ``cached_block_hash_to_block``: full-block hash -> block. A block taken from the free queue for
  new contents loses its hash (it is evicted from the cache).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from folovllm.core.kv_cache_utils import BlockHash


# --8<-- [start:block]
@dataclass(eq=False)
class KVCacheBlock:
    """One physical block: its index in the cache tensors, how many sequences hold it, the hash
    of its contents once it is full, and its neighbours in the free queue while it is free."""

    block_id: int
    ref_cnt: int = 0
    block_hash: BlockHash | None = None
    prev_free: KVCacheBlock | None = field(default=None, repr=False)
    next_free: KVCacheBlock | None = field(default=None, repr=False)
# --8<-- [end:block]


# --8<-- [start:free_queue]
class FreeKVCacheBlockQueue:
    """The free blocks in eviction order, as a doubly linked list through the blocks themselves:
    O(1) append, pop from the head, and removal from anywhere (a cache hit on a free block)."""

    def __init__(self, blocks: list[KVCacheBlock]) -> None:
        self.head = KVCacheBlock(-1)   # sentinels: no special case at either end
        self.tail = KVCacheBlock(-1)
        self.head.next_free, self.tail.prev_free = self.tail, self.head
        self.num_free_blocks = 0
        for block in blocks:
            self.append(block)

    def append(self, block: KVCacheBlock) -> None:
        last = self.tail.prev_free
        last.next_free = block
        block.prev_free, block.next_free = last, self.tail
        self.tail.prev_free = block
        self.num_free_blocks += 1

    def remove(self, block: KVCacheBlock) -> None:
        if block.prev_free is None or block.next_free is None:
            raise RuntimeError(f"block {block.block_id} is not in the free queue")
        block.prev_free.next_free = block.next_free
        block.next_free.prev_free = block.prev_free
        block.prev_free = block.next_free = None
        self.num_free_blocks -= 1

    def popleft(self) -> KVCacheBlock:
        if not self.num_free_blocks:
            raise RuntimeError("no free block")
        block = self.head.next_free
        self.remove(block)
        return block

    def blocks(self) -> list[KVCacheBlock]:
        """The free blocks, head (evicted next) first."""
        out, block = [], self.head.next_free
        while block is not self.tail:
            out.append(block)
            block = block.next_free
        return out
# --8<-- [end:free_queue]


class BlockPool:
    """Fixed set of ``num_blocks`` blocks; O(1) allocate, free, cache hit and eviction."""

    def __init__(self, num_blocks: int, enable_caching: bool = False) -> None:
        if num_blocks < 1:
            raise ValueError(f"num_blocks={num_blocks} is invalid: the cache needs at least one block")
        self.num_blocks = num_blocks
        self.enable_caching = enable_caching
        self.blocks = [KVCacheBlock(i) for i in range(num_blocks)]
        self.free_block_queue = FreeKVCacheBlockQueue(self.blocks)
        self.cached_block_hash_to_block: dict[BlockHash, KVCacheBlock] = {}

    # --8<-- [start:pool]
    def get_num_free_blocks(self) -> int:
        return self.free_block_queue.num_free_blocks

    def get_cached_block(self, block_hash: BlockHash) -> KVCacheBlock | None:
        return self.cached_block_hash_to_block.get(block_hash)

    def get_new_blocks(self, n: int) -> list[KVCacheBlock]:
        """Take ``n`` free blocks from the head of the queue, evicting their cached contents."""
        if n > self.get_num_free_blocks():
            raise RuntimeError(f"asked for {n} blocks but only {self.get_num_free_blocks()} are free")
        blocks = [self.free_block_queue.popleft() for _ in range(n)]
        for block in blocks:
            self._evict(block)
            block.ref_cnt = 1
        return blocks

    def touch(self, blocks: list[KVCacheBlock]) -> None:
        """One more holder for each block (a cache hit); a free one leaves the free queue."""
        for block in blocks:
            if block.ref_cnt == 0:
                self.free_block_queue.remove(block)
            block.ref_cnt += 1

    def free_blocks(self, blocks: list[KVCacheBlock]) -> None:
        """Drop one reference from each block, in the order given (the caller passes a
        sequence's blocks tail first): a block nobody holds joins the queue's end, keeping its
        contents and hash until it is evicted."""
        for block in blocks:
            if block.ref_cnt <= 0:
                raise RuntimeError(f"block {block.block_id} freed twice")
            block.ref_cnt -= 1
            if block.ref_cnt == 0:
                self.free_block_queue.append(block)

    def cache_full_block(self, block: KVCacheBlock, block_hash: BlockHash) -> None:
        """Make a just-filled block findable by its hash. A block whose hash another block
        already holds stays uncached: the map keeps one block per hash."""
        if not self.enable_caching or block.block_hash is not None:
            return
        if block_hash not in self.cached_block_hash_to_block:
            block.block_hash = block_hash
            self.cached_block_hash_to_block[block_hash] = block
    # --8<-- [end:pool]

    def _evict(self, block: KVCacheBlock) -> None:
        if block.block_hash is not None:
            del self.cached_block_hash_to_block[block.block_hash]
            block.block_hash = None

    def reset_prefix_cache(self) -> bool:
        """Forget every cached block; refused (False) while any block is in use, since running
        sequences' full blocks would then be cached again under hashes nobody could check."""
        if self.get_num_free_blocks() != self.num_blocks:
            return False
        for block in self.blocks:
            self._evict(block)
        return True
