"""When a block becomes findable. FoloVLLM registers a block after the step
that wrote its K/V: two identical prompts in one step share nothing, and a
step that fails publishes nothing. (vLLM v1 registers at allocation.)

Builds the tiny random-weight Llama of the tests in a temporary directory
and runs it on the CPU, block size 4."""

import logging
import tempfile
from pathlib import Path

from folovllm import LLM, SamplingParams
from tests.tiny_models import build_tiny_model

logging.getLogger("folovllm").setLevel(logging.CRITICAL)  # the failed step
tmp = tempfile.TemporaryDirectory()
tiny = str(build_tiny_model("llama", Path(tmp.name) / "llama"))
llm = LLM(tiny, device="cpu", block_size=4)
params = SamplingParams(temperature=0, max_tokens=3, ignore_eos=True)
prompt = {"prompt_token_ids": list(range(10, 23))}  # 13 tokens, 3 blocks

same_step = llm.generate([prompt, prompt], params, use_tqdm=False)
print("two in one step:", [o.num_cached_tokens for o in same_step])
later = llm.generate(prompt, params, use_tqdm=False)
print("the same prompt a step later:", later[0].num_cached_tokens)

# A model that fails on token 66: the request fails, its blocks come back
# unregistered, and nobody can hit K/V that were never fully written.
model = llm.llm_engine.runner.model
forward = model.forward


def faulty(ids, *args):
    if (ids == 66).any():
        raise RuntimeError("the model failed")
    return forward(ids, *args)


model.forward = faulty
poisoned = list(range(40, 52)) + [66]
bad = llm.generate({"prompt_token_ids": poisoned}, params, use_tqdm=False)
print("failed request:", bad[0].outputs[0].finish_reason, "|", bad[0].error)
model.forward = forward
again = llm.generate({"prompt_token_ids": poisoned[:-1] + [67]}, params,
                     use_tqdm=False)
print("same 12-token prefix afterwards:", again[0].num_cached_tokens,
      "tokens from the cache")
