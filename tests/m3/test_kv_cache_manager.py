"""Block pool and KV cache manager units: on-demand allocation, boundaries, freeing."""

from __future__ import annotations

import pytest

from folovllm.core.block_pool import BlockPool
from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.sequence import Sequence, SequenceData


def _seq(n: int, seq_id: int = 0) -> Sequence:
    return Sequence(seq_id, SequenceData(tuple(range(1, n + 1))))


def _decode(kv: KVCacheManager, seq: Sequence) -> bool:
    """Append one token and ask for its slot, as the engine and scheduler do."""
    seq.data.append_token_id(7, 0.0)
    seq.data.num_computed_tokens = seq.data.get_len() - 1
    return kv.allocate_slots(seq, 1)


def test_pool_hands_out_fifo_and_counts_references() -> None:
    pool = BlockPool(4)
    a = pool.get_new_blocks(2)
    assert [b.block_id for b in a] == [0, 1] and all(b.ref_cnt == 1 for b in a)
    assert pool.get_num_free_blocks() == 2 and pool.get_usage() == 0.5
    pool.free_blocks(a[::-1])
    assert [b.block_id for b in pool.free_block_queue] == [2, 3, 1, 0]  # freed ones go last
    with pytest.raises(RuntimeError, match="freed twice"):
        pool.free_blocks([a[0]])
    with pytest.raises(RuntimeError, match="only 4 are free"):
        pool.get_new_blocks(5)
    with pytest.raises(ValueError, match="at least one block"):
        BlockPool(0)


def test_prefill_allocates_whole_blocks_and_decode_appends_at_the_boundary() -> None:
    kv = KVCacheManager(num_blocks=8, block_size=4)
    seq = _seq(6)
    assert kv.allocate_slots(seq, 6) and len(seq.block_ids) == 2  # 6 tokens -> 2 blocks of 4
    seq.data.append_token_id(7, 0.0)   # the token sampled by the prefill; its K/V come next step
    seq.data.num_computed_tokens = 6
    grown = []
    for _ in range(5):
        assert kv.allocate_slots(seq, 1)
        grown.append(len(seq.block_ids))
        seq.data.append_token_id(7, 0.0)
        seq.data.num_computed_tokens += 1
    # tokens 7 and 8 fill block 2; token 9 opens block 3
    assert grown == [2, 2, 3, 3, 3] and kv.num_free_blocks() == 5


def test_not_enough_blocks_allocates_nothing_and_free_returns_all() -> None:
    kv = KVCacheManager(num_blocks=3, block_size=4)
    a, b = _seq(8, 0), _seq(5, 1)
    assert kv.allocate_slots(a, 8) and kv.num_free_blocks() == 1
    assert not kv.allocate_slots(b, 5)  # needs 2, 1 free: nothing taken
    assert b.block_ids == [] and kv.num_free_blocks() == 1
    kv.free(a)
    assert a.block_ids == [] and kv.num_free_blocks() == 3
    assert kv.allocate_slots(b, 5) and kv.get_usage() == pytest.approx(2 / 3)


@pytest.mark.parametrize("block_size", [1, 16, 1024])
def test_block_count_is_the_ceiling(block_size) -> None:
    kv = KVCacheManager(num_blocks=64, block_size=block_size)
    for n in [1, 15, 16, 17, 100]:
        assert kv.num_blocks_for(n) == -(-n // block_size)
    seq = _seq(17)
    assert kv.allocate_slots(seq, 17) and len(seq.block_ids) == -(-17 // block_size)
    assert _decode(kv, seq)
