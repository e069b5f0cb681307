"""A prompt of L tokens that shares P tokens with the cache gets
min(P // B, (L - 1) // B) * B of them from it: whole blocks only, and never
the block of the last prompt token, whose logits give the first output.

Builds the tiny random-weight Llama of the tests in a temporary directory
and runs it on the CPU, block size B = 4."""

import os
import tempfile
from pathlib import Path

from folovllm import LLM, SamplingParams
from tests.tiny_models import build_tiny_model

tmp = tempfile.TemporaryDirectory()
tiny = str(build_tiny_model("llama", Path(tmp.name) / "llama"))
B = 4
params = SamplingParams(temperature=0, max_tokens=4, ignore_eos=True)
base = list(range(10, 22))  # 12 tokens, 3 full blocks
cases = {  # prompt: what it shares with `base`
    "the same 12 tokens": base,
    "base + 1 token": base + [99],
    "its first 11 tokens": base[:11],
    "6 shared + 8 new": base[:6] + [99] * 8,
    "3 shared + 7 new": base[:3] + [99] * 7,
}
print(f"{'prompt':20} {'L':>3} {'P':>3} {'rule':>5} {'engine':>7}")
llm = LLM(tiny, device="cpu", block_size=B)
rows = []
for name, prompt in cases.items():
    llm.reset_prefix_cache()  # an empty cache, then `base` computed alone
    llm.generate({"prompt_token_ids": base}, params, use_tqdm=False)
    out = llm.generate({"prompt_token_ids": prompt}, params, use_tqdm=False)
    L = len(prompt)
    P = len(os.path.commonprefix([base, prompt]))
    rule = min(P // B, (L - 1) // B) * B
    rows.append((name, L, P, rule, out[0].num_cached_tokens))
    print(f"{name:20} {L:3} {P:3} {rule:5} {out[0].num_cached_tokens:7}")
