"""M3 interview answers on block management: why paging, the block size, the block boundary in
decode, preemption and its victim, reference counts, and parallel sampling without sharing.

No model: ``BlockPool``, ``KVCacheManager`` and ``Scheduler`` only move integers. A fake "model"
below gives every scheduled sequence one token per step, as the engine would. Runs in about a
second. Run from the repository root: ``python docs/snippets/m3/interview_blocks.py``.
"""

import itertools
import json
from pathlib import Path

import pytest

from folovllm import SamplingParams
from folovllm.config import SchedulerConfig
from folovllm.core.block_pool import BlockPool
from folovllm.core.kv_cache_manager import KVCacheManager, cdiv
from folovllm.core.scheduler import Scheduler, SchedulerOutput
from folovllm.sequence import Request, Sequence, SequenceData, SequenceStatus

_ids = itertools.count()


def seq(n: int) -> Sequence:
    """A sequence whose prompt is ``n`` tokens."""
    return Sequence(next(_ids), SequenceData(tuple(range(1, n + 1))))


def request(prompt_len: int, n: int = 1) -> Request:
    params = SamplingParams(n=n, temperature=1.0 if n > 1 else 0, ignore_eos=True)
    return Request.create(f"r{next(_ids)}", None, list(range(1, prompt_len + 1)), params,
                          first_seq_id=100 * next(_ids))


def fake_step(out: SchedulerOutput) -> None:
    """The engine's part after a step: each scheduled sequence gains one token, and all its
    tokens but that new one now have K/V in the cache."""
    for s in out.scheduled:
        s.seq.data.append_token_id(7, 0.0)
        s.seq.data.num_computed_tokens = s.seq.data.get_len() - 1


# --8<-- [start:fragmentation]
lens = [20, 300, 45, 1000, 7, 130]            # tokens each sequence really holds
budget_tokens = 8 * 2048                       # the same memory for both allocators


def allocate(block_size: int) -> tuple[KVCacheManager, int]:
    """Admit the sequences into ``budget_tokens`` of cache; return the manager and the tokens
    of cache they hold. An M2 slot is one block of max_model_len = 2048 tokens."""
    kv = KVCacheManager(num_blocks=budget_tokens // block_size, block_size=block_size)
    seqs = [seq(n) for n in lens]
    assert all(kv.allocate_slots(s, s.data.get_len()) for s in seqs)
    return kv, sum(len(s.block_ids) for s in seqs) * block_size


m2, m2_held = allocate(2048)
m3, m3_held = allocate(16)
assert sum(lens) == 1502 and (m2_held, m3_held) == (12288, 1552)
assert round(100 * sum(lens) / m2_held, 1) == 12.2     # M2: 12.2% of what it holds is used
assert round(100 * sum(lens) / m3_held, 1) == 96.8     # M3: 96.8%; at most 15 tokens wasted each
# What is left for new 20-token requests: 2 slots, or 927 blocks = 463 two-block sequences.
assert m2.num_free_blocks() == 2
assert m3.num_free_blocks() == 927 and m3.num_free_blocks() // cdiv(20, 16) == 463

# The committed benchmark: Qwen3-0.6B, 16 GiB of KV, the nano-vllm workload through the real
# scheduler. Sequences running at once while requests wait, M2 slots against M3 blocks:
result = json.loads(Path("docs/benchmarks/results/m3-memory.json").read_text())
rows = {c["max_model_len"]: c["rows"] for c in result["cases"]}
assert {n: r[0]["num_blocks"] for n, r in rows.items()} == {2048: 73, 4096: 36, 8192: 18, 40960: 3}
assert {r[1]["busy_running"] for r in rows.values()} == {175.87}   # M3: max_model_len is irrelevant
ratios = {n: round(r[1]["busy_running"] / r[0]["busy_running"], 2) for n, r in rows.items()}
assert ratios == {2048: 2.41, 4096: 4.89, 8192: 9.77, 40960: 58.62}
assert {r[1]["preemptions"] for r in rows.values()} == {184}    # M3 pays with preemptions
# --8<-- [end:fragmentation]

# --8<-- [start:block_size]
# Internal fragmentation: the unfilled tail of the last block, (bs - 1) / 2 tokens on average.
lengths = range(1, 4097)
for bs in (1, 16, 256):
    waste = [(-n) % bs for n in lengths]         # empty slots in the last block
    assert max(waste) == bs - 1 and sum(waste) / len(waste) == (bs - 1) / 2

# Block table entries for one 40,960-token Qwen3 context: what the kernel looks up.
assert (cdiv(40960, 1), cdiv(40960, 16), cdiv(40960, 256)) == (40960, 2560, 160)

# Qwen3-0.6B: 2 (K, V) x 28 layers x 8 KV heads x 128 dims x 2 bytes = 112 KiB per token.
per_token = 2 * 28 * 8 * 128 * 2
assert per_token == 112 * 2**10
assert 16 * per_token == 1.75 * 2**20           # one 16-token block, all layers
assert 16 * 8 * 128 * 2 == 32 * 2**10           # its K in one layer: 32 KiB in one piece
assert 8 * 128 * 2 == 2 * 2**10                 # one token's K in one layer: 2 KiB

# Prefix caching (M4) shares whole blocks only: of a 100-token shared system prompt,
# 16-token blocks share 96 tokens, 256-token blocks share none.
assert (100 // 16 * 16, 100 // 256 * 256) == (96, 0)
# --8<-- [end:block_size]

# --8<-- [start:boundary]
kv = KVCacheManager(num_blocks=3, block_size=4)
s = seq(4)                                      # a 4-token prompt
assert kv.allocate_slots(s, 4) and len(s.block_ids) == 1        # prefill: exactly one block
s.data.append_token_id(7, 0.0)                  # the prefill sampled token 5 (position 4)...
s.data.num_computed_tokens = 4                  # ...whose K/V the next step writes

grew = []
for _ in range(5):                              # five decode steps
    assert kv.allocate_slots(s, 1)              # room for position num_computed_tokens
    grew.append(len(s.block_ids))
    s.data.append_token_id(7, 0.0)
    s.data.num_computed_tokens += 1
# Position 4 opens block 2; 5, 6, 7 fill it; position 8 opens block 3.
assert grew == [2, 2, 2, 2, 3] and kv.num_free_blocks() == 0

# The next boundary needs a 4th block: none is free, so nothing is allocated and the
# scheduler must preempt someone (or stop this sequence if it is alone).
for _ in range(3):
    assert kv.allocate_slots(s, 1)
    s.data.append_token_id(7, 0.0)
    s.data.num_computed_tokens += 1
assert not kv.allocate_slots(s, 1) and len(s.block_ids) == 3
# --8<-- [end:boundary]

# --8<-- [start:recompute]
sched = Scheduler(SchedulerConfig(max_num_seqs=8, max_num_batched_tokens=256),
                  KVCacheManager(num_blocks=4, block_size=4))
a, b, c = request(4), request(4), request(4)
for r in (a, b, c):
    sched.add_request(r)
out = sched.schedule()                          # prefill: one full block each, one left over
assert out.is_prefill and len(out.scheduled) == 3
fake_step(out)
out = sched.schedule()                          # each needs a 2nd block for position 4
# a takes the free block; b takes c's: the newest sequence is preempted.
assert [x.request for x in out.scheduled] == [a, b]
assert [x.request for x in out.preempted] == [c]
victim = c.seqs[0]
assert victim.status == SequenceStatus.PREEMPTED and victim.block_ids == []
assert victim.data.num_computed_tokens == 0         # its K/V are gone...
assert victim.data.get_output_len() == 1            # ...its tokens are not
fake_step(out)
a.seqs[0].status = SequenceStatus.FINISHED_STOPPED  # a finishes: its 2 blocks come back
sched.free_finished()
out = sched.schedule()
# Recompute: c comes back as a prefill of its prompt *and* its output so far.
assert out.is_prefill and [x.request for x in out.scheduled] == [c]
assert out.num_batched_tokens == 4 + 1 and len(victim.block_ids) == 2
assert sched.num_preemptions == 1
# --8<-- [end:recompute]

# --8<-- [start:victim]
sched = Scheduler(SchedulerConfig(max_num_seqs=8, max_num_batched_tokens=256),
                  KVCacheManager(num_blocks=6, block_size=2))
reqs = [request(2) for _ in range(4)]           # requests 0..3 in arrival order: 4 blocks
for r in reqs:
    sched.add_request(r)
fake_step(sched.schedule())
ran, preempted = [], []
for _ in range(6):                              # six decode steps, memory always short
    out = sched.schedule()
    assert not out.is_prefill                   # nobody can come back while the others grow
    ran.append([reqs.index(x.request) for x in out.scheduled])
    preempted.append([reqs.index(x.request) for x in out.preempted])
    fake_step(out)
# The newest running sequence is the victim each time; the oldest runs in every step.
assert preempted == [[3], [], [2], [], [1], []]
assert ran == [[0, 1, 2], [0, 1, 2], [0, 1], [0, 1], [0], [0]]
# Victims wait at the head of the queue in arrival order, and come back in that order.
assert [reqs.index(w.request) for w in sched.waiting] == [1, 2, 3]
reqs[0].seqs[0].status = SequenceStatus.FINISHED_STOPPED
sched.free_finished()                           # request 0 gives back its 4 blocks: 6 free
out = sched.schedule()
# Request 1 recomputes its 2 + 5 tokens in 4 blocks. Request 2 needs 3 blocks, 2 are free:
# it waits, and request 3 (2 blocks would do) waits behind it: FCFS, nobody overtakes.
assert out.is_prefill and [reqs.index(x.request) for x in out.scheduled] == [1]
assert out.num_batched_tokens == 2 + 5 and sched.kv_cache_manager.num_free_blocks() == 2
assert [reqs.index(w.request) for w in sched.waiting] == [2, 3]
# --8<-- [end:victim]

# --8<-- [start:refcount]
pool = BlockPool(4)
x, y = pool.get_new_blocks(2)
assert (x.ref_cnt, y.ref_cnt) == (1, 1) and pool.get_num_free_blocks() == 2
x.ref_cnt += 1             # a second holder, as M4 gives a cached prefix block to a new request
pool.free_blocks([x, y])   # the first holder finishes: y is free, x is still held
assert pool.get_num_free_blocks() == 3 and x.ref_cnt == 1
pool.free_blocks([x])      # the last holder: now it is free
assert pool.get_num_free_blocks() == 4
with pytest.raises(RuntimeError, match="freed twice"):
    pool.free_blocks([x])  # a double free is caught at once, not when two sequences collide
# The conservation law every leak check rests on: free + referenced == all blocks.
assert pool.get_num_free_blocks() + sum(b.ref_cnt > 0 for b in pool.blocks) == pool.num_blocks
# --8<-- [end:refcount]

# --8<-- [start:siblings]
sched = Scheduler(SchedulerConfig(max_num_seqs=8, max_num_batched_tokens=256),
                  KVCacheManager(num_blocks=16, block_size=4))
r = request(10, n=3)                            # parallel sampling: 3 sequences, one prompt
sched.add_request(r)
out = sched.schedule()
# M3 prefills each sibling on its own: the prompt is computed 3 times and stored 3 times.
assert len(out.scheduled) == 3 and out.num_batched_tokens == 3 * 10
assert [len(s.seq.block_ids) for s in out.scheduled] == [3, 3, 3]
assert sched.kv_cache_manager.num_free_blocks() == 16 - 9
# With sharing (vLLM v0 fork + copy-on-write, or M4's prefix cache): the 2 full prompt blocks
# once, plus a private last block per sibling, which is the one each writes into next.
shared = 10 // 4 + 3 * cdiv(10 % 4, 4)
assert shared == 5
# --8<-- [end:siblings]

print("block answers: all asserts passed")
