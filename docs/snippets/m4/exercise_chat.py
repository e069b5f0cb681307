"""Exercise: the prefix cache hit rate of a multi-turn chat.

A tiny random-weight model, blocks of 16 tokens. Each turn sends the whole
conversation so far (every earlier prompt and answer, as token ids) plus a
new 20-token user message, and gets a 12-token answer.
"""

import tempfile
from pathlib import Path

from folovllm import LLM, SamplingParams
from tests.tiny_models import build_tiny_model

B = 16
tmp = tempfile.TemporaryDirectory()
llm = LLM(str(build_tiny_model("qwen3", Path(tmp.name))), device="cpu",
          block_size=B)
params = SamplingParams(temperature=0, max_tokens=12, ignore_eos=True)

history: list[int] = [7] * 30                   # a 30-token system prompt
cached = []
for turn in range(4):
    prompt = history + [100 + turn] * 20
    out = llm.generate({"prompt_token_ids": prompt}, params,
                       use_tqdm=False)[0]
    cached.append(out.num_cached_tokens)
    print(f"turn {turn}: {len(prompt):3d} prompt tokens, "
          f"{out.num_cached_tokens:3d} cached")
    history = prompt + out.outputs[0].token_ids
stats = llm.llm_engine.prefix_cache_stats
print(f"hit rate {stats.hits}/{stats.queries} = {stats.hit_rate:.1%}")
