"""The M1 Sampler on a 5-token vocabulary: each stage of the pipeline, in the order it runs.

Uses the real `Sampler` and `SamplingMetadata` from folovllm/model_executor/layers/sampler.py.
"""

import torch

from folovllm import SamplingParams
from folovllm.model_executor.layers.sampler import (
    Sampler,
    SamplingMetadata,
    apply_truncation,
    make_generator,
)

V = 5
# The distribution of the M0 notes, written as logits: p = 0.40, 0.30, 0.15, 0.10, 0.05.
P = torch.tensor([0.40, 0.30, 0.15, 0.10, 0.05])
LOGITS = P.log().unsqueeze(0)


def metadata(params, prompts=None, outputs=None, generators=None):
    """One row per SamplingParams; prompts/outputs are each row's token ids so far."""
    n = len(params)
    return SamplingMetadata.build(params, prompts or [[4]] * n, outputs or [[]] * n,
                                  generators or [None] * n, vocab_size=V, device="cpu")


def sample(params, logits=LOGITS, seed=0, **kw):
    return Sampler(torch.Generator().manual_seed(seed))(logits, metadata(params, **kw))


# 1. min_tokens: until a row has that many output tokens, its stop ids are -inf. The engine fills
#    all_stop_token_ids (stop_token_ids + EOS) when the request is added; here token 0 plays EOS.
early = SamplingParams(temperature=0, min_tokens=3)
early.all_stop_token_ids = {0}
assert sample([early], outputs=[[2]]).sampled_token_ids.tolist() == [1]        # 0 is banned
assert sample([early], outputs=[[2, 2, 2]]).sampled_token_ids.tolist() == [0]  # allowed again

# 2. Penalties rewrite the logits, so they change greedy decoding too. Token 0 appears in the
#    prompt: with repetition_penalty=2 its logit log(0.4) = -0.92 is multiplied by 2 (it is
#    negative), falling below log(0.3) = -1.20, so the argmax moves to token 1.
rep = SamplingParams(temperature=0, repetition_penalty=2.0)
assert sample([rep], prompts=[[0]]).sampled_token_ids.tolist() == [1]
assert sample([rep], prompts=[[3]]).sampled_token_ids.tolist() == [0]  # 0 unseen: unchanged

# 3. Truncation, one sort per row: top-k, then top-p on the renormalised survivors, then min-p.
#    top_k=4 renormalises to 0.421, 0.316, 0.158, 0.105; top_p=0.8 keeps three (the mass before
#    the third is 0.737 < 0.8); min_p=0.5 drops the third (0.158 < 0.5 x 0.421).
def kept(params):
    row = apply_truncation(LOGITS.clone(), metadata([params]))[0]
    return torch.isfinite(row).nonzero().flatten().tolist()

assert kept(SamplingParams(top_k=4)) == [0, 1, 2, 3]
assert kept(SamplingParams(top_k=4, top_p=0.8)) == [0, 1, 2]
assert kept(SamplingParams(top_k=4, top_p=0.8, min_p=0.5)) == [0, 1]
assert kept(SamplingParams(top_p=0.01)) == [0]  # the most likely token always survives

# 4. The exponential race: argmax(p / q) with q ~ Exp(1) picks token i with probability p_i.
#    Taking logs turns it into the Gumbel-max trick: -log q is Gumbel noise.
g = torch.Generator().manual_seed(1)
q = torch.empty(200_000, V).exponential_(generator=g)
race = (P / q).argmax(dim=-1)
assert torch.equal(race, (P.log() - q.log()).argmax(dim=-1))  # same winner, log domain
freq = torch.bincount(race, minlength=V) / race.numel()
assert torch.allclose(freq, P, atol=0.005), freq
#    The Sampler does exactly this on a batch: 200,000 rows of the same logits at T=1.
rows = sample([SamplingParams(temperature=1.0)] * 200_000, logits=LOGITS.expand(200_000, V))
freq = torch.bincount(rows.sampled_token_ids, minlength=V) / 200_000
assert torch.allclose(freq, P, atol=0.005), freq

# 5. A seeded row owns its generator, so its tokens do not depend on the rest of the batch.
seeded = SamplingParams(temperature=1.0, seed=42)

def seeded_tokens(batch_size, steps=8):
    gen = make_generator(42, 0, "cpu")  # sequence 0 of the request
    tokens = []
    for step in range(steps):
        params = [seeded] + [SamplingParams(temperature=1.0)] * (batch_size - 1)
        gens = [gen] + [None] * (batch_size - 1)
        out = sample(params, logits=LOGITS.expand(batch_size, V), seed=step, generators=gens)
        tokens.append(out.sampled_token_ids[0].item())
    return tokens

alone = seeded_tokens(1)
assert seeded_tokens(4) == seeded_tokens(16) == alone
assert len(set(alone)) > 1  # it really samples
#    The n sequences of one seeded request get different (but reproducible) generators.
assert make_generator(42, 0, "cpu").initial_seed() == 42
assert make_generator(42, 1, "cpu").initial_seed() != 42

# 6. One batch mixes greedy and random rows; logprobs are always the model's raw distribution,
#    before temperature, truncation or penalties (vLLM's default).
greedy, hot = SamplingParams(temperature=0, logprobs=2), SamplingParams(temperature=0.5, top_k=2)
out = sample([greedy, hot], logits=LOGITS.expand(2, V))
assert out.sampled_token_ids[0].item() == 0             # greedy row: argmax
assert out.sampled_token_ids[1].item() in (0, 1)        # top-k=2 row: one of the two best
raw = LOGITS.log_softmax(-1)[0]
for row, token in enumerate(out.sampled_token_ids.tolist()):
    assert torch.isclose(out.sampled_logprobs[row], raw[token])
    assert out.sampled_ranks[row].item() == token + 1   # tokens are sorted by probability here
assert out.topk_token_ids.tolist() == [[0, 1], [0, 1]]  # top-N: N = the largest logprobs asked
assert torch.allclose(out.topk_logprobs[0], P[:2].log())
#    Ranks compare each row with the whole vocabulary, so they are computed only when some row
#    asks for logprobs (above, the greedy row did); a batch that asks for none gets rank 0.
assert sample([hot]).sampled_ranks.tolist() == [0]
print("sampler demo: every stage checks out")
