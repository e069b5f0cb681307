"""A finished row of a static batch still rides along, fed a pad token."""

from folovllm.config import ModelConfig
from folovllm.model_executor.loader import load_tokenizer
from folovllm.worker.hf_runner import HFModelRunner

config = ModelConfig(device="cpu")  # the default model
tok = load_tokenizer(config)
runner = HFModelRunner(config, pad_token_id=tok.pad_token_id)  # M1's runner
fed, columns = [], []  # per decode step: each row's input, the cache width
real_decode = runner.decode


def watched_decode(ids):
    fed.append(list(ids))
    logits = real_decode(ids)
    columns.append(runner._cache.get_seq_length())
    return logits


runner.decode = watched_decode
prompts = [tok("Hi").input_ids, tok("The capital of France is").input_ids]
tokens = runner.generate(prompts, max_tokens=[1, 5])
pad = runner.pad_token_id
print("tokens generated:", [len(t) for t in tokens])
print("decode steps (row 0, row 1):", fed, "| pad id:", pad)
print("cache width after each step:", columns)
wasted = sum(step[0] == pad for step in fed) / sum(len(s) for s in fed)
print(f"decode rows that computed nothing: {wasted:.0%}")
print("cache after the last row finished:", runner._cache)
