"""Time to first token with and without the prefix cache, on the default
model (SmolLM2-135M-Instruct) on the CPU.

A long system prompt, then two different questions. The first request
finds an empty cache and computes every token; the second finds the
system prompt's full blocks and computes only the rest. Timings vary from
machine to machine, so the program prints comparisons with wide margins;
the token and FLOP counts are exact.
"""

import timeit

from folovllm import LLM, SamplingParams
from folovllm.core.kv_cache_utils import ROOT_HASH, hash_block_tokens

llm = LLM(device="cpu")
mc, B = llm.llm_engine.config.model_config, 16
system = ("You are the assistant of a small bookshop. Answer politely, in "
          "one sentence, and only about books. ") * 6
questions = [f"Do you sell maps of {city}?"
             for city in ("Paris", "Rome", "Oslo")]
params = SamplingParams(temperature=0, max_tokens=1)


def first_token(prompt):
    return llm.generate(prompt, params, use_tqdm=False)[0]


# oneDNN prepares its kernels once per matrix shape: run both shapes once
# (the cold and the warm step) on unrelated tokens before timing anything.
tok = llm.get_tokenizer()
L = len(tok(system + questions[0])["input_ids"])
hit = len(tok(system)["input_ids"]) // B * B
for n in (L, L - hit):
    first_token({"prompt_token_ids": [7] * n})
llm.reset_prefix_cache()
cold = first_token(system + questions[0])  # an empty cache: computes all
# two more questions find the system prompt; the faster one counts
warm = min((first_token(system + q) for q in questions[1:]),
           key=lambda out: out.metrics.ttft)
assert len(warm.prompt_token_ids) == L and warm.num_cached_tokens == hit
print(f"prompt {L} tokens; cold cache computes {L}, warm cache {L - hit} "
      f"({hit} cached)")

# Prefill FLOPs: 2 per weight per computed token in the linear layers, and
# attention from each computed query to every position up to its own.
weights = sum(p.numel() for n, p in llm.llm_engine.runner.model
              .named_parameters() if p.dim() == 2 and "embed" not in n)
attn = 4 * mc.num_layers * mc.num_attention_heads * mc.head_dim


def prefill_flops(start: int) -> int:
    return 2 * weights * (L - start) + attn * sum(range(start + 1, L + 1))


share = prefill_flops(hit) / prefill_flops(0)
print(f"prefill FLOPs with the cache: {share:.1%} of the cold prefill")
ttft_cold, ttft_warm = cold.metrics.ttft, warm.metrics.ttft
print("TTFT with the cache below half the cold TTFT:",
      ttft_warm < ttft_cold / 2)

# Hashing a block next to computing it.
def seconds(fn) -> float:
    """Best of 5 runs of 2,000 calls: the least disturbed by other work."""
    return min(timeit.repeat(fn, number=2000, repeat=5)) / 2000


tokens = list(range(B))
sha = seconds(lambda: hash_block_tokens(ROOT_HASH, tokens))
fast = seconds(lambda: hash((ROOT_HASH, tuple(tokens))))
per_block = ttft_cold / (L / B)
print("sha256 of a block under 1/1,000 of its prefill time:",
      sha < per_block / 1000)
print("Python's hash() of a block at least 2x faster than sha256:",
      fast * 2 < sha)
