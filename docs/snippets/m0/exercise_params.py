"""Exercise: what SamplingParams stores, and what it refuses."""

from folovllm import SamplingParams

greedy = SamplingParams(temperature=0, top_k=5, top_p=0.5)
print("greedy keeps top_k =", greedy.top_k, "and top_p =", greedy.top_p)
print("top_k=-1 is stored as", SamplingParams(top_k=-1).top_k)
try:
    SamplingParams(temperature=0, n=2)
except ValueError as err:
    print("n=2 at temperature 0:", err)
