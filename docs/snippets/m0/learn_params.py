"""What SamplingParams normalises, and what it refuses."""

from folovllm import SamplingParams

greedy = SamplingParams(temperature=0, top_p=0.5, top_k=5, min_p=0.2)
print("temperature=0:", greedy.sampling_type.name,
      (greedy.top_p, greedy.top_k, greedy.min_p))
print("temperature=0.001 ->", SamplingParams(temperature=0.001).temperature)
print("top_k=-1 ->", SamplingParams(top_k=-1).top_k)
print("n=2 -> best_of", SamplingParams(n=2).best_of)
for kwargs in ({"temperature": 0.8}, {"temperature": 0.8, "seed": 7}):
    print(f"{kwargs}:", SamplingParams(**kwargs).sampling_type.name)

for bad in ({"temperature": 0, "n": 2}, {"top_p": 0}, {"n": 3, "best_of": 2},
            {"min_tokens": 20, "max_tokens": 10}):
    try:
        SamplingParams(**bad)
    except ValueError as err:
        print(f"{bad}:\n  {err}")
