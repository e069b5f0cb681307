"""A sequence's status moves only along the legal transitions."""

from folovllm.sequence import (LEGAL_TRANSITIONS, IllegalTransitionError,
                               Sequence, SequenceData)
from folovllm.sequence import SequenceStatus as S

seq = Sequence(seq_id=0, data=SequenceData((1, 2, 3)))
path = [seq.status.name]
for nxt in (S.RUNNING, S.PREEMPTED, S.RUNNING, S.FINISHED_STOPPED):
    seq.status = nxt  # every move is checked by the setter
    path.append(seq.status.name)
print(" -> ".join(path), "| reason:", S.get_finished_reason(seq.status))

try:
    seq.status = S.RUNNING  # a finished sequence must never run again
except IllegalTransitionError as exc:
    illegal = str(exc)
    print(type(exc).__name__, "(a RuntimeError):", illegal)
print("status after the failed move:", seq.status.name)

# Finished states are terminal; a waiting sequence holds no KV to free.
print("moves out of a finished state:",
      sum(len(LEGAL_TRANSITIONS[s]) for s in S if S.is_finished(s)))
print("WAITING may go to:",
      sorted(s.name for s in LEGAL_TRANSITIONS[S.WAITING]))
