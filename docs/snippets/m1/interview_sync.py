"""One device-to-host read per engine step, and no .item() anywhere."""

import traceback
from pathlib import Path

import torch

import folovllm
from folovllm import LLM, SamplingParams

llm = LLM(device="cpu")
engine = llm.llm_engine
reads: list[tuple[str, str]] = []  # (what, which file asked) during steps
originals = {name: getattr(torch.Tensor, name)
             for name in ("tolist", "item", "__bool__")}


def spy(name):
    def read(self, *args, **kwargs):
        reads.append((name, traceback.extract_stack(limit=2)[0].filename))
        return originals[name](self, *args, **kwargs)
    return read


mixed = [SamplingParams(temperature=0, max_tokens=3, ignore_eos=True,
                        logprobs=2),
         SamplingParams(temperature=0.8, top_p=0.9, top_k=20, seed=1,
                        max_tokens=3, ignore_eos=True,
                        repetition_penalty=1.2, min_tokens=2),
         SamplingParams(temperature=1.0, min_p=0.1, frequency_penalty=0.5,
                        max_tokens=3)]
for text, p in zip(["Hello", "The quick brown fox", "Once"], mixed):
    engine.add_request(text, p)
steps = 0
for name in originals:
    setattr(torch.Tensor, name, spy(name))
try:
    while engine.has_unfinished_requests():
        engine.step()
        steps += 1
finally:
    for name, method in originals.items():
        setattr(torch.Tensor, name, method)

package = Path(folovllm.__file__).parent
ours = [r for r in reads if Path(r[1]).is_relative_to(package)]
print("steps:", steps, "| reads by the engine:",
      [(what, Path(path).name) for what, path in ours])
print(".item() calls:", sum(what == "item" for what, _ in reads))
