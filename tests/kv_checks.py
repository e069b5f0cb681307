"""Block accounting checks, run after every test on every engine the test touched."""

from __future__ import annotations

from folovllm.engine.llm_engine import LLMEngine


def check_block_accounting(engine: LLMEngine) -> None:
    """Every block in use is held by exactly one running sequence (M3 never shares blocks), no
    waiting or finished sequence holds any, and an idle engine has every block free."""
    kv = engine.kv_cache_manager
    pool = kv.block_pool
    sched = engine.scheduler
    held = [b for s in sched.running for b in kv.get_block_ids(s.seq.seq_id)]
    assert len(held) == len(set(held)), f"a block is held twice: {sorted(held)}"
    assert not [s.seq.seq_id for s in sched.waiting if kv.get_block_ids(s.seq.seq_id)], \
        "a waiting sequence holds blocks"
    assert set(kv.seq_to_blocks) <= {s.seq.seq_id for s in sched.running}, \
        "the KV cache manager tracks a sequence that is not running"
    unfinished = {s.seq.seq_id for s in (*sched.waiting, *sched.running)}
    runner_rows = set(engine.runner.input_batch.row_of)
    assert runner_rows <= unfinished | sched._finished_seq_ids, \
        "the runner holds a sequence that finished and was not reported"
    in_use = {b.block_id for b in pool.blocks if b.ref_cnt > 0}
    assert in_use == set(held), f"blocks in use but owned by no running sequence: {in_use - set(held)}"
    assert all(b.ref_cnt == 1 for b in pool.blocks if b.ref_cnt)
    assert all(b.ref_cnt == 0 for b in pool.free_block_queue)
    assert pool.get_num_free_blocks() + len(in_use) == pool.num_blocks
    if not engine.has_unfinished_requests():
        assert not unfinished and pool.get_num_free_blocks() == pool.num_blocks, \
            "an idle engine leaked KV blocks"
