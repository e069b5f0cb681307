"""Prefix caching changes no output: the same greedy tokens and the same
seeded samples with the cache on and off, for n > 1 too. Siblings of one
request start in the same step, so they do not share with each other.

Builds the tiny random-weight Qwen2 of the tests in a temporary directory
and runs it on the CPU, block size 4."""

import tempfile
from pathlib import Path

from folovllm import LLM, SamplingParams
from tests.tiny_models import build_tiny_model

tmp = tempfile.TemporaryDirectory()
tiny = str(build_tiny_model("qwen2", Path(tmp.name) / "qwen2"))
prompt = {"prompt_token_ids": list(range(30, 47))}  # 17 tokens
seeded = SamplingParams(temperature=0.9, seed=3, n=3, max_tokens=8,
                        ignore_eos=True, logprobs=1)


def run(caching: bool):
    llm = LLM(tiny, device="cpu", block_size=4,
              enable_prefix_caching=caching)
    first = llm.generate(prompt, seeded, use_tqdm=False)[0]
    second = llm.generate(prompt, seeded, use_tqdm=False)[0]  # a hit
    return first, second


on_first, on_second = run(True)
off_first, off_second = run(False)
print("cached tokens, cache on:", on_first.num_cached_tokens,
      "then", on_second.num_cached_tokens)
for name, out in [("first", on_first), ("second", on_second)]:
    same = [c.token_ids for c in out.outputs] == \
        [c.token_ids for c in off_first.outputs]
    print(f"{name} run, 3 seeded samples == cache off:", same)
gap = max(abs(a.cumulative_logprob - b.cumulative_logprob)
          for a, b in zip(on_second.outputs, off_second.outputs))
print("cumulative logprobs agree within 1e-5:", gap < 1e-5)
