"""The KV cache manager: which physical blocks each sequence's tokens live in, and which of them
a new sequence can take from the prefix cache.

A sequence's *block table* lists its blocks in order: token ``p`` lives in
``block_table[p // block_size]`` at offset ``p % block_size``. Blocks are allocated on demand —
the prompt's blocks at admission, one more each time decoding crosses a block boundary — and all
given back when the sequence finishes, is aborted or is preempted. The block tables are this
manager's own state (vLLM's ``req_to_blocks``): the scheduler asks it for room and tells the
runner which blocks it got.

Prefix caching (M4): once a block is full and its K/V computed, it is registered under the hash
of its tokens and everything before them (``kv_cache_utils``). A new sequence first looks up its
own full blocks' hashes, in order, and takes the longest run that is cached (``get_computed_
blocks``): those tokens need no computing. A freed block keeps its contents until the pool hands
it out again, so the cache is simply the free blocks nobody has reused yet, evicted least
recently used first.
"""

from __future__ import annotations

from dataclasses import dataclass

from folovllm.core.block_pool import BlockPool, KVCacheBlock
from folovllm.core.kv_cache_utils import BlockHash, extend_block_hashes
from folovllm.sequence import Sequence


def cdiv(a: int, b: int) -> int:
    return -(-a // b)


@dataclass
class PrefixCacheStats:
    """Prompt tokens looked up in the prefix cache at admission, and how many were found."""

    queries: int = 0
    hits: int = 0

    @property
    def hit_rate(self) -> float:
        return self.hits / self.queries if self.queries else 0.0


class KVCacheManager:
    def __init__(self, num_blocks: int, block_size: int, enable_caching: bool = False) -> None:
        """``enable_caching``: the engine passes ``CacheConfig.enable_prefix_caching`` (on by
        default); a manager built by hand has no prefix cache unless asked, as in M3."""
        self.block_size = block_size
        self.enable_caching = enable_caching
        self.block_pool = BlockPool(num_blocks, enable_caching)
        self.seq_to_blocks: dict[int, list[KVCacheBlock]] = {}
        self.seq_block_hashes: dict[int, list[BlockHash]] = {}
        self.num_cached_blocks: dict[int, int] = {}   # of a sequence's blocks, how many registered
        self.prefix_cache_stats = PrefixCacheStats()

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

    # --8<-- [start:get_computed_blocks]
    def get_computed_blocks(self, seq: Sequence, cache_salt: str | None = None
                            ) -> tuple[list[KVCacheBlock], int]:
        """The longest run of the sequence's leading full blocks that is cached, and how many
        tokens it covers.

        Only blocks that end before the last token count: the model must still compute at
        least one token, whose logits give the next token. A prompt of ``L`` tokens sharing
        ``P`` tokens with the cache therefore gets ``min(P // B, (L - 1) // B) * B`` of them.
        """
        if not self.enable_caching:
            return [], 0
        num_tokens = seq.data.get_len()
        hashes = self._block_hashes(seq, num_tokens, cache_salt)
        hits: list[KVCacheBlock] = []
        for block_hash in hashes[: (num_tokens - 1) // self.block_size]:
            block = self.block_pool.get_cached_block(block_hash)
            if block is None:
                break
            hits.append(block)
        return hits, len(hits) * self.block_size
    # --8<-- [end:get_computed_blocks]

    # --8<-- [start:allocate_slots]
    def allocate_slots(self, seq_id: int, num_tokens: int,
                       computed_blocks: list[KVCacheBlock] | None = None,
                       num_lookup_tokens: int | None = None) -> list[int] | None:
        """Make room for the sequence's first ``num_tokens`` tokens; returns the ids of the
        blocks this added, or None, allocating nothing, when too few are free.

        At admission ``computed_blocks`` are its cache hits: they become the head of its block
        table, and the ones nobody holds leave the free queue (they count against the free
        blocks, like new ones); the hit rate counts ``num_lookup_tokens`` looked up (default
        ``num_tokens``; a first chunk of a prompt (M5) looked up the whole prompt). A decode
        asks for one more token, which needs a new block only when the sequence has just
        filled its last one; a prompt chunk asks for the blocks up to the chunk's end.
        """
        held = len(self.seq_to_blocks.get(seq_id, ()))
        if computed_blocks is None and held * self.block_size >= num_tokens:
            return []   # most decode steps: the last block still has room
        computed = computed_blocks or []
        missing = max(self.num_blocks_for(num_tokens) - held - len(computed), 0)
        evictable = sum(b.ref_cnt == 0 for b in computed)
        if missing + evictable > self.block_pool.get_num_free_blocks():
            return None
        if computed_blocks is not None:   # an admission: count the prefix-cache lookup
            self.prefix_cache_stats.queries += num_lookup_tokens or num_tokens
            self.prefix_cache_stats.hits += len(computed) * self.block_size
        self.block_pool.touch(computed)
        new = computed + self.block_pool.get_new_blocks(missing)
        self.seq_to_blocks.setdefault(seq_id, []).extend(new)
        return [b.block_id for b in new]

    def cache_blocks(self, seq: Sequence, cache_salt: str | None = None) -> None:
        """Register the sequence's blocks that its computed tokens have filled, so that later
        sequences can find them. Called after the step that computed them: a block is never
        findable before its K/V are written (a step that fails writes nothing visible)."""
        if not self.enable_caching:
            return
        num_full = seq.data.num_computed_tokens // self.block_size
        start = self.num_cached_blocks.get(seq.seq_id, 0)
        if num_full <= start:
            return
        hashes = self._block_hashes(seq, num_full * self.block_size, cache_salt)
        blocks = self.seq_to_blocks[seq.seq_id]
        for i in range(start, num_full):
            self.block_pool.cache_full_block(blocks[i], hashes[i])
        self.num_cached_blocks[seq.seq_id] = num_full

    def free(self, seq_id: int, keep_hashes: bool = False) -> None:
        """Give back every block of the sequence, last block first: the free queue evicts from
        its head, so a prompt's tail (the least likely to be shared) is evicted before its head.
        A preempted sequence keeps its block hashes (its tokens do not change)."""
        self.block_pool.free_blocks(list(reversed(self.seq_to_blocks.pop(seq_id, []))))
        self.num_cached_blocks.pop(seq_id, None)
        if not keep_hashes:
            self.seq_block_hashes.pop(seq_id, None)
    # --8<-- [end:allocate_slots]

    def _block_hashes(self, seq: Sequence, num_tokens: int, cache_salt: str | None
                      ) -> list[BlockHash]:
        """The hashes of the sequence's full blocks within its first ``num_tokens`` tokens;
        each block is hashed once, the first time it is asked for."""
        hashes = self.seq_block_hashes.setdefault(seq.seq_id, [])
        if len(hashes) < num_tokens // self.block_size:
            extend_block_hashes(hashes, seq.data.get_token_ids()[:num_tokens], self.block_size,
                                cache_salt)
        return hashes

    def reset_prefix_cache(self) -> bool:
        """Forget every cached block; False (nothing done) while sequences hold blocks."""
        return self.block_pool.reset_prefix_cache()
