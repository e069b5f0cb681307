"""The sampler: from one row of logits per sequence to one token per sequence.

Every row carries its own parameters, so one batch can mix greedy, random and seeded requests
with different temperatures and truncations. The pipeline, applied to the whole batch with tensor
ops (no Python loop over the vocabulary, none over rows except to draw from per-request
generators):

1. min_tokens: EOS and stop tokens get ``-inf`` while a sequence is shorter than ``min_tokens``;
2. penalties: repetition (prompt and output tokens), then frequency and presence (output tokens);
3. greedy rows: ``argmax`` of the penalised logits;
4. random rows: divide by temperature, keep the top-k, keep the top-p nucleus, drop tokens below
   ``min_p`` x the top probability, then sample;
5. log-probabilities are those of the model's raw distribution (``log_softmax`` of the logits
   before any of the above, vLLM's default), for the sampled token and the top-N; ranks and
   the top-N only when a row asks for logprobs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from folovllm.sampling_params import SAMPLING_EPS, SamplingParams, SamplingType
from folovllm.utils import to_device

_NEG_INF = float("-inf")
# the largest penalised logit: still finite after the smallest temperature divides it
_PENALISED_MAX = torch.finfo(torch.float32).max * SAMPLING_EPS


def make_generator(seed: int, index: int, device: torch.device | str) -> torch.Generator:
    """The private generator of sequence ``index`` of a seeded request.

    Each sequence owns its generator, so what it draws never depends on which other sequences
    share the batch: a seeded request gives the same tokens alone or among others.
    """
    g = torch.Generator(device=device)
    if index:  # a well-mixed, platform-independent seed per (seed, index) pair
        digest = hashlib.sha256(f"{seed}:{index}".encode()).digest()
        g.manual_seed(int.from_bytes(digest[:8], "little") >> 1)
    else:
        g.manual_seed(seed)
    return g


@dataclass
class SamplingMetadata:
    """Per-row sampling parameters of one step, as tensors on the logits' device."""

    temperature: torch.Tensor        # [B] float; 0 for greedy rows
    top_k: torch.Tensor              # [B] long; vocab size where disabled
    top_p: torch.Tensor              # [B] float
    min_p: torch.Tensor              # [B] float
    repetition_penalty: torch.Tensor  # [B] float
    frequency_penalty: torch.Tensor   # [B] float
    presence_penalty: torch.Tensor    # [B] float
    prompt_mask: torch.Tensor | None    # [B, V] bool: token appears in the prompt
    output_counts: torch.Tensor | None  # [B, V] int: times each token was generated
    suppress_rows: torch.Tensor | None  # [K] rows / [K] cols set to -inf (min_tokens)
    suppress_cols: torch.Tensor | None
    generators: list[torch.Generator | None]  # per row; None draws from the shared generator
    all_greedy: bool
    all_random: bool
    need_truncation: bool   # any row uses top-k, top-p or min-p
    max_num_logprobs: int   # top-N width of the batch (0: only the sampled token's logprob)
    need_ranks: bool        # some row asked for logprobs (even logprobs=0 reports a rank)

    @classmethod
    def build(
        cls,
        params: list[SamplingParams],
        output_lens: list[int],
        generators: list[torch.Generator | None],
        vocab_size: int,
        device: torch.device | str,
        prompt_mask: torch.Tensor | None = None,
        output_counts: torch.Tensor | None = None,
    ) -> SamplingMetadata:
        """Gather the rows' parameters into tensors.

        ``output_lens`` (tokens generated so far) decide where ``min_tokens`` still holds. The
        penalties read ``prompt_mask`` and ``output_counts`` ``[B, V]``: the model runner keeps
        them on the device and updates them as tokens are sampled (``token_counts`` builds them
        from token lists, for a standalone call). The per-row numbers are packed on the host and
        cross to the device in one pinned, non-blocking copy: a ``torch.tensor(list,
        device="cuda")`` per field would be a synchronous copy each, stalling the host until the
        GPU has drained its queue.
        """
        greedy = [p.sampling_type == SamplingType.GREEDY for p in params]
        need_penalties = any(
            p.repetition_penalty != 1.0 or p.frequency_penalty or p.presence_penalty for p in params
        )
        if need_penalties and (prompt_mask is None or output_counts is None):
            raise ValueError("a row asks for a penalty: pass prompt_mask and output_counts "
                             "(see token_counts)")
        rows, cols = [], []
        for i, (p, n) in enumerate(zip(params, output_lens)):
            if n < p.min_tokens:
                stops = p.all_stop_token_ids
                rows += [i] * len(stops)
                cols += sorted(stops)
        floats = to_device(torch.tensor([
            [0.0 if g else p.temperature for p, g in zip(params, greedy)],
            [p.top_p for p in params], [p.min_p for p in params],
            [p.repetition_penalty for p in params], [p.frequency_penalty for p in params],
            [p.presence_penalty for p in params]], dtype=torch.float32), device)
        top_k = [p.top_k or vocab_size for p in params]
        longs = to_device(torch.tensor(top_k + rows + cols, dtype=torch.long), device)
        n, k = len(params), len(rows)
        return cls(
            temperature=floats[0], top_p=floats[1], min_p=floats[2],
            repetition_penalty=floats[3], frequency_penalty=floats[4], presence_penalty=floats[5],
            top_k=longs[:n],
            prompt_mask=prompt_mask if need_penalties else None,
            output_counts=output_counts if need_penalties else None,
            suppress_rows=longs[n:n + k] if rows else None,
            suppress_cols=longs[n + k:] if rows else None,
            generators=generators,
            all_greedy=all(greedy),
            all_random=not any(greedy),
            need_truncation=any(p.top_k or p.top_p < 1.0 or p.min_p > 0 for p in params),
            max_num_logprobs=max((p.logprobs or 0 for p in params), default=0),
            need_ranks=any(p.logprobs is not None for p in params),
        )


def token_counts(seqs: Sequence[Sequence[int]], vocab_size: int,
                 device: torch.device | str) -> torch.Tensor:
    """[B, V] counts of each token id per row, built with one scatter_add (for the penalties:
    ``token_counts(prompts) > 0`` is a prompt mask, ``token_counts(outputs)`` output counts)."""
    width = max((len(s) for s in seqs), default=0)
    counts = torch.zeros(len(seqs), vocab_size + 1, dtype=torch.long, device=device)
    if width:
        # pad with an extra "vocab_size" bucket that is dropped afterwards
        padded = to_device(torch.tensor([[*s, *[vocab_size] * (width - len(s))] for s in seqs]),
                           device)
        counts.scatter_add_(1, padded, torch.ones_like(padded))
    return counts[:, :vocab_size]


@dataclass
class SamplerOutput:
    """The step's result for every row, still on the device (the runner moves it once)."""

    sampled_token_ids: torch.Tensor  # [B] long
    sampled_logprobs: torch.Tensor   # [B] float
    sampled_ranks: torch.Tensor      # [B] long, 1 = the most likely token (0: not computed)
    topk_token_ids: torch.Tensor     # [B, N] long (N = max logprobs asked in the batch)
    topk_logprobs: torch.Tensor      # [B, N] float


def apply_penalties(logits: torch.Tensor, md: SamplingMetadata) -> torch.Tensor:
    """Repetition penalty (CTRL paper) on seen tokens; OpenAI frequency/presence on outputs."""
    if md.prompt_mask is None or md.output_counts is None:
        return logits
    rep = md.repetition_penalty.unsqueeze(1)
    seen = md.prompt_mask | (md.output_counts > 0)
    # a penalty near 0 (or huge) would overflow to inf, and one inf makes the row's softmax NaN:
    # clamped, the seen tokens are still as far ahead (or behind) as a float can put them
    penalised = torch.where(logits > 0, logits / rep, logits * rep).clamp(-_PENALISED_MAX,
                                                                          _PENALISED_MAX)
    logits = torch.where(seen, penalised, logits)
    logits = logits - md.frequency_penalty.unsqueeze(1) * md.output_counts
    return logits - md.presence_penalty.unsqueeze(1) * (md.output_counts > 0)


# --8<-- [start:truncation]
def apply_truncation(logits: torch.Tensor, md: SamplingMetadata) -> torch.Tensor:
    """Top-k, then top-p, then min-p, all in one sort of each row.

    Top-p keeps the smallest prefix of the sorted distribution whose mass reaches ``top_p``: a
    token is dropped only when the mass *before* it already reaches ``top_p``, so the token that
    crosses the threshold stays. Min-p drops tokens whose probability is below ``min_p`` times the
    top token's.
    """
    sorted_logits, order = logits.sort(dim=-1, descending=True)
    ranks = torch.arange(logits.shape[-1], device=logits.device).unsqueeze(0)
    drop = ranks >= md.top_k.unsqueeze(1)
    sorted_logits = sorted_logits.masked_fill(drop, _NEG_INF)
    probs = sorted_logits.softmax(dim=-1)
    mass_before = probs.cumsum(dim=-1) - probs
    # rows with top_p=1 keep everything: float32 cumsums can exceed 1 and would drop tail tokens
    drop = (mass_before >= md.top_p.unsqueeze(1)) & (md.top_p.unsqueeze(1) < 1.0)
    drop |= probs < md.min_p.unsqueeze(1) * probs[:, :1]
    drop[:, 0] = False  # the most likely token always survives
    sorted_logits = sorted_logits.masked_fill(drop, _NEG_INF)
    return torch.empty_like(logits).scatter_(1, order, sorted_logits)
# --8<-- [end:truncation]


# --8<-- [start:draw]
def _draw(probs: torch.Tensor, generators: list[torch.Generator | None],
          shared: torch.Generator | None) -> torch.Tensor:
    """Sample one token per row by the exponential race: argmax(p / q), q ~ Exp(1).

    The token whose ``p_i / q_i`` is largest is distributed exactly as ``p`` (the exponential
    form of the Gumbel-max trick), and the noise is an ordinary tensor: rows with their own
    generator draw their noise from it, the others share one draw, all in one batched argmax.
    """
    q = torch.empty_like(probs).exponential_(generator=shared)
    for i, g in enumerate(generators):
        if g is not None:
            q[i].exponential_(generator=g)
    return probs.div(q).argmax(dim=-1)
# --8<-- [end:draw]


# --8<-- [start:sampler_call]
class Sampler:
    """Turns ``[B, V]`` logits into one token per row, following each row's parameters."""

    def __init__(self, generator: torch.Generator | None = None) -> None:
        self.generator = generator  # the shared generator of unseeded random rows

    def __call__(self, logits: torch.Tensor, md: SamplingMetadata) -> SamplerOutput:
        logits = logits.float()
        # one fused kernel (two reads, one write of [B, V]); a logsumexp for the sampled
        # tokens alone would read the logits four times
        raw_logprobs = logits.log_softmax(dim=-1)
        if md.suppress_rows is not None:
            logits = logits.index_put((md.suppress_rows, md.suppress_cols),
                                      torch.full((), _NEG_INF, device=logits.device))
        logits = apply_penalties(logits, md)
        if md.all_greedy:
            sampled = logits.argmax(dim=-1)
        else:
            temp = torch.where(md.temperature > 0, md.temperature, torch.ones_like(md.temperature))
            scaled = logits / temp.unsqueeze(1)
            if md.need_truncation:
                scaled = apply_truncation(scaled, md)
            random_ids = _draw(scaled.softmax(dim=-1), md.generators, self.generator)
            sampled = random_ids if md.all_random else torch.where(
                md.temperature > 0, random_ids, logits.argmax(dim=-1))
        sampled_lp = raw_logprobs.gather(1, sampled.unsqueeze(1)).squeeze(1)
        if not md.need_ranks:   # no row asked for logprobs: no rank, no top-N
            empty = sampled.new_empty((sampled.shape[0], 0))
            return SamplerOutput(sampled, sampled_lp, torch.zeros_like(sampled), empty,
                                 sampled_lp.new_empty((sampled.shape[0], 0)))
        top_lp, top_ids = raw_logprobs.topk(md.max_num_logprobs, dim=-1)
        ranks = (raw_logprobs > sampled_lp.unsqueeze(1)).sum(dim=-1) + 1  # a full-vocab compare
        return SamplerOutput(sampled, sampled_lp, ranks, top_ids, top_lp)
# --8<-- [end:sampler_call]
