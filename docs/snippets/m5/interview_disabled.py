"""What enable_chunked_prefill changes in the configuration: the default
budget, and what a budget must hold. Qwen3-0.6B's config.json (shipped
with folovllm's benchmarks; no weights are loaded): max_model_len 40960."""

import textwrap
from pathlib import Path

import folovllm.benchmarks
from folovllm.config import EngineArgs

qwen3 = str(Path(folovllm.benchmarks.__file__).parent / "configs"
            / "qwen3-0.6b")


def budget(**kw) -> str:
    try:
        config = EngineArgs.from_kwargs(
            model=qwen3, device="cpu", **kw).create_engine_config()
    except ValueError as error:
        return "refused:\n" + textwrap.fill(
            str(error), 76, initial_indent="  ", subsequent_indent="  ")
    return str(config.scheduler_config.max_num_batched_tokens)


print("chunked, default budget:", budget())
print("not chunked, default budget:", budget(enable_chunked_prefill=False))
print("not chunked, budget 8192:", budget(enable_chunked_prefill=False,
                                         max_num_batched_tokens=8192))
print("not chunked, threshold 512:", budget(
    enable_chunked_prefill=False, long_prefill_token_threshold=512))
