"""M0 interview answers on requests and sequences: status machine, recompute, fork, Request.

Run: ``python docs/snippets/m0/interview_sequence.py``.
"""

import copy
import math

from folovllm import SamplingParams
from folovllm.sequence import (
    LEGAL_TRANSITIONS,
    IllegalTransitionError,
    Request,
    Sequence,
    SequenceData,
    SequenceStatus,
)

S = SequenceStatus

# --8<-- [start:state_machine]
seq = Sequence(seq_id=0, data=SequenceData((1, 2, 3)))
assert seq.status is S.WAITING
for nxt in (S.RUNNING, S.PREEMPTED, S.RUNNING, S.FINISHED_STOPPED):
    seq.status = nxt                              # every move is checked by the setter
assert seq.is_finished() and S.get_finished_reason(seq.status) == "stop"

try:
    seq.status = S.RUNNING                        # a finished sequence must never run again
except IllegalTransitionError as exc:
    assert str(exc) == "sequence 0: illegal transition FINISHED_STOPPED -> RUNNING"
else:
    raise AssertionError("the transition should have raised")
assert seq.status is S.FINISHED_STOPPED           # the failed move changed nothing

# Finished states are terminal; a waiting sequence holds no memory, so it cannot be preempted.
assert all(not LEGAL_TRANSITIONS[s] for s in S if S.is_finished(s))
assert S.PREEMPTED not in LEGAL_TRANSITIONS[S.WAITING]
# An engine bug, not bad user input: a RuntimeError, not a ValueError.
assert issubclass(IllegalTransitionError, RuntimeError)
assert not issubclass(IllegalTransitionError, ValueError)
# --8<-- [end:state_machine]

# --8<-- [start:recompute]
seq = Sequence(seq_id=1, data=SequenceData((11, 12, 13, 14)))
data = seq.data
assert data.get_num_uncomputed_tokens() == 4     # prefill: the whole prompt is new

seq.status = S.RUNNING
data.num_computed_tokens = 4                      # prefill cached K/V for 4 tokens ...
data.append_token_id(15, logprob=-0.3)            # ... and sampled one token
assert data.get_num_uncomputed_tokens() == 1      # decode: only the newest token
data.num_computed_tokens = 5
data.append_token_id(16, logprob=-0.7)
assert data.num_computed_tokens == data.get_len() - 1

# Preemption by recompute: the KV blocks are freed, the tokens are kept.
seq.status = S.PREEMPTED
data.reset_state_for_recompute()
assert data.get_num_uncomputed_tokens() == data.get_len() == 6   # one prefill over all 6
assert data.output_token_ids == [15, 16]          # generated tokens are not drawn again
assert math.isclose(data.cumulative_logprob, -1.0)
seq.status = S.RUNNING                            # rescheduled when memory frees up
# --8<-- [end:recompute]

# --8<-- [start:fork]
parent = Sequence(seq_id=0, data=SequenceData((1, 2, 3)))
parent.data.append_token_id(4, logprob=-0.1)
parent.output_text = "four"

child = parent.fork(new_seq_id=1)
child.data.append_token_id(5, logprob=-0.2)
child.output_text += " five"
child.status = S.RUNNING

assert parent.data.output_token_ids == [4] and child.data.output_token_ids == [4, 5]
assert parent.output_text == "four" and parent.status is S.WAITING
assert math.isclose(parent.data.cumulative_logprob, -0.1)
# The immutable prompt tuple is shared by deepcopy: free to "copy", impossible to corrupt.
assert child.data.prompt_token_ids is parent.data.prompt_token_ids

# A shallow copy would share the mutable list, and an append to one would show in both.
victim = Sequence(seq_id=2, data=SequenceData((1, 2, 3)))
shallow = copy.copy(victim)
shallow.data.append_token_id(9, logprob=0.0)
assert victim.data.output_token_ids == [9]
# --8<-- [end:fork]

# --8<-- [start:request]
params = SamplingParams(n=2, best_of=3, temperature=0.8)
req = Request.create("req-0", "Hi", [1, 2], params, first_seq_id=10, eos_token_id=2)
assert [s.seq_id for s in req.seqs] == [10, 11, 12]       # best_of sequences, one prompt
assert len({id(s.data) for s in req.seqs}) == 3           # each grows its own output

# Pretend each sequence generated two tokens, then finished.
for s, (a, b) in zip(req.seqs, [(-0.5, -0.5), (-0.1, -0.2), (-2.0, -0.1)]):
    s.status = S.RUNNING
    s.data.append_token_id(7, a)
    s.data.append_token_id(8, b)
    s.status = S.FINISHED_LENGTH_CAPPED
assert req.is_finished() and req.num_unfinished_seqs() == 0

# Return the n sequences with the highest cumulative log-probability.
best = sorted(req.seqs, key=lambda s: s.data.cumulative_logprob, reverse=True)[: params.n]
assert [s.seq_id for s in best] == [11, 10]

try:
    Request.create("req-1", "", [], SamplingParams(), first_seq_id=0)
except ValueError as exc:
    assert "the prompt is empty" in str(exc)
else:
    raise AssertionError("an empty prompt should be rejected")
# --8<-- [end:request]

print("interview_sequence: all claims hold")
