"""One bad prompt rejects the whole call, before any work starts."""

from folovllm import LLM, SamplingParams

llm = LLM(device="cpu")
prompts = ["A fine prompt", {"prompt_token_ids": [1, 10**6]}]
try:
    llm.generate(prompts, SamplingParams(max_tokens=4), use_tqdm=False)
except ValueError as err:
    print(err)
print("requests left in the engine:", llm.llm_engine.has_unfinished_requests())
