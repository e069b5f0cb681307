"""Temperature 0 means greedy, and greedy turns truncation off."""

from folovllm import SamplingParams

greedy = SamplingParams(temperature=0, top_p=0.5, top_k=10, min_p=0.2)
print(greedy.sampling_type.name, "| top_p, top_k, min_p =",
      (greedy.top_p, greedy.top_k, greedy.min_p))  # reset to "off"
tiny = SamplingParams(temperature=1e-6)  # below 1e-5 counts as greedy
print("temperature=1e-6:", tiny.sampling_type.name)
print("top_k=-1 (vLLM's 'off'):", SamplingParams(top_k=-1).top_k)
try:
    SamplingParams(temperature=-0.5)
except ValueError as exc:
    negative = str(exc)
    print(negative)
