"""min_tokens turns every stop check off, except max_model_len."""

from docs.snippets.m1.stop_feed import EOS, feed  # shown with Q13
from folovllm import SamplingParams
from folovllm.core.scheduler import check_stop
from folovllm.sequence import Sequence, SequenceData

params = SamplingParams(stop=["!"], min_tokens=3, max_tokens=10)
# Token 1 is EOS and holds the stop string, yet nothing stops before 3.
early, early_at, _ = feed(params, ["Hi!", "", " ok"], tokens=[EOS, 100, 101])
print("EOS and '!' before min_tokens:", early_at, repr(early.text))

# max_model_len still ends it: past it there is no position left.
short, statuses = Sequence(0, SequenceData((1,)), eos_token_id=EOS), []
for token in (100, 101):  # a 1-token prompt leaves room for 2
    short.data.append_token_id(token, 0.0)
    status, _ = check_stop(short, params, max_model_len=3)
    statuses.append(status)
print("max_model_len=3:", [s.name if s else None for s in statuses])

# From the third token on, the checks run again.
late, late_at, late_status = feed(params, ["a", "b", "c!"])
print("third token 'c!':", late_at, late_status.name, repr(late.text))
try:  # max_tokens is never in danger
    SamplingParams(min_tokens=5, max_tokens=4)
except ValueError as exc:
    too_many = str(exc)
    print(too_many)
