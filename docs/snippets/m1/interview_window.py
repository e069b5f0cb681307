"""Stop strings are searched in a window that ends in the new text."""

from folovllm import SamplingParams
from folovllm.engine.stop_checker import StopChecker
from folovllm.sequence import Sequence, SequenceData

EOS = 2
checker = StopChecker(max_model_len=1000)


def feed(params: SamplingParams, pieces: list[str],
         tokens: list[int] | None = None):
    """One token per text piece, as the engine appends them, each checked.

    Returns the sequence, the piece that finished it and its status."""
    seq = Sequence(0, SequenceData((1,)), eos_token_id=EOS)
    tokens = tokens or [100 + i for i in range(len(pieces))]
    for i, (token, piece) in enumerate(zip(tokens, pieces)):
        seq.data.append_token_id(token, 0.0)
        seq.output_text += piece
        status = checker.check(seq, params, new_char_count=len(piece))
        if status is not None:
            return seq, i, status
    return seq, None, None


pieces = ["Hello wo", "rld, and", " more"]  # "world" spans two tokens
params = SamplingParams(stop=["world"], max_tokens=50)
seq, at, status = feed(params, pieces)
print("stopped at piece", at, status.name, "| text:", repr(seq.output_text),
      "| stop_reason:", repr(seq.stop_reason))

# A match must END in the new text, so it STARTs at most len(stop) - 1
# characters before it; everything earlier was searched before.
text, new = "Hello world, and", len(pieces[1])
start = max(len(text) - new - len("world") + 1, 0)
print("window:", repr(text[start:]), "| match at", text.find("world", start))

# Two stop strings completed by one token: the first in the list wins.
both, _, _ = feed(SamplingParams(stop=["bc", "ab"], max_tokens=50),
                  ["x", "abc"])
print('stop=["bc", "ab"] on "xabc":', repr(both.output_text),
      "| stop_reason:", repr(both.stop_reason))
