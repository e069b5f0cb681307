"""The budget decides how a prompt is split, never what comes out: greedy
tokens of the tiny random-weight Qwen3 of the tests (built in a temporary
directory, CPU, float32) for 4 prompts of 30-90 tokens, chunked with
budgets 16 and 64, against whole-prompt prefills."""

import random
import tempfile
from pathlib import Path

from folovllm import LLM, SamplingParams
from tests.tiny_models import build_tiny_model

tmp = tempfile.TemporaryDirectory()
model = str(build_tiny_model("qwen3", Path(tmp.name) / "qwen3"))
rng = random.Random(0)
prompts = [{"prompt_token_ids": [rng.randrange(3, 380) for _ in range(n)]}
           for n in (30, 50, 70, 90)]
params = SamplingParams(temperature=0, max_tokens=8, ignore_eos=True,
                        logprobs=0)


def run(**kw) -> tuple[list[list[int]], list[float]]:
    llm = LLM(model, device="cpu", block_size=4, max_num_seqs=4, **kw)
    outs = llm.generate(prompts, params, use_tqdm=False)
    return ([o.outputs[0].token_ids for o in outs],
            [o.outputs[0].cumulative_logprob for o in outs])


whole, whole_lp = run(enable_chunked_prefill=False)
for budget in (16, 64):
    ids, lp = run(max_num_batched_tokens=budget)
    diff = max(abs(a - b) for a, b in zip(lp, whole_lp))
    print(f"budget {budget:2d}: same tokens {ids == whole} | "
          f"cumulative logprobs within 1e-4: {diff < 1e-4}")
