"""A seeded request gets its own generator, so its batch cannot matter."""

import torch

from folovllm import SamplingParams

print(SamplingParams(temperature=0.8).sampling_type.name)
seeded = SamplingParams(temperature=0.8, seed=1234)
print(seeded.sampling_type.name)

probs = torch.softmax(torch.randn(50, generator=torch.Generator()
                                  .manual_seed(0)), dim=-1)


def draw(gen: torch.Generator) -> int:
    """One sample by vLLM's exponential race: argmax(p / q), q ~ Exp(1)."""
    q = torch.empty_like(probs).exponential_(generator=gen)
    return int((probs / q).argmax())


def run(batch: list[str], seeds: dict[str, int] | None,
        steps: int = 8) -> dict[str, list[int]]:
    """Decode `steps` tokens per request; without seeds rows share one."""
    shared = torch.Generator().manual_seed(0)
    gens = {r: torch.Generator().manual_seed(seeds[r]) if seeds else shared
            for r in batch}
    out: dict[str, list[int]] = {r: [] for r in batch}
    for _ in range(steps):
        for r in batch:  # rows are sampled in batch order
            out[r].append(draw(gens[r]))
    return out


seeds = {"A": seeded.seed, "B": 99}
print("shared, A alone:   ", run(["A"], None)["A"])
print("shared, B then A:  ", run(["B", "A"], None)["A"])  # A changed
print("seeded, A alone:   ", run(["A"], seeds)["A"])
print("seeded, B then A:  ", run(["B", "A"], seeds)["A"])  # A the same
# n > 1 with a seed: child i gets seed + i (vLLM v1), or all are equal.
same = run(["A0", "A1"], {"A0": 1234, "A1": 1234})
offset = run(["A0", "A1"], {"A0": 1234, "A1": 1234 + 1})
print("children equal with one seed:", same["A0"] == same["A1"])
print("children equal with seed + i:", offset["A0"] == offset["A1"])
