"""The M1 Sampler on a 5-token vocabulary, one stage at a time."""

import torch

from docs.snippets.m1.batch_metadata import metadata  # shown above
from folovllm import SamplingParams
from folovllm.model_executor.layers.sampler import (
    Sampler,
    apply_truncation,
    make_generator,
)

V = 5
P = torch.tensor([0.40, 0.30, 0.15, 0.10, 0.05])  # the M0 notes' distribution
LOGITS = P.log().unsqueeze(0)


def sample(params, logits=LOGITS, seed=0, **kw):
    sampler = Sampler(torch.Generator().manual_seed(seed))
    return sampler(logits, metadata(params, vocab=V, **kw))


def kept(params):
    """The tokens that survive top-k, then top-p, then min-p."""
    row = apply_truncation(LOGITS.clone(), metadata([params], vocab=V))[0]
    return torch.isfinite(row).nonzero().flatten().tolist()


# 1. min_tokens bans the stop ids (token 0 plays EOS) until enough output.
early = SamplingParams(temperature=0, min_tokens=3)
early.all_stop_token_ids = {0}  # the engine fills this when adding it
for out in ([2], [2, 2, 2]):
    token = sample([early], outputs=[out]).sampled_token_ids.item()
    print(f"min_tokens=3, {len(out)} output tokens: greedy picks {token}")
# 2. Penalties change the logits, so they change greedy decoding too.
rep = SamplingParams(temperature=0, repetition_penalty=2.0)
for prompt in ([0], [3]):
    token = sample([rep], prompts=[prompt]).sampled_token_ids.item()
    print(f"repetition_penalty=2, prompt {prompt}: greedy picks {token}")
# 3. Truncation: top-k, then top-p on the survivors, then min-p.
print("top_k=4:", kept(SamplingParams(top_k=4)))
print("top_k=4, top_p=0.8:", kept(SamplingParams(top_k=4, top_p=0.8)))
print("... min_p=0.5:", kept(SamplingParams(top_k=4, top_p=0.8, min_p=0.5)))
# 4. The exponential race: argmax(p / q), q ~ Exp(1), picks i with prob p_i.
rows = sample([SamplingParams(temperature=1.0)] * 200_000,
              logits=LOGITS.expand(200_000, V)).sampled_token_ids
freq = torch.bincount(rows, minlength=V) / rows.numel()
print("200,000 draws:", [round(f, 2) for f in freq.tolist()])


# 5. A seeded row owns its generator: the batch around it changes nothing.
def seeded_tokens(batch_size, steps=8):
    gen, tokens = make_generator(42, 0, "cpu"), []
    params = [SamplingParams(temperature=1.0, seed=42)]
    params += [SamplingParams(temperature=1.0)] * (batch_size - 1)
    for step in range(steps):
        out = sample(params, logits=LOGITS.expand(batch_size, V), seed=step,
                     generators=[gen] + [None] * (batch_size - 1))
        tokens.append(out.sampled_token_ids[0].item())
    return tokens


for size in (1, 4, 16):
    print(f"seed=42 in a batch of {size:2d}: {seeded_tokens(size)}")
