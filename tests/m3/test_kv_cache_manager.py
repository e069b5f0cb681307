"""Block pool and KV cache manager units: on-demand allocation, boundaries, freeing."""

from __future__ import annotations

import pytest

from folovllm.core.block_pool import BlockPool
from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.sequence import Sequence, SequenceData


def _seq(n: int, seq_id: int = 0) -> Sequence:
    return Sequence(seq_id, SequenceData(tuple(range(1, n + 1))))


def _decode(kv: KVCacheManager, seq: Sequence) -> list[int] | None:
    """Append one token and ask for room for all the tokens, as the scheduler does."""
    seq.data.append_token_id(7, 0.0)
    seq.data.num_computed_tokens = seq.data.get_len() - 1
    return kv.allocate_slots(seq.seq_id, seq.data.get_len())


def test_pool_hands_out_fifo_and_counts_references() -> None:
    pool = BlockPool(4)
    a = pool.get_new_blocks(2)
    assert [b.block_id for b in a] == [0, 1] and all(b.ref_cnt == 1 for b in a)
    assert pool.get_num_free_blocks() == 2
    pool.free_blocks(a[::-1])
    assert [b.block_id for b in pool.free_block_queue.blocks()] == [2, 3, 1, 0]  # freed go last
    with pytest.raises(RuntimeError, match="freed twice"):
        pool.free_blocks([a[0]])
    with pytest.raises(RuntimeError, match="only 4 are free"):
        pool.get_new_blocks(5)
    with pytest.raises(ValueError, match="at least one block"):
        BlockPool(0)


def test_prefill_allocates_whole_blocks_and_decode_appends_at_the_boundary() -> None:
    kv = KVCacheManager(num_blocks=8, block_size=4)
    seq = _seq(6)
    assert kv.allocate_slots(seq.seq_id, 6) == [0, 1]  # 6 tokens -> 2 blocks of 4
    assert kv.get_block_ids(seq.seq_id) == [0, 1]
    seq.data.append_token_id(7, 0.0)   # the token sampled by the prefill; its K/V come next step
    seq.data.num_computed_tokens = 6
    grown, added = [], []
    for _ in range(5):
        added.append(kv.allocate_slots(seq.seq_id, seq.data.get_len()))
        grown.append(len(kv.get_block_ids(seq.seq_id)))
        seq.data.append_token_id(7, 0.0)
        seq.data.num_computed_tokens += 1
    # tokens 7 and 8 fill block 2; token 9 opens block 3
    assert grown == [2, 2, 3, 3, 3] and kv.num_free_blocks() == 5
    assert added == [[], [], [2], [], []] and kv.get_block_ids(seq.seq_id) == [0, 1, 2]


def test_not_enough_blocks_allocates_nothing_and_free_returns_all() -> None:
    kv = KVCacheManager(num_blocks=3, block_size=4)
    a, b = _seq(8, 0), _seq(5, 1)
    assert kv.allocate_slots(a.seq_id, 8) == [0, 1] and kv.num_free_blocks() == 1
    assert kv.allocate_slots(b.seq_id, 5) is None  # needs 2, 1 free: nothing taken
    assert kv.get_block_ids(b.seq_id) == [] and b.seq_id not in kv.seq_to_blocks
    assert kv.num_free_blocks() == 1
    kv.free(a.seq_id)
    assert kv.get_block_ids(a.seq_id) == [] and kv.seq_to_blocks == {}
    assert kv.num_free_blocks() == 3
    assert len(kv.allocate_slots(b.seq_id, 5)) == 2 and kv.num_free_blocks() == 1
    kv.free(b.seq_id)
    kv.free(b.seq_id)  # a sequence with no blocks frees nothing (twice is harmless)
    assert kv.num_free_blocks() == 3


@pytest.mark.parametrize("block_size", [1, 16, 1024])
def test_block_count_is_the_ceiling(block_size) -> None:
    kv = KVCacheManager(num_blocks=64, block_size=block_size)
    for n in [1, 15, 16, 17, 100]:
        assert kv.num_blocks_for(n) == -(-n // block_size)
    seq = _seq(17)
    assert kv.allocate_slots(seq.seq_id, 17) is not None
    assert len(kv.get_block_ids(seq.seq_id)) == -(-17 // block_size)
    assert _decode(kv, seq) is not None
    assert len(kv.get_block_ids(seq.seq_id)) == -(-18 // block_size)
