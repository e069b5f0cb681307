"""Num_computed_tokens, and preemption by recompute."""

from folovllm.sequence import Sequence, SequenceData
from folovllm.sequence import SequenceStatus as S


def uncomputed(data: SequenceData) -> int:
    """The tokens the next forward pass must process: not yet in the cache."""
    return data.get_len() - data.num_computed_tokens


seq = Sequence(seq_id=1, data=SequenceData((11, 12, 13, 14)))
data = seq.data
steps = [("prefill", uncomputed(data))]  # the whole prompt

seq.status = S.RUNNING
data.num_computed_tokens = 4  # prefill cached K/V for 4 tokens ...
data.append_token_id(15, logprob=-0.3)  # ... and sampled one token
steps.append(("decode", uncomputed(data)))  # the newest
data.num_computed_tokens = 5
data.append_token_id(16, logprob=-0.7)
steps.append(("decode", uncomputed(data)))

# Preemption by recompute: the KV blocks are freed, the tokens are kept.
seq.status = S.PREEMPTED
data.reset_state_for_recompute()
steps.append(("recompute", uncomputed(data)))  # all 6
for name, todo in steps:
    print(f"{name:<10} tokens to compute: {todo}")
print("output kept:", data.output_token_ids,
      "| cumulative logprob:", round(data.cumulative_logprob, 6))
seq.status = S.RUNNING  # rescheduled when memory frees up
