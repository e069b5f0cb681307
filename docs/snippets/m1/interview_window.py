"""Stop strings are searched in a window that ends in the new text."""

from docs.snippets.m1.stop_feed import feed  # shown with Q13
from folovllm import SamplingParams

pieces = ["Hello wo", "rld, and", " more"]  # "world" spans two tokens
params = SamplingParams(stop=["world"], max_tokens=50)
out, at, status = feed(params, pieces)
print("stopped at piece", at, status.name, "| text:", repr(out.text),
      "| stop_reason:", repr(out.stop_reason))

# A match must END in the new text, so it STARTs at most len(stop) - 1
# characters before it; everything earlier was searched before.
text, new = "Hello world, and", len(pieces[1])
start = max(len(text) - new - len("world") + 1, 0)
print("window:", repr(text[start:]), "| match at", text.find("world", start))

# Two stop strings completed by one token: the first in the list wins.
both, _, _ = feed(SamplingParams(stop=["bc", "ab"], max_tokens=50),
                  ["x", "abc"])
print('stop=["bc", "ab"] on "xabc":', repr(both.text),
      "| stop_reason:", repr(both.stop_reason))

# The token that completes "world" is also the max_tokens-th: the scheduler
# finishes it as "length", but output processing reports the stop string.
last, _, last_status = feed(SamplingParams(stop=["world"], max_tokens=2),
                            pieces)
print("max_tokens=2:", last_status.name, "| finish_reason:",
      repr(last.finish_reason), "| stop_reason:", repr(last.stop_reason))
