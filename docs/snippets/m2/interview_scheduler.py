"""M2 interview answers on scheduling: static vs continuous batching,
iteration-level scheduling, the three admission budgets with FCFS, and the
prefill-first policy.

No model: the scheduler only moves integers. A stand-in for the model
runner samples token 0 for every scheduled sequence; `update_from_output`
appends it, finishes a request at its `max_tokens` and frees its slot.
Since M3 the memory budget is free KV blocks; an M2 slot is one block of
`MAX_MODEL_LEN` tokens, so `slots=` counts them. Runs in about a second:
`python docs/snippets/m2/interview_scheduler.py`.
"""

import itertools

from folovllm import SamplingParams
from folovllm.config import SchedulerConfig
from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.core.scheduler import Scheduler
from folovllm.core.scheduler_output import ModelRunnerOutput, SchedulerOutput
from folovllm.sequence import Request

_seq_ids = itertools.count(0, 100)
MAX_MODEL_LEN = 128  # no sequence below grows past 100 tokens


def request(name: str, prompt_len: int, max_tokens: int) -> Request:
    """A greedy request that stops after `max_tokens` outputs."""
    params = SamplingParams(temperature=0, max_tokens=max_tokens,
                            ignore_eos=True)
    prompt = list(range(1, prompt_len + 1))
    return Request.create(name, None, prompt, params, next(_seq_ids))


def scheduler(max_num_seqs: int = 4, max_num_batched_tokens: int = 1000,
              slots: int = 4) -> Scheduler:
    """`slots` KV slots: blocks of MAX_MODEL_LEN tokens, one per sequence."""
    # M2's policy: a step prefills whole prompts or decodes (M5 made
    # chunked prefill the default).
    cfg = SchedulerConfig(max_num_seqs=max_num_seqs,
                          max_num_batched_tokens=max_num_batched_tokens,
                          enable_chunked_prefill=False)
    kv = KVCacheManager(num_blocks=slots, block_size=MAX_MODEL_LEN)
    return Scheduler(cfg, kv, MAX_MODEL_LEN)


def fake_step(sched: Scheduler) -> SchedulerOutput:
    """One engine step; the model's part: every sequence samples token 0."""
    out = sched.schedule()
    ids = list(out.num_scheduled_tokens)
    fake = ModelRunnerOutput(ids, [[0]] * len(ids), [0.0] * len(ids))
    sched.update_from_output(out, fake)
    return out


def admitted(out: SchedulerOutput) -> list[str]:
    """The requests whose sequences the step prefills (M2: a prefill step
    is one that admits; nothing is ever preempted)."""
    return [s.request_id for s in out.scheduled_new_seqs]


# --8<-- [start:static_vs_continuous]
def run(static: bool, out_lens: list[int]) -> dict:
    """Serve requests with these output lengths on 4 slots; count steps
    and decode rows. Static: a batch of 4 forms only when none runs."""
    sched, queue = scheduler(), []
    for i, n in enumerate(out_lens):
        queue.append(request(f"r{i}", prompt_len=8, max_tokens=n))
    steps = computed = useful = batch_rows = 0
    while queue or sched.waiting or sched.running:
        if not static or not sched.running:
            for r in queue[:4] if static else queue:
                sched.add_request(r)
            queue = queue[4:] if static else []
        out = fake_step(sched)
        steps += 1
        rows = len(out.num_scheduled_tokens)
        if admitted(out):
            batch_rows = rows  # a static batch keeps these rows to the end
        else:
            # M1's runner computes every row of its padded batch, finished
            # or not; M2's computes exactly the scheduled sequences.
            computed += batch_rows if static else rows
            useful += rows
    return dict(steps=steps, computed=computed, useful=useful)


out_lens = [2, 16, 3, 16, 4, 16, 2, 16]  # short and long, interleaved
static, continuous = run(True, out_lens), run(False, out_lens)
# The same 67 tokens either way, but each static batch lasts as long as its
# longest row (32 steps, not 25), and 53 of its 120 decode rows compute
# tokens for finished sequences.
# --8<-- [end:static_vs_continuous]

# --8<-- [start:iteration_level]
sched = scheduler(slots=2)
long_a, long_b = request("a", 8, 10), request("b", 8, 20)
sched.add_request(long_a)
step_1 = admitted(fake_step(sched))  # ["a"]: the prefill of a
sched.add_request(long_b)  # arrives while a is running:
step_2 = admitted(fake_step(sched))  # ["b"]: admitted at the next step
sched.add_request(request("short", 4, 1))
sched.add_request(request("late", 4, 3))  # both slots taken: both wait
decode_steps = []  # what each decode step of a and b admits: nothing
while not long_a.is_finished():
    decode_steps.append(admitted(fake_step(sched)))
# 9 of them: a has 1 token from its prefill + 9 decodes.
out = fake_step(sched)  # the next step takes a's slot at once,
took_a_slot = admitted(out)  # ["short"]
short_blocks = out.scheduled_new_seqs[0].block_ids  # [0]: no copying
# A 1-token answer is done in its prefill step; its slot goes next in line.
took_short_slot = admitted(fake_step(sched))  # ["late"]
# --8<-- [end:iteration_level]

# --8<-- [start:budgets]
# Budget 1: max_num_seqs caps the running sequences (2, with 4 slots free).
sched = scheduler(max_num_seqs=2, slots=4)
for name in "abc":
    sched.add_request(request(name, 10, 5))
by_seqs = admitted(sched.schedule()), len(sched.waiting)  # a, b; c waits

# Budget 2: max_num_batched_tokens caps the prompt tokens of one step.
sched = scheduler(max_num_batched_tokens=100)
for name, n in (("a", 60), ("b", 30), ("c", 50)):
    sched.add_request(request(name, n, 5))
first = sched.schedule()
by_tokens = admitted(first), first.total_num_scheduled_tokens  # a, b: 90
next_step = admitted(sched.schedule())  # c: the next step, fresh budget

# Budget 3: free KV slots, i.e. memory. One slot: the second one waits.
sched = scheduler(max_num_seqs=8, slots=1)
sched.add_request(request("a", 5, 5))
sched.add_request(request("b", 5, 5))
by_memory = admitted(sched.schedule()), len(sched.waiting)  # a; b waits

# FCFS: admission stops at the first request that does not fit; nothing
# behind it jumps ahead, even one that fits (c needs 10 of the 30 left).
sched = scheduler(max_num_batched_tokens=100)
for name, n in (("a", 70), ("big", 50), ("c", 10)):
    sched.add_request(request(name, n, 5))
fcfs = [admitted(sched.schedule()) for _ in range(2)]  # a, then big and c
# --8<-- [end:budgets]

# --8<-- [start:prefill_first]
# A long answer is decoding; three prompts arrive, one fits per step.
sched = scheduler(max_num_batched_tokens=100, slots=4)
talker = request("talker", 10, 50)
sched.add_request(talker)
fake_step(sched)  # prefill: talker has its first token
fake_step(sched)  # decode: its second
for name in "xyz":
    sched.add_request(request(name, 80, 20))
kinds, talker_ran = [], []
for _ in range(4):
    out = fake_step(sched)
    kinds.append("prefill" if admitted(out) else "decode")
    talker_ran.append(talker.seqs[0].seq_id in out.num_scheduled_tokens)
# Prefill first: while anything can be admitted, running sequences wait.
# Three prefill steps, then a decode: talker has 3 tokens after 6 steps.
talker_tokens = talker.seqs[0].data.get_output_len()
# --8<-- [end:prefill_first]

print("scheduler answers: done")
