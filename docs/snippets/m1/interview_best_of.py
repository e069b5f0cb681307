"""best_of=4, n=2: four samples are drawn, the two most likely returned."""

from folovllm import LLM, SamplingParams

llm = LLM(device="cpu")
common = dict(temperature=1.0, seed=5, max_tokens=4, ignore_eos=True,
              logprobs=0)
prompt = "Tell me a story"
best = llm.generate(prompt, SamplingParams(n=2, best_of=4, **common),
                    use_tqdm=False)[0].outputs
every = llm.generate(prompt, SamplingParams(n=4, **common),
                     use_tqdm=False)[0].outputs
for c in every:  # n=4: all of them, in order
    print(f"n=4 sample {c.index}: logprob {c.cumulative_logprob:7.3f}")
ranked = sorted(every, key=lambda c: c.cumulative_logprob, reverse=True)
print("best_of=4, n=2 returns samples", [c.index for c in best])
