"""A Request holds best_of sequences and returns the n best."""

from folovllm import SamplingParams
from folovllm.sequence import Request
from folovllm.sequence import SequenceStatus as S

params = SamplingParams(n=2, best_of=3, temperature=0.8)
req = Request.create("req-0", "Hi", [1, 2], params, first_seq_id=10,
                     eos_token_id=2)
print("sequences:", [s.seq_id for s in req.seqs])  # best_of, one prompt

# Pretend each sequence generated two tokens, then finished.
for s, (a, b) in zip(req.seqs, [(-0.5, -0.5), (-0.1, -0.2), (-2.0, -0.1)]):
    s.status = S.RUNNING
    s.data.append_token_id(7, a)
    s.data.append_token_id(8, b)
    s.status = S.FINISHED_LENGTH_CAPPED
    print(f"seq {s.seq_id}: cumulative logprob",
          round(s.data.cumulative_logprob, 6))
print("finished:", req.is_finished(), "| unfinished:",
      req.num_unfinished_seqs())

# Return the n sequences with the highest cumulative log-probability.
best = sorted(req.seqs, key=lambda s: s.data.cumulative_logprob,
              reverse=True)[: params.n]
print("returned:", [s.seq_id for s in best])
try:
    Request.create("req-1", "", [], SamplingParams(), first_seq_id=0)
except ValueError as exc:
    empty = str(exc)
    print(empty)
