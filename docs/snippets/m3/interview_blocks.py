"""M3 interview answers on block management: why paging, the block size,
the block boundary in decode, preemption and its victim, reference counts,
and parallel sampling without sharing.

No model: `BlockPool`, `KVCacheManager` and `Scheduler` only move
integers. A stand-in for the model runner samples token 7 for every
scheduled sequence; `update_from_output` appends it, stops a request at its
`max_tokens` and frees the blocks of finished sequences. Runs in about a
second: `python docs/snippets/m3/interview_blocks.py`.
"""

import itertools
import json
from pathlib import Path

from folovllm import SamplingParams
from folovllm.config import SchedulerConfig
from folovllm.core.block_pool import BlockPool
from folovllm.core.kv_cache_manager import KVCacheManager, cdiv
from folovllm.core.scheduler import Scheduler
from folovllm.core.scheduler_output import ModelRunnerOutput, SchedulerOutput
from folovllm.sequence import Request

_seq_ids = itertools.count(0, 100)
NAMES: dict[int, str] = {}  # sequence id -> request name


def request(name: str, prompt_len: int, max_tokens: int = 16,
            n: int = 1) -> Request:
    params = SamplingParams(n=n, temperature=1.0 if n > 1 else 0,
                            max_tokens=max_tokens, ignore_eos=True)
    prompt = list(range(1, prompt_len + 1))
    r = Request.create(name, None, prompt, params, next(_seq_ids))
    NAMES.update((s.seq_id, name) for s in r.seqs)
    return r


def scheduler(num_blocks: int, block_size: int) -> Scheduler:
    # M3's policy: a step prefills or decodes (M5 made chunking the default)
    config = SchedulerConfig(max_num_seqs=8, max_num_batched_tokens=256,
                             enable_chunked_prefill=False)
    kv = KVCacheManager(num_blocks=num_blocks, block_size=block_size)
    return Scheduler(config, kv, max_model_len=64)


def apply(sched: Scheduler, out: SchedulerOutput) -> None:
    """The model runner's part: every scheduled sequence samples token 7."""
    ids = list(out.num_scheduled_tokens)
    fake = ModelRunnerOutput(ids, [[7]] * len(ids), [0.0] * len(ids))
    sched.update_from_output(out, fake)


def ran(out: SchedulerOutput) -> list[str]:
    return [NAMES[i] for i in out.num_scheduled_tokens]


# --8<-- [start:fragmentation]
lens = [20, 300, 45, 1000, 7, 130]  # tokens each sequence really holds
budget_tokens = 8 * 2048  # the same memory for both allocators


def allocate(block_size: int) -> tuple[KVCacheManager, int]:
    """Admit the sequences into `budget_tokens` of cache; return the
    manager and the tokens of cache they hold. An M2 slot is one block of
    max_model_len = 2048 tokens."""
    kv = KVCacheManager(budget_tokens // block_size, block_size)
    for seq_id, n in enumerate(lens):
        kv.allocate_slots(seq_id, n)
    blocks = sum(len(kv.get_block_ids(i)) for i in range(len(lens)))
    return kv, blocks * block_size


m2, m2_held = allocate(2048)  # 12,288 tokens held for 1,502
m3, m3_held = allocate(16)  # 1,552: <= 15 wasted each
used = {"M2": sum(lens) / m2_held, "M3": sum(lens) / m3_held}  # 12.2%, 96.8%
# Left for new 20-token requests: 2 slots, or 927 blocks = 463 sequences.
left = m2.num_free_blocks(), m3.num_free_blocks() // cdiv(20, 16)

# The committed benchmark: Qwen3-0.6B, 16 GiB of KV, the nano-vllm
# workload through the real scheduler. Sequences running at once while
# requests wait, M2 slots against M3 blocks:
result = json.loads(
    Path("docs/benchmarks/results/m3-memory.json").read_text())
rows = {c["max_model_len"]: c["rows"] for c in result["cases"]}
slots = {n: r[0]["num_blocks"] for n, r in rows.items()}  # 73, 36, 18, 3
# M3: max_model_len is irrelevant (175.87 running at every length)
m3_running = {r[1]["busy_running"] for r in rows.values()}
ratios = {n: round(r[1]["busy_running"] / r[0]["busy_running"], 2)
          for n, r in rows.items()}  # 2.41x at 2048 ... 58.62x at 40960
# M3 pays with preemptions (184 at every length)
m3_preemptions = {r[1]["preemptions"] for r in rows.values()}
# --8<-- [end:fragmentation]

# --8<-- [start:block_size]
# Internal fragmentation: the unfilled tail of the last block, (bs - 1) / 2
# tokens on average, bs - 1 at most.
lengths = range(1, 4097)
waste = {}  # block size: empty slots in the last block, for each length
for bs in (1, 16, 256):
    waste[bs] = [(-n) % bs for n in lengths]

# Block table entries for one 40,960-token Qwen3 context: 40960, 2560, 160.
entries = [cdiv(40960, bs) for bs in (1, 16, 256)]

# Qwen3-0.6B: 2 (K, V) x 28 layers x 8 KV heads x 128 dims x 2 bytes.
per_token = 2 * 28 * 8 * 128 * 2  # 112 KiB
block_bytes = 16 * per_token  # one 16-token block, all layers: 1.75 MiB
block_k_layer = 16 * 8 * 128 * 2  # its K in one layer: 32 KiB
token_k_layer = 8 * 128 * 2  # one token's K in one layer: 2 KiB

# Prefix caching (M4) shares whole blocks only: of a 100-token system
# prompt, 16-token blocks share 96 tokens, 256-token blocks none.
shared_prefix = 100 // 16 * 16, 100 // 256 * 256
# --8<-- [end:block_size]

# --8<-- [start:boundary]
kv = KVCacheManager(num_blocks=3, block_size=4)
prompt_blocks = kv.allocate_slots(0, 4)  # a 4-token prompt: block [0]
grew = []
for num_tokens in range(5, 10):  # five decode steps, positions 4 to 8
    kv.allocate_slots(0, num_tokens)  # room for all the sequence's tokens
    grew.append(len(kv.get_block_ids(0)))
# Position 4 opens block 2; 5, 6, 7 fill it; position 8 opens block 3:
# grew == [2, 2, 2, 2, 3], and no block is free.
free_at_8 = kv.num_free_blocks()
# Positions 9 to 11 fit (no new block: []). Position 12 needs a 4th block,
# and none is free: None, nothing is allocated, and the scheduler must
# preempt someone (or stop this sequence if it is alone).
new_blocks = [kv.allocate_slots(0, n) for n in (10, 11, 12, 13)]
held = len(kv.get_block_ids(0))  # still 3
# --8<-- [end:boundary]

# --8<-- [start:recompute]
sched = scheduler(num_blocks=4, block_size=4)
a, b, c = request("a", 4, max_tokens=2), request("b", 4), request("c", 4)
for r in (a, b, c):
    sched.add_request(r)
out = sched.schedule()  # prefill: one full block each, one left over
prefill_ran = ran(out), len(out.scheduled_new_seqs)  # a, b, c: 3 new
apply(sched, out)
out = sched.schedule()  # each needs a 2nd block for position 4:
decode_ran = ran(out)  # a, b: a takes the free one, b takes c's
victim = c.seqs[0]  # the newest sequence is preempted: no blocks left,
victim_state = (victim.status,
                sched.kv_cache_manager.get_block_ids(victim.seq_id),
                victim.data.num_computed_tokens,  # 0: its K/V are gone...
                victim.data.get_output_len())  # 1: ...its tokens are not
apply(sched, out)  # a reaches max_tokens: its 2 blocks come back
out = sched.schedule()
# Recompute: c comes back as a prefill of its prompt *and* its output (5).
resumed_ran = ran(out), out.num_scheduled_tokens[victim.seq_id]
cached = out.scheduled_cached_seqs  # the runner still holds c's tokens:
# resumed_from_preemption == [True]: it gets only c's 2 new blocks.
preemptions = sched.num_preemptions  # 1
# --8<-- [end:recompute]

# --8<-- [start:victim]
sched = scheduler(num_blocks=6, block_size=2)
# Requests 0..3 in arrival order, 2-token prompts: 4 blocks. Request 0
# stops after its prefill token and 6 decode tokens.
reqs = [request(str(i), 2, max_tokens=7 if i == 0 else 16) for i in range(4)]
for r in reqs:
    sched.add_request(r)
apply(sched, sched.schedule())
steps, preempted, came_back = [], [], []
for _ in range(6):  # six decode steps, memory always short
    before = {s.seq.seq_id for s in sched.running}
    out = sched.schedule()
    came_back.append(len(out.scheduled_new_seqs))  # 0: nobody meanwhile
    steps.append(ran(out))
    preempted.append([NAMES[s.seq.seq_id] for s in sched.waiting
                      if s.seq.seq_id in before])
    apply(sched, out)
# The newest running sequence is the victim each time (3, then 2, then
# 1); the oldest always runs. Victims wait at the head of the queue in
# arrival order; request 0 finished (its 7th token): its blocks came back.
waiting = [w.request.request_id for w in sched.waiting]  # 1, 2, 3
free = sched.kv_cache_manager.num_free_blocks()  # 6
out = sched.schedule()
# Request 1 recomputes its 2 + 5 tokens in 4 blocks. Request 2 needs 3
# blocks, 2 are free: it waits, and request 3 (2 blocks would do) waits
# behind it: FCFS, nobody overtakes.
after = (ran(out), out.total_num_scheduled_tokens,
         sched.kv_cache_manager.num_free_blocks(),
         [w.request.request_id for w in sched.waiting])
# --8<-- [end:victim]

# --8<-- [start:refcount]
pool = BlockPool(4)
x, y = pool.get_new_blocks(2)
counts = [(x.ref_cnt, y.ref_cnt, pool.get_num_free_blocks())]  # 1, 1; 2
x.ref_cnt += 1  # a second holder, as M4 gives a cached prefix block
pool.free_blocks([x, y])  # the first holder finishes: y is free, x held
counts.append((x.ref_cnt, y.ref_cnt, pool.get_num_free_blocks()))
pool.free_blocks([x])  # the last holder: now it is free
counts.append((x.ref_cnt, y.ref_cnt, pool.get_num_free_blocks()))
try:
    pool.free_blocks([x])  # a double free is caught at once
except RuntimeError as e:
    double_free = str(e)  # "... freed twice ..."
# The law every leak check rests on: free + referenced == all blocks.
in_use = sum(b.ref_cnt > 0 for b in pool.blocks)
# --8<-- [end:refcount]

# --8<-- [start:siblings]
sched = scheduler(num_blocks=16, block_size=4)
sched.add_request(request("r", 10, n=3))  # 3 sequences, one prompt
out = sched.schedule()
# M3 prefills each sibling on its own: computed 3 times, stored 3 times.
computed = out.total_num_scheduled_tokens  # 3 x 10
stored = [len(s.block_ids) for s in out.scheduled_new_seqs]  # 3 blocks each
# With sharing (vLLM v0 fork + copy-on-write, or M4's prefix cache): the
# 2 full prompt blocks once, plus a private last block per sibling, the
# one each writes into next: 5.
shared = 10 // 4 + 3 * cdiv(10 % 4, 4)
# --8<-- [end:siblings]

print("block answers: done")
