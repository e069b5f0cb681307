"""One sequence through its states, and what num_computed_tokens counts."""

from folovllm import SamplingParams
from folovllm.sequence import IllegalTransitionError, Request
from folovllm.sequence import SequenceStatus as S

params = SamplingParams(n=2, best_of=3, temperature=0.8)
req = Request.create("req-0", "Hi", [1, 2, 3], params, first_seq_id=0)
seq, sibling = req.seqs[0], req.seqs[1]
print("sequences of the request:", [s.seq_id for s in req.seqs])

seq.status = S.RUNNING
seq.data.num_computed_tokens = 3  # prefill processed the 3 prompt tokens
seq.data.append_token_id(42, logprob=-0.5)
uncomputed = seq.data.get_len() - seq.data.num_computed_tokens
print("decode: uncomputed", uncomputed,
      "| sibling's outputs", sibling.data.output_token_ids)

seq.status = S.PREEMPTED  # its KV blocks are reclaimed
seq.data.reset_state_for_recompute()
uncomputed = seq.data.get_len() - seq.data.num_computed_tokens
print("preempted: uncomputed", uncomputed)

seq.status = S.RUNNING
seq.status = S.FINISHED_STOPPED
print("finished:", S.get_finished_reason(seq.status))
try:
    seq.status = S.RUNNING
except IllegalTransitionError as err:
    print(err)
