"""Block accounting checks, run after every test on every engine the test touched."""

from __future__ import annotations

from collections import Counter

from folovllm.engine.llm_engine import LLMEngine


def check_block_accounting(engine: LLMEngine) -> None:
    """Every block's reference count equals the number of running sequences that hold it (a
    cached prefix can be shared, M4); no waiting or finished sequence holds any; the free queue
    holds exactly the unreferenced blocks, once each; every hashed block is in the hash map
    exactly once, under its own hash; and an idle engine has every block free."""
    kv = engine.kv_cache_manager
    pool = kv.block_pool
    sched = engine.scheduler
    holders = Counter(b for s in sched.running for b in kv.get_block_ids(s.seq.seq_id))
    for s in sched.running:
        ids = kv.get_block_ids(s.seq.seq_id)
        assert len(ids) == len(set(ids)), f"a sequence holds a block twice: {ids}"
    assert not [s.seq.seq_id for s in sched.waiting if kv.get_block_ids(s.seq.seq_id)], \
        "a waiting sequence holds blocks"
    assert set(kv.seq_to_blocks) <= {s.seq.seq_id for s in sched.running}, \
        "the KV cache manager tracks a sequence that is not running"
    for block in pool.blocks:
        assert block.ref_cnt == holders[block.block_id], \
            f"block {block.block_id}: ref_cnt {block.ref_cnt}, held by {holders[block.block_id]}"
    free = pool.free_block_queue.blocks()
    assert len(free) == len({b.block_id for b in free}) == pool.get_num_free_blocks()
    assert {b.block_id for b in free} == {b.block_id for b in pool.blocks if b.ref_cnt == 0}
    hashed = [b for b in pool.blocks if b.block_hash is not None]
    assert len(pool.cached_block_hash_to_block) == len(hashed)
    assert all(pool.cached_block_hash_to_block[b.block_hash] is b for b in hashed)
    unfinished = {s.seq.seq_id for s in (*sched.waiting, *sched.running)}
    runner_rows = set(engine.runner.input_batch.row_of)
    assert runner_rows <= unfinished | sched._finished_seq_ids, \
        "the runner holds a sequence that finished and was not reported"
    if not engine.has_unfinished_requests():
        assert not unfinished and pool.get_num_free_blocks() == pool.num_blocks, \
            "an idle engine leaked KV blocks"
