"""The hit rate counts prompt tokens found in the cache at admission. It
depends on arrival order as much as on the prompts; time to first token
follows the tokens still computed, so watch both.

Builds the tiny random-weight Llama of the tests in a temporary directory
and runs it on the CPU, block size 4."""

import tempfile
from pathlib import Path

from folovllm import LLM, SamplingParams
from tests.tiny_models import build_tiny_model

tmp = tempfile.TemporaryDirectory()
tiny = str(build_tiny_model("llama", Path(tmp.name) / "llama"))
params = SamplingParams(temperature=0, max_tokens=2, ignore_eos=True)
system = list(range(20, 44))  # 24 shared tokens
prompts = [{"prompt_token_ids": system + [100 + i] * 5} for i in range(4)]


def serve(one_by_one: bool) -> tuple[float, list[int]]:
    llm = LLM(tiny, device="cpu", block_size=4)
    if one_by_one:
        outs = [llm.generate(p, params, use_tqdm=False)[0] for p in prompts]
    else:
        outs = llm.generate(prompts, params, use_tqdm=False)
    computed = [len(o.prompt_token_ids) - o.num_cached_tokens for o in outs]
    return llm.llm_engine.prefix_cache_stats.hit_rate, computed


for one_by_one in (False, True):
    rate, computed = serve(one_by_one)
    how = "one by one" if one_by_one else "all at once"
    print(f"{how:11}: hit rate {rate:.0%}, prompt tokens computed "
          f"per request {computed}")
