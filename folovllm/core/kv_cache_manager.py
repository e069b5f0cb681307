"""The KV cache manager: which physical blocks each sequence's tokens live in.

A sequence's *block table* lists its blocks in order: token ``p`` lives in
``block_table[p // block_size]`` at offset ``p % block_size``. Blocks are allocated on demand —
the prompt's blocks at admission, one more each time decoding crosses a block boundary — and all
given back when the sequence finishes, is aborted or is preempted. So no memory is reserved for
tokens that never come, and the only waste is the unfilled tail of each sequence's last block.
The block tables are this manager's own state (vLLM's ``req_to_blocks``): the scheduler asks it
for room and tells the runner which blocks it got.
"""

from __future__ import annotations

from folovllm.core.block_pool import BlockPool, KVCacheBlock


def cdiv(a: int, b: int) -> int:
    return -(-a // b)


class KVCacheManager:
    def __init__(self, num_blocks: int, block_size: int) -> None:
        self.block_size = block_size
        self.block_pool = BlockPool(num_blocks)
        self.seq_to_blocks: dict[int, list[KVCacheBlock]] = {}

    @property
    def num_blocks(self) -> int:
        return self.block_pool.num_blocks

    def num_free_blocks(self) -> int:
        return self.block_pool.get_num_free_blocks()

    def num_blocks_for(self, num_tokens: int) -> int:
        """Blocks needed to hold ``num_tokens`` tokens."""
        return cdiv(num_tokens, self.block_size)

    def get_block_ids(self, seq_id: int) -> list[int]:
        """The sequence's block table (a copy)."""
        return [b.block_id for b in self.seq_to_blocks.get(seq_id, [])]

    # --8<-- [start:allocate_slots]
    def allocate_slots(self, seq_id: int, num_tokens: int) -> list[int] | None:
        """Make room for the sequence's first ``num_tokens`` tokens; returns the ids of the
        blocks this added (often none), or None, allocating nothing, when too few are free.

        A prefill asks for the whole prompt, a decode for one more token, which needs a new
        block only when the sequence has just filled its last one.
        """
        missing = self.num_blocks_for(num_tokens) - len(self.seq_to_blocks.get(seq_id, ()))
        if missing <= 0:
            return []
        if missing > self.block_pool.get_num_free_blocks():
            return None
        new = self.block_pool.get_new_blocks(missing)
        self.seq_to_blocks.setdefault(seq_id, []).extend(new)
        return [b.block_id for b in new]

    def free(self, seq_id: int) -> None:
        """Give back every block of the sequence, last block first.

        The reverse order matters from M4 on: the pool reuses the oldest-freed block first, and a
        prompt's tail blocks are the least likely to be shared, so they should go first.
        """
        self.block_pool.free_blocks(list(reversed(self.seq_to_blocks.pop(seq_id, []))))
    # --8<-- [end:allocate_slots]
