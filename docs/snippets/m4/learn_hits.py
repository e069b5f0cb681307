"""Hit accounting on a tiny random-weight Llama (2 layers, blocks of 4
tokens): how many prompt tokens each request finds in the cache, the rule
that predicts it, prompts admitted in the same step, and cache_salt.
"""

import tempfile
from pathlib import Path

from folovllm import LLM, SamplingParams
from tests.tiny_models import build_tiny_model

B = 4
tmp = tempfile.TemporaryDirectory()
model = str(build_tiny_model("llama", Path(tmp.name) / "llama"))
GREEDY = SamplingParams(temperature=0, max_tokens=4, ignore_eos=True)


def engine(**kwargs) -> LLM:
    return LLM(model, device="cpu", dtype="float32", block_size=B, **kwargs)


def ask(llm: LLM, prompts: list, **extra) -> list:
    """One generate call; a prompt is a token list."""
    return llm.generate([{"prompt_token_ids": p, **extra} for p in prompts],
                        GREEDY, use_tqdm=False)


llm, off = engine(), engine(enable_prefix_caching=False)
base = list(range(10, 30))                  # 20 tokens, cached first
ask(llm, [base])
print("  P   L  cached  rule min(P//B, (L-1)//B)*B")
rows, same = [], True
for i, (p, n) in enumerate([(3, 9), (10, 14), (12, 12), (12, 13),
                            (20, 20), (20, 23)]):
    prompt = base[:p] + [100 + 10 * i + k for k in range(n - p)]
    out = ask(llm, [prompt])[0]
    rule = min(p // B, (n - 1) // B) * B
    rows.append((p, n, out.num_cached_tokens, rule))
    ref = ask(off, [prompt])[0]
    same &= out.outputs[0].token_ids == ref.outputs[0].token_ids
    print(f"{p:3d} {n:3d} {out.num_cached_tokens:7d} {rule:5d}")
print("same tokens as without the cache:", same)

# Identical prompts admitted in one step: nothing is cached before the
# step that computes it, so neither finds the other's blocks.
twins = list(range(40, 53))
first = [o.num_cached_tokens for o in ask(llm, [twins, twins])]
again = [o.num_cached_tokens for o in ask(llm, [twins, twins])]
print(f"two identical 13-token prompts, one step: cached {first}; "
      f"next call: {again}")

# cache_salt: the same prompt under another tenant's salt misses.
secret = list(range(60, 73))
salted = [ask(llm, [secret], cache_salt=s)[0].num_cached_tokens
          for s in ("tenant-a", "tenant-b", "tenant-a")]
print(f"salts a, b, a on one prompt: cached {salted}")
stats = llm.llm_engine.prefix_cache_stats
print(f"engine: {stats.hits} of {stats.queries} prompt tokens from the "
      f"cache ({stats.hit_rate:.1%})")
