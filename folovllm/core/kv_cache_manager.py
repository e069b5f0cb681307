"""The KV cache manager: which physical blocks each sequence's tokens live in.

A sequence's *block table* (``Sequence.block_ids``) lists its blocks in order: token ``p`` lives
in ``block_ids[p // block_size]`` at offset ``p % block_size``. Blocks are allocated on demand —
the prompt's blocks at admission, one more each time decoding crosses a block boundary — and all
given back when the sequence finishes, is aborted or is preempted. So no memory is reserved for
tokens that never come, and the only waste is the unfilled tail of each sequence's last block.
"""

from __future__ import annotations

from folovllm.core.block_pool import BlockPool
from folovllm.sequence import Sequence


def cdiv(a: int, b: int) -> int:
    return -(-a // b)


class KVCacheManager:
    def __init__(self, num_blocks: int, block_size: int) -> None:
        self.block_size = block_size
        self.block_pool = BlockPool(num_blocks)

    @property
    def num_blocks(self) -> int:
        return self.block_pool.num_blocks

    def num_free_blocks(self) -> int:
        return self.block_pool.get_num_free_blocks()

    def num_blocks_for(self, num_tokens: int) -> int:
        """Blocks needed to hold ``num_tokens`` tokens."""
        return cdiv(num_tokens, self.block_size)

    # --8<-- [start:allocate_slots]
    def allocate_slots(self, seq: Sequence, num_new_tokens: int) -> bool:
        """Make room for the sequence's next ``num_new_tokens`` tokens (after the ones already
        computed); returns False, allocating nothing, when there are not enough free blocks.

        A prefill asks for the whole prompt, a decode for one token, which needs a new block
        only when the sequence has just filled its last one.
        """
        needed = self.num_blocks_for(seq.data.num_computed_tokens + num_new_tokens)
        missing = needed - len(seq.block_ids)
        if missing <= 0:
            return True
        if missing > self.block_pool.get_num_free_blocks():
            return False
        seq.block_ids += [b.block_id for b in self.block_pool.get_new_blocks(missing)]
        return True

    def free(self, seq: Sequence) -> None:
        """Give back every block of the sequence, last block first.

        The reverse order matters from M4 on: the pool reuses the oldest-freed block first, and a
        prompt's tail blocks are the least likely to be shared, so they should go first.
        """
        blocks = self.block_pool.blocks
        self.block_pool.free_blocks([blocks[i] for i in reversed(seq.block_ids)])
        seq.block_ids = []
    # --8<-- [end:allocate_slots]

    def get_usage(self) -> float:
        return self.block_pool.get_usage()
