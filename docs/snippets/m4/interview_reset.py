"""Cached K/V belong to the weights that computed them. After a weight
update the cache serves stale K/V until reset_prefix_cache() empties it;
the reset is refused while requests hold blocks.

Builds the tiny random-weight Llama of the tests in a temporary directory
and runs it on the CPU, block size 4."""

import tempfile
from pathlib import Path

import torch

from folovllm import LLM, SamplingParams
from tests.tiny_models import build_tiny_model

tmp = tempfile.TemporaryDirectory()
tiny = str(build_tiny_model("llama", Path(tmp.name) / "llama"))
params = SamplingParams(temperature=0, max_tokens=8, ignore_eos=True)
prompt = {"prompt_token_ids": list(range(10, 27))}  # 17 tokens
cached = LLM(tiny, device="cpu", block_size=4)
fresh = LLM(tiny, device="cpu", block_size=4, enable_prefix_caching=False)
cached.generate(prompt, params, use_tqdm=False)  # fills the cache


def update_weights(llm: LLM) -> None:
    """A new checkpoint, as RL training pushes to its inference engine."""
    with torch.no_grad():
        for name, p in llm.llm_engine.runner.model.named_parameters():
            if "layers.0" in name and "proj" in name:
                p.mul_(1.5)


update_weights(cached)
update_weights(fresh)
want = fresh.generate(prompt, params, use_tqdm=False)[0].outputs[0]
stale = cached.generate(prompt, params, use_tqdm=False)[0]
print("stale cache:", stale.num_cached_tokens, "cached tokens, same as "
      "the new weights' answer:", stale.outputs[0].token_ids == want.token_ids)

engine = cached.llm_engine
engine.add_request(prompt, params, request_id="running")
engine.step()
print("reset while a request runs:", cached.reset_prefix_cache())
engine.abort_request("running")
print("reset when idle:", cached.reset_prefix_cache())
after = cached.generate(prompt, params, use_tqdm=False)[0]
print("after the reset:", after.num_cached_tokens, "cached tokens, same "
      "as the new weights' answer:",
      after.outputs[0].token_ids == want.token_ids)
