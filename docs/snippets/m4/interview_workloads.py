"""Where shared prefixes come from: one system prompt before many
questions, and a chat whose every turn resends the whole conversation.

Builds the tiny random-weight Llama of the tests (2 layers, hidden 64) in
a temporary directory and runs it on the CPU, block size 4."""

import tempfile
from pathlib import Path

from folovllm import LLM, SamplingParams
from tests.tiny_models import build_tiny_model

tmp = tempfile.TemporaryDirectory()
tiny = str(build_tiny_model("llama", Path(tmp.name) / "llama"))
llm = LLM(tiny, device="cpu", block_size=4)
params = SamplingParams(temperature=0, max_tokens=6, ignore_eos=True)


def ask(ids: list[int]):
    """One request on its own: it finds what earlier requests left."""
    return llm.generate({"prompt_token_ids": ids}, params, use_tqdm=False)[0]


system = list(range(20, 44))  # a 24-token system prompt
questions, turns = [], []  # tokens each request found in the cache
print("system prompt + question:")
for q in range(3):
    out = ask(system + [100 + q] * 5)
    questions.append(out.num_cached_tokens)
    print(f"  question {q}: {out.num_cached_tokens:2} of "
          f"{len(out.prompt_token_ids)} prompt tokens from the cache")

print("chat, each turn resends the conversation:")
history = list(range(50, 61))  # the first user message
for turn in range(3):
    out = ask(history)
    turns.append(out.num_cached_tokens)
    print(f"  turn {turn}: {out.num_cached_tokens:2} of "
          f"{len(out.prompt_token_ids)} prompt tokens from the cache")
    history += out.outputs[0].token_ids + [200 + turn] * 3  # reply, user

stats = llm.llm_engine.prefix_cache_stats
print(f"prompt tokens computed: {stats.queries - stats.hits} of "
      f"{stats.queries} ({stats.hit_rate:.0%} hit rate)")
