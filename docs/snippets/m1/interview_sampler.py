"""M1 interview answers on the sampler, run on hand-made logits (no model needed).

Run from the repository root: ``python docs/snippets/m1/interview_sampler.py``.
"""

import hashlib

import torch

from folovllm import SamplingParams
from folovllm.model_executor.layers.sampler import (
    Sampler,
    SamplingMetadata,
    apply_penalties,
    apply_truncation,
    make_generator,
)


def metadata(params, prompts=None, outputs=None, generators=None, vocab=None):
    """The per-row tensors the engine builds each step (here on the CPU, by hand)."""
    n = len(params)
    return SamplingMetadata.build(
        params, prompts or [[0]] * n, outputs or [[]] * n, generators or [None] * n,
        vocab_size=vocab, device="cpu")


# --8<-- [start:order]
# Two candidate tokens; token 0 is ahead but was already generated three times.
logits = torch.tensor([[2.0, 1.5, -1.0, -1.0]])
seen = [[0, 0, 0]]
greedy = SamplingParams(temperature=0, frequency_penalty=0.5)
out = Sampler()(logits, metadata([greedy], outputs=seen, vocab=4))
assert out.sampled_token_ids.tolist() == [1]      # penalties reach greedy rows: 2.0 - 1.5 < 1.5

# Penalties act on the logits *before* temperature. Had they been applied after it, a small
# temperature would blow up the gap between the logits (x 100 at T = 0.01) and make any
# penalty irrelevant: low-temperature sampling would stop agreeing with greedy decoding.
z, penalty, t = logits[0, :2], torch.tensor([1.5, 0.0]), 0.01
assert ((z - penalty) / t).argmax() == 1           # penalty first: the penalty matters
assert (z / t - penalty).argmax() == 0             # penalty last: 200 - 1.5 > 150

# With the real order, a T = 0.01 random row is (almost surely) the greedy row.
cold = SamplingParams(temperature=0.01, frequency_penalty=0.5, seed=0)
rows = 200
md = metadata([cold] * rows, outputs=seen * rows, vocab=4,
              generators=[make_generator(0, i, "cpu") for i in range(rows)])
assert (Sampler()(logits.expand(rows, 4), md).sampled_token_ids == 1).all()
# --8<-- [end:order]

# --8<-- [start:penalties]
logits = torch.tensor([[3.0, -2.0, 1.0, 0.5, 0.0]])
prompt, output = [[0, 1]], [[2, 2, 2, 3]]            # token 4 never appeared

rep = apply_penalties(logits, metadata([SamplingParams(repetition_penalty=2.0)],
                                       prompt, output, vocab=5))
# Multiplicative, on prompt AND output tokens, with a sign rule: a positive logit is divided,
# a negative one multiplied, so both move down. Dividing -2.0 by 2 would have *raised* it.
assert rep[0].tolist() == [1.5, -4.0, 0.5, 0.25, 0.0]

freq = apply_penalties(logits, metadata([SamplingParams(frequency_penalty=0.5)],
                                        prompt, output, vocab=5))
# Additive, output tokens only, once per occurrence: token 2 (3 times) loses 1.5, token 3 0.5.
assert freq[0].tolist() == [3.0, -2.0, -0.5, 0.0, 0.0]

pres = apply_penalties(logits, metadata([SamplingParams(presence_penalty=0.5)],
                                        prompt, output, vocab=5))
# Additive, output tokens only, flat: any repeat count costs the same 0.5.
assert pres[0].tolist() == [3.0, -2.0, 0.5, 0.0, 0.0]

# The bookkeeping behind it: a [B, V] prompt mask and [B, V] output counts (one scatter_add
# each), built only when some row in the batch uses a penalty.
md = metadata([SamplingParams(frequency_penalty=0.5)], prompt, output, vocab=5)
assert md.prompt_mask[0].tolist() == [True, True, False, False, False]
assert md.output_counts[0].tolist() == [0, 0, 3, 1, 0]
assert metadata([SamplingParams()], prompt, output, vocab=5).output_counts is None
# --8<-- [end:penalties]


# --8<-- [start:truncation]
def three_passes(logits: torch.Tensor, p: SamplingParams) -> set[int]:
    """Reference: top-k, renormalise, top-p, renormalise, min-p, each as a separate pass."""
    probs = logits.softmax(-1)
    keep = torch.ones_like(probs, dtype=torch.bool)
    if p.top_k:
        keep &= probs >= probs.topk(p.top_k).values[-1]
    probs = torch.where(keep, probs, 0.0) / torch.where(keep, probs, 0.0).sum()
    order = probs.argsort(descending=True)
    mass_before = probs[order].cumsum(0) - probs[order]
    keep[order[mass_before >= p.top_p]] = False
    keep[order[0]] = True
    probs = torch.where(keep, probs, 0.0) / torch.where(keep, probs, 0.0).sum()
    keep &= probs >= p.min_p * probs.max()
    return set(keep.nonzero().flatten().tolist())


torch.manual_seed(0)
rows = [SamplingParams(top_k=8), SamplingParams(top_p=0.7), SamplingParams(min_p=0.2),
        SamplingParams(top_k=10, top_p=0.8, min_p=0.05), SamplingParams(top_k=3, top_p=0.3)]
logits = torch.randn(len(rows), 32) * 2
# One call, one sort per row, five different parameter sets in the same batch.
kept = apply_truncation(logits, metadata(rows, vocab=32))
for row, p in enumerate(rows):
    got = set(torch.isfinite(kept[row]).nonzero().flatten().tolist())
    assert got == three_passes(logits[row], p), p
    assert torch.equal(kept[row][list(got)], logits[row][list(got)])  # survivors untouched

# A disabled top-k is stored as "keep the whole vocabulary", so every row shares one code path.
assert metadata([SamplingParams()], vocab=32).top_k.tolist() == [32]

# A row with top_p = 1 keeps every token, even when other rows make the batch truncate. Over a
# real vocabulary the float32 prefix sum drifts past 1.0, so the bare test mass_before >= top_p
# would drop thousands of tail tokens from it: rows with top_p = 1 skip the test.
torch.manual_seed(0)
wide = torch.randn(2, 49152) * 3
probs = wide.sort(dim=-1, descending=True).values.softmax(-1)
assert ((probs.cumsum(-1) - probs)[0] >= 1.0).sum() > 1000
mixed = apply_truncation(wide, metadata([SamplingParams(), SamplingParams(top_p=0.5)], vocab=49152))
assert torch.isfinite(mixed[0]).all() and not torch.isfinite(mixed[1]).all()
# --8<-- [end:truncation]

# --8<-- [start:min_p_order]
probs = torch.tensor([0.4, 0.3, 0.2, 0.1])
both = SamplingParams(top_p=0.75, min_p=0.3)
# FoloVLLM: top-p and min-p read the same distribution; a token goes if either drops it.
folo = apply_truncation(probs.log().unsqueeze(0), metadata([both], vocab=4))
assert torch.isfinite(folo).sum() == 3             # min-p drops 0.1; top-p keeps 0.4+0.3+0.2
# vLLM v1's order: min-p first, renormalise, then top-p on what is left.
after_min_p = torch.where(probs >= 0.3 * probs.max(), probs, 0.0)
after_min_p = after_min_p / after_min_p.sum()      # [0.444, 0.333, 0.222, 0]
mass_before = after_min_p.cumsum(0) - after_min_p
assert (mass_before < 0.75).logical_and(after_min_p > 0).sum() == 2   # top-p now stops sooner
# --8<-- [end:min_p_order]

# --8<-- [start:race]
probs = torch.tensor([0.5, 0.3, 0.15, 0.05, 0.0])
g = torch.Generator().manual_seed(0)
q = torch.empty(1000, 5).exponential_(generator=g)          # q_i ~ Exp(1), one row per draw
race = (probs / q).argmax(dim=-1)
# Same draw, Gumbel-max form: -log(q) is Gumbel noise, and log is monotonic.
gumbel = (probs.log() - q.log()).argmax(dim=-1)
assert torch.equal(race, gumbel)
assert (race != 4).all()                                    # p = 0 is never chosen

# The Sampler draws this way for every random row at once; the frequencies match p.
n = 20_000
md = metadata([SamplingParams(temperature=1.0)] * n, vocab=5)
sampled = Sampler(torch.Generator().manual_seed(1))(probs.log().expand(n, 5), md).sampled_token_ids
freq = torch.bincount(sampled, minlength=5) / n
assert torch.allclose(freq, probs, atol=0.015), freq
# --8<-- [end:race]

# --8<-- [start:seeds]
torch.manual_seed(2)
logits = torch.randn(4, 50)
seeded = SamplingParams(temperature=1.0, seed=42)
plain = SamplingParams(temperature=1.0)


def run(layout: list[str], steps: int = 20) -> dict[str, list[int]]:
    """Sample ``steps`` times from a batch laid out as ``layout`` (names of rows)."""
    gens = {"s": make_generator(42, 0, "cpu")}              # the seeded request's own generator
    shared = torch.Generator().manual_seed(0)               # the engine's shared generator
    params = [seeded if name == "s" else plain for name in layout]
    md = metadata(params, generators=[gens.get(name) for name in layout], vocab=50)
    index = {"s": 0, "a": 1, "b": 2, "c": 3}
    tokens: dict[str, list[int]] = {name: [] for name in layout}
    for _ in range(steps):
        out = Sampler(shared)(logits[[index[name] for name in layout]], md).sampled_token_ids
        for name, tok in zip(layout, out.tolist()):
            tokens[name].append(tok)
    return tokens


alone, crowded, moved = run(["s"]), run(["a", "s", "b"]), run(["c", "b", "a", "s"])
assert alone["s"] == crowded["s"] == moved["s"]     # seeded: the batch does not matter
assert crowded["a"] != moved["a"]                   # unseeded: row position changes its noise

# n > 1 with one seed: sequence i gets a generator derived from (seed, i), so the copies are
# reproducible but not identical.
g0, g1 = make_generator(42, 0, "cpu"), make_generator(42, 1, "cpu")
assert not torch.equal(torch.rand(8, generator=g0), torch.rand(8, generator=g1))
assert torch.equal(torch.rand(8, generator=make_generator(42, 1, "cpu")),
                   torch.rand(8, generator=make_generator(42, 1, "cpu")))
# The derivation is a written-down function, SHA-256 of "seed:index", so it is the same on every
# platform and Python version. Python's hash() would not do: it maps -1 and -2 alike.
digest = hashlib.sha256(b"42:1").digest()
assert make_generator(42, 1, "cpu").initial_seed() == int.from_bytes(digest[:8], "little") >> 1
assert hash((-1, 1)) == hash((-2, 1))
assert make_generator(-1, 1, "cpu").initial_seed() != make_generator(-2, 1, "cpu").initial_seed()
# --8<-- [end:seeds]

# --8<-- [start:logprobs]
logits = torch.tensor([[2.0, 1.8, 0.0, -1.0, -3.0]])
rows = 400
params = SamplingParams(temperature=0.5, top_k=2, logprobs=3)
out = Sampler(torch.Generator().manual_seed(3))(logits.expand(rows, 5),
                                                  metadata([params] * rows, vocab=5))
raw = logits.log_softmax(-1)[0]

# Reported logprobs are the model's raw distribution: no temperature, no truncation.
assert torch.allclose(out.sampled_logprobs, raw[out.sampled_token_ids])
assert out.topk_token_ids[0].tolist() == [0, 1, 2]     # token 2 is outside top-k, still listed
assert torch.allclose(out.topk_logprobs[0], raw[[0, 1, 2]])

# Rank: 1 + the number of tokens the model preferred. Sampling picks rank 2 sometimes.
assert set(out.sampled_ranks.tolist()) == {1, 2}
assert (out.sampled_ranks == 1 + (out.sampled_token_ids == 1).long()).all()
# A rank compares the sampled logprob with the whole vocabulary, so it is computed only when
# some row of the batch asks for logprobs; otherwise it is reported as 0.
quiet = Sampler()(logits, metadata([SamplingParams(temperature=0)], vocab=5))
assert quiet.sampled_ranks.tolist() == [0] and quiet.topk_token_ids.shape == (1, 0)

# The "processed" distribution the token was actually drawn from is different: T = 0.5 and
# top-k 2 leave two tokens whose probabilities add up to 1.
processed = (logits / 0.5).masked_fill(torch.tensor([[False, False, True, True, True]]),
                                       float("-inf")).log_softmax(-1)[0]
assert processed[:2].exp().sum().item() > 0.999 and not torch.allclose(processed[:2], raw[:2])
# --8<-- [end:logprobs]

# --8<-- [start:min_tokens]
EOS, STOP_ID = 3, 4
params = SamplingParams(temperature=0, min_tokens=2, stop_token_ids=[STOP_ID])
params.all_stop_token_ids = {EOS, STOP_ID}      # the engine merges EOS in at add_request
logits = torch.tensor([[0.0, 1.0, 0.5, 9.0, 8.0]])  # the model wants to end right now

first = Sampler()(logits, metadata([params], outputs=[[]], vocab=5))
second = Sampler()(logits, metadata([params], outputs=[[1]], vocab=5))
third = Sampler()(logits, metadata([params], outputs=[[1, 1]], vocab=5))
assert first.sampled_token_ids.tolist() == second.sampled_token_ids.tolist() == [1]
assert third.sampled_token_ids.tolist() == [EOS]     # 2 tokens exist: EOS is allowed again
# The suppression is a sparse list of (row, column) pairs set to -inf, not a [B, V] mask.
md = metadata([params], outputs=[[1]], vocab=5)
assert md.suppress_rows.tolist() == [0, 0] and md.suppress_cols.tolist() == [EOS, STOP_ID]
# --8<-- [end:min_tokens]

# --8<-- [start:tie]
# Exact ties: argmax returns the first maximal index, so the lower token id wins. Any engine
# that breaks ties another way (or sees the two logits differ in the last bit) may diverge.
tie = torch.tensor([[1.0, 3.0, 3.0, 0.0]])
assert Sampler()(tie, metadata([SamplingParams(temperature=0)], vocab=4)).sampled_token_ids.tolist() == [1]
# --8<-- [end:tie]
