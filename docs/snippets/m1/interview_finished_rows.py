"""A finished row of a static batch still rides along, fed a pad token."""

from folovllm import LLM, SamplingParams

llm = LLM(device="cpu", model_impl="transformers")  # the M1 runner
runner = llm.llm_engine.runner
greedy = dict(temperature=0, ignore_eos=True)
fed, columns = [], []  # per decode step: each row's input, the cache width
real_decode = runner.decode


def watched_decode(ids):
    fed.append(list(ids))
    logits = real_decode(ids)
    columns.append(runner._cache.get_seq_length())
    return logits


runner.decode = watched_decode
try:
    outs = llm.generate(["Hi", "The capital of France is"],
                        [SamplingParams(max_tokens=1, **greedy),
                         SamplingParams(max_tokens=5, **greedy)],
                        use_tqdm=False)
finally:
    del runner.decode  # back to the class's method
pad = runner.pad_token_id
print("tokens generated:", [len(o.outputs[0].token_ids) for o in outs])
print("decode steps (row 0, row 1):", fed, "| pad id:", pad)
print("cache width after each step:", columns)
wasted = sum(step[0] == pad for step in fed) / sum(len(s) for s in fed)
print(f"decode rows that computed nothing: {wasted:.0%}")
print("cache after the last row finished:", runner._cache)
