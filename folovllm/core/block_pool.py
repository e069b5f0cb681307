"""The block pool: every physical KV block of the cache, and the queue of free ones.

A block is ``block_size`` token positions in every layer's K and V cache. The pool only hands
blocks out and takes them back; *which* sequence holds which block is the KV cache manager's
business. Each block carries a reference count so that, from M4 on, several sequences sharing a
cached prompt prefix can hold the same block; in M3 a block has one owner at a time.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


# --8<-- [start:block]
@dataclass
class KVCacheBlock:
    """One physical block: its index in the cache tensors and how many sequences hold it."""

    block_id: int
    ref_cnt: int = 0
# --8<-- [end:block]


class BlockPool:
    """Fixed set of ``num_blocks`` blocks; O(1) allocate and free.

    Free blocks are handed out oldest-freed first (a FIFO queue). For M3 any order would do; M4's
    prefix cache keeps the contents of freed blocks and evicts from the head of this queue, so the
    order becomes its LRU policy.
    """

    def __init__(self, num_blocks: int) -> None:
        if num_blocks < 1:
            raise ValueError(f"num_blocks={num_blocks} is invalid: the cache needs at least one block")
        self.num_blocks = num_blocks
        self.blocks = [KVCacheBlock(i) for i in range(num_blocks)]
        self.free_block_queue: deque[KVCacheBlock] = deque(self.blocks)

    # --8<-- [start:pool]
    def get_num_free_blocks(self) -> int:
        return len(self.free_block_queue)

    def get_new_blocks(self, n: int) -> list[KVCacheBlock]:
        """Take ``n`` free blocks; the caller checked there are enough."""
        if n > len(self.free_block_queue):
            raise RuntimeError(f"asked for {n} blocks but only {len(self.free_block_queue)} are free")
        blocks = [self.free_block_queue.popleft() for _ in range(n)]
        for block in blocks:
            block.ref_cnt += 1
        return blocks

    def free_blocks(self, blocks: list[KVCacheBlock]) -> None:
        """Drop one reference from each block; a block nobody holds goes back to the queue."""
        for block in blocks:
            if block.ref_cnt <= 0:
                raise RuntimeError(f"block {block.block_id} freed twice")
            block.ref_cnt -= 1
            if block.ref_cnt == 0:
                self.free_block_queue.append(block)
    # --8<-- [end:pool]
