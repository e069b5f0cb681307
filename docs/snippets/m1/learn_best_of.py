"""n=2 out of best_of=4: the two continuations with the best log-probability."""

from folovllm import LLM, SamplingParams

llm = LLM(device="cpu")
params = SamplingParams(n=2, best_of=4, temperature=1.0, seed=0,
                        max_tokens=8, ignore_eos=True)
out = llm.generate("Once upon a time", params, use_tqdm=False)[0]
for c in out.outputs:
    print(f"{c.cumulative_logprob:8.2f} {c.text!r}")
