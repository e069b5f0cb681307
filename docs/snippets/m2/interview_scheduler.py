"""M2 interview answers on scheduling: static vs continuous batching, iteration-level
scheduling, the three admission budgets with FCFS, and the prefill-first policy.

No model: the scheduler only moves ``Request`` objects, and a fake "model" below appends one
token to every scheduled sequence per step. Runs in about a second.
Run from the repository root: ``python docs/snippets/m2/interview_scheduler.py``.

Since M3 the scheduler's memory budget is free KV blocks. An M2 slot is exactly a block of
``max_model_len`` tokens taken whole at admission, so ``scheduler()`` below gives each sequence one
block of ``MAX_MODEL_LEN`` tokens, and ``slots=`` counts them: M2's behaviour, on main's code.
"""

import itertools

from folovllm import SamplingParams
from folovllm.config import SchedulerConfig
from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.core.scheduler import Scheduler
from folovllm.sequence import Request, SequenceStatus

_ids = itertools.count()
MAX_MODEL_LEN = 128  # no sequence below grows past 100 tokens


def request(prompt_len: int, max_tokens: int) -> Request:
    """A greedy request whose prompt is ``prompt_len`` tokens and whose output stops at
    ``max_tokens`` (the fake model below never emits EOS)."""
    n = next(_ids)
    params = SamplingParams(temperature=0, max_tokens=max_tokens, ignore_eos=True)
    return Request.create(f"r{n}", None, list(range(1, prompt_len + 1)), params,
                          first_seq_id=100 * n)


def scheduler(max_num_seqs: int = 4, max_num_batched_tokens: int = 1000, slots: int = 4,
              static: bool = False) -> Scheduler:
    """``slots`` KV slots: blocks of ``MAX_MODEL_LEN`` tokens, one per sequence, as in M2."""
    cfg = SchedulerConfig(max_num_seqs=max_num_seqs, max_num_batched_tokens=max_num_batched_tokens)
    return Scheduler(cfg, KVCacheManager(num_blocks=slots, block_size=MAX_MODEL_LEN),
                     static_batching=static)


def fake_step(sched: Scheduler):
    """One engine step without a model: schedule, give each scheduled sequence a token, finish
    the ones that reached max_tokens, free their slots. Returns the SchedulerOutput, with the
    blocks each scheduled sequence held in the step (a finished one gives them back at its end)."""
    out = sched.schedule()
    out.block_ids = [list(s.seq.block_ids) for s in out.scheduled]
    for s in out.scheduled:
        s.seq.data.append_token_id(0, 0.0)
        s.seq.data.num_computed_tokens = s.seq.data.get_len() - 1  # as the engine does
        if s.seq.data.get_output_len() >= s.request.sampling_params.max_tokens:
            s.seq.status = SequenceStatus.FINISHED_LENGTH_CAPPED
    sched.free_finished()
    return out


# --8<-- [start:static_vs_continuous]
def run(static: bool, out_lens: list[int]) -> dict:
    """Serve requests with these output lengths on 4 slots; count steps and decode rows."""
    sched = scheduler(static=static)
    for n in out_lens:
        sched.add_request(request(prompt_len=8, max_tokens=n))
    steps = computed_rows = useful_rows = 0
    batch_rows = 0
    while sched.has_unfinished():
        out = fake_step(sched)
        steps += 1
        if out.is_prefill:
            batch_rows = len(out.scheduled)  # a static batch keeps this many rows to the end
        else:
            # The M1 runner computes every row of its padded batch, finished or not; the M2
            # runner computes exactly the scheduled sequences.
            computed_rows += batch_rows if static else len(out.scheduled)
            useful_rows += len(out.scheduled)
    return dict(steps=steps, computed=computed_rows, useful=useful_rows)


out_lens = [2, 16, 3, 16, 4, 16, 2, 16]       # short and long answers, interleaved
static, continuous = run(True, out_lens), run(False, out_lens)
# The same tokens are produced either way...
assert static["useful"] == continuous["useful"] == sum(out_lens) - len(out_lens)
# ...but the static batch needs more steps: each batch lasts as long as its longest row.
assert (static["steps"], continuous["steps"]) == (32, 25)
# And 53 of its 120 decode rows compute tokens for sequences that already finished.
assert (static["computed"], static["useful"]) == (120, 67)
assert continuous["computed"] == continuous["useful"]
# --8<-- [end:static_vs_continuous]

# --8<-- [start:iteration_level]
sched = scheduler(slots=2)
long_a, long_b = request(8, max_tokens=10), request(8, max_tokens=20)
sched.add_request(long_a)
assert fake_step(sched).is_prefill              # step 1: prefill of long_a
sched.add_request(long_b)                       # arrives while long_a is running
out = fake_step(sched)                          # step 2: admitted at the very next step
assert out.is_prefill and [s.request for s in out.scheduled] == [long_b]
short, late = request(4, max_tokens=1), request(4, max_tokens=3)
sched.add_request(short)
sched.add_request(late)                         # both slots are taken: both wait
steps = 0
while not long_a.is_finished():
    assert not fake_step(sched).is_prefill      # decode steps of long_a and long_b
    steps += 1
assert steps == 9 and not long_b.is_finished()  # 1 token from its prefill + 9 decodes
out = fake_step(sched)                          # the next step takes that slot at once
assert out.is_prefill and [s.request for s in out.scheduled] == [short]
assert out.block_ids == [[0]]                   # long_a's slot (block 0), reused, no copying
assert short.is_finished()                      # a 1-token answer is done in its prefill step
out = fake_step(sched)                          # and its slot goes to the next in line
assert out.is_prefill and [s.request for s in out.scheduled] == [late]
# --8<-- [end:iteration_level]

# --8<-- [start:budgets]
# Budget 1: max_num_seqs caps the running sequences (here 2, though 4 slots are free).
sched = scheduler(max_num_seqs=2, slots=4)
for _ in range(3):
    sched.add_request(request(10, max_tokens=5))
assert len(sched.schedule().scheduled) == 2 and len(sched.waiting) == 1

# Budget 2: max_num_batched_tokens caps the prompt tokens of one prefill step.
sched = scheduler(max_num_batched_tokens=100)
a, b, c = request(60, 5), request(30, 5), request(50, 5)
for r in (a, b, c):
    sched.add_request(r)
first = sched.schedule()
assert [s.request for s in first.scheduled] == [a, b] and first.num_batched_tokens == 90
assert [s.request for s in sched.schedule().scheduled] == [c]   # the next step, fresh budget

# Budget 3: KV slots (free blocks), i.e. memory. One slot: the second request waits for the first.
sched = scheduler(max_num_seqs=8, slots=1)
sched.add_request(request(5, 5))
sched.add_request(request(5, 5))
assert len(sched.schedule().scheduled) == 1 and len(sched.waiting) == 1

# FCFS: admission stops at the first request that does not fit; nothing behind it jumps ahead,
# even a request that would fit (c2 needs 10 tokens, 30 are left after a2).
sched = scheduler(max_num_batched_tokens=100)
a2, big, c2 = request(70, 5), request(50, 5), request(10, 5)
for r in (a2, big, c2):
    sched.add_request(r)
assert [s.request for s in sched.schedule().scheduled] == [a2]
assert [s.request for s in sched.schedule().scheduled] == [big, c2]
# --8<-- [end:budgets]

# --8<-- [start:prefill_first]
# A long answer is decoding; then three prompts arrive, and the token budget fits one per step.
sched = scheduler(max_num_batched_tokens=100, slots=4)
talker = request(10, max_tokens=50)
sched.add_request(talker)
fake_step(sched)                                  # prefill: talker has its first token
fake_step(sched)                                  # decode: its second
for _ in range(3):
    sched.add_request(request(80, max_tokens=20))
kinds = []
for _ in range(4):
    out = fake_step(sched)
    kinds.append("prefill" if out.is_prefill else "decode")
    assert (talker.seqs[0] in [s.seq for s in out.scheduled]) == (not out.is_prefill)
# Prefill first: while anything can be admitted, running sequences do not advance at all.
assert kinds == ["prefill", "prefill", "prefill", "decode"]
assert talker.seqs[0].data.get_output_len() == 3  # 6 steps, 3 tokens: three steps of stall
# --8<-- [end:prefill_first]

print("scheduler answers: all asserts passed")
