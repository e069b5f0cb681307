"""A seeded request draws from its own generator: its batch cannot matter."""

import torch

from docs.snippets.m1.batch_metadata import metadata  # shown with Q6
from folovllm import SamplingParams
from folovllm.model_executor.layers.sampler import Sampler, make_generator

torch.manual_seed(2)
logits = torch.randn(4, 50)
seeded = SamplingParams(temperature=1.0, seed=42)
plain = SamplingParams(temperature=1.0)


def run(layout: list[str], steps: int = 20) -> dict[str, list[int]]:
    """Sample `steps` times from a batch of rows named in `layout`."""
    gens = {"s": make_generator(42, 0, "cpu")}  # the seeded request's own
    shared = torch.Generator().manual_seed(0)  # the engine's shared one
    params = [seeded if name == "s" else plain for name in layout]
    md = metadata(params, generators=[gens.get(n) for n in layout], vocab=50)
    rows = logits[["sabc".index(name) for name in layout]]
    tokens: dict[str, list[int]] = {name: [] for name in layout}
    for _ in range(steps):
        out = Sampler(shared)(rows, md).sampled_token_ids
        for name, tok in zip(layout, out.tolist()):
            tokens[name].append(tok)
    return tokens


alone, crowded = run(["s"]), run(["a", "s", "b"])
moved = run(["c", "b", "a", "s"])
print("seeded row, alone:      ", alone["s"][:10])
print("seeded row, 3 in batch: ", crowded["s"][:10])
print("seeded row, 4 in batch: ", moved["s"][:10])
print("unseeded row a, batch 3:", crowded["a"][:10])
print("unseeded row a, batch 4:", moved["a"][:10])

# n > 1 with one seed: sequence i draws from SHA-256 of "seed:i".
seeds = [make_generator(42, i, "cpu").initial_seed() for i in range(2)]
print("generator seeds of sequences 0 and 1:", seeds)
# Python's hash() would not do: it maps -1 and -2 alike.
print("hash((-1, 1)) == hash((-2, 1)):", hash((-1, 1)) == hash((-2, 1)))
minus = [make_generator(s, 1, "cpu").initial_seed() for s in (-1, -2)]
print("SHA-256 seeds for -1 and -2 differ:", minus[0] != minus[1])
