"""Exercise: how many prompt tokens does the prefix cache supply?

A tiny random-weight model, blocks of 16 tokens. For each case, a first
prompt fills the cache, then a second prompt of L tokens that shares its
first P tokens with it arrives alone.
"""

import tempfile
from pathlib import Path

from folovllm import LLM, SamplingParams
from tests.tiny_models import build_tiny_model

B = 16
tmp = tempfile.TemporaryDirectory()
llm = LLM(str(build_tiny_model("llama", Path(tmp.name))), device="cpu",
          block_size=B)
params = SamplingParams(temperature=0, max_tokens=1)


def rule(p: int, length: int) -> int:
    return min(p // B, (length - 1) // B) * B


measured = {}
for p, length in [(40, 100), (15, 50), (47, 60), (48, 48), (80, 81)]:
    llm.reset_prefix_cache()
    shared = [(7 * i) % 300 + 5 for i in range(p)]
    first = shared + [350] * 8                 # differs right after P tokens
    second = shared + [351] * (length - p)
    for prompt in (first, second):
        out = llm.generate({"prompt_token_ids": prompt}, params,
                           use_tqdm=False)[0]
    measured[p, length] = out.num_cached_tokens
    print(f"P={p:2d} L={length:3d}: rule {rule(p, length):2d}, "
          f"engine {out.num_cached_tokens:2d}")
