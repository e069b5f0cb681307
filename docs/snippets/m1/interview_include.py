"""include_stop_str_in_output, for stop strings and for stop tokens."""

from docs.snippets.m1.stop_feed import EOS, feed  # shown with Q13
from folovllm import SamplingParams

pieces = ["Hello wo", "rld, and", " more"]
keep = SamplingParams(stop=["world"], include_stop_str_in_output=True,
                      max_tokens=50)
kept, _, _ = feed(keep, pieces)
print("stop string kept:", repr(kept.text),
      "| token ids:", kept.token_ids)  # ids are never cut

# Stop tokens: the token stays in token_ids; its text goes unless the flag.
end = dict(stop_token_ids=[7], max_tokens=50)
runs = {"stop token 7": SamplingParams(**end),
        "stop token 7, flag": SamplingParams(**end,
                                             include_stop_str_in_output=True),
        "EOS": SamplingParams(max_tokens=50)}
ended = {}
for name, params in runs.items():
    last = EOS if name == "EOS" else 7
    ended[name], _, _ = feed(params, ["Hi", "<end>"], tokens=[100, last])
    out = ended[name]
    print(f"{name + ':':<19} text {out.text!r:<10} stop_reason",
          repr(out.stop_reason), "| token ids", out.token_ids)
