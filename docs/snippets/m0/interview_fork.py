"""Fork() deep-copies a sequence; a shallow copy would share state."""

import copy

from folovllm.sequence import Sequence, SequenceData
from folovllm.sequence import SequenceStatus as S

parent = Sequence(seq_id=0, data=SequenceData((1, 2, 3)))
parent.data.append_token_id(4, logprob=-0.1)

child = parent.fork(new_seq_id=1)
child.data.append_token_id(5, logprob=-0.2)
child.status = S.RUNNING
for s in (parent, child):
    print(f"seq {s.seq_id}: {s.status.name:<8} {s.data.output_token_ids}",
          round(s.data.cumulative_logprob, 6))
# The immutable prompt tuple is shared: free to copy, impossible to corrupt.
shared_prompt = child.data.prompt_token_ids is parent.data.prompt_token_ids
print("prompt tuple shared:", shared_prompt)

# A shallow copy shares the mutable list: an append shows in both.
victim = Sequence(seq_id=2, data=SequenceData((1, 2, 3)))
shallow = copy.copy(victim)
shallow.data.append_token_id(9, logprob=0.0)
print("shallow copy appended 9; the original now has", victim.data
      .output_token_ids)
