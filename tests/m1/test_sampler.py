"""Each sampling step on controlled logits, and seeded reproducibility."""

from __future__ import annotations

import pytest
import torch

from folovllm import SamplingParams
from folovllm.model_executor.layers.sampler import (
    Sampler,
    SamplingMetadata,
    apply_penalties,
    apply_truncation,
    make_generator,
    token_counts,
)
from folovllm.sampling_params import SAMPLING_EPS

V = 6


def _md(params, prompts=None, outputs=None, generators=None) -> SamplingMetadata:
    """Metadata for rows with these prompt and output token lists (penalty tensors built from
    them with ``token_counts``, as a standalone caller does)."""
    n = len(params)
    prompts, outputs = prompts or [[0]] * n, outputs or [[]] * n
    return SamplingMetadata.build(params, [len(o) for o in outputs], generators or [None] * n, V,
                                  "cpu", prompt_mask=token_counts(prompts, V, "cpu") > 0,
                                  output_counts=token_counts(outputs, V, "cpu"))


def _kept(logits: torch.Tensor) -> list[list[int]]:
    return [torch.nonzero(torch.isfinite(row)).flatten().tolist() for row in logits]


def test_greedy_is_argmax() -> None:
    logits = torch.tensor([[0.1, 2.0, 0.3, 1.9, 0.0, -1.0]])
    out = Sampler()(logits, _md([SamplingParams(temperature=0)]))
    assert out.sampled_token_ids.tolist() == [1]
    assert out.sampled_ranks.tolist() == [0]  # ranks are computed only when logprobs are asked
    out = Sampler()(logits, _md([SamplingParams(temperature=0, logprobs=0)]))
    assert out.sampled_ranks.tolist() == [1]  # logprobs=0 still reports the sampled token's rank


def test_top_k_1_equals_greedy() -> None:
    torch.manual_seed(0)
    logits = torch.randn(8, V)
    params = [SamplingParams(temperature=1.0, top_k=1)] * 8
    out = Sampler(torch.Generator().manual_seed(0))(logits, _md(params))
    assert out.sampled_token_ids.tolist() == logits.argmax(-1).tolist()


def test_top_k_keeps_k() -> None:
    logits = torch.tensor([[5.0, 4.0, 3.0, 2.0, 1.0, 0.0]] * 2)
    md = _md([SamplingParams(top_k=2), SamplingParams(top_k=4)])
    assert _kept(apply_truncation(logits, md)) == [[0, 1], [0, 1, 2, 3]]


def test_top_p_keeps_the_token_that_crosses_the_threshold() -> None:
    probs = torch.tensor([[0.5, 0.3, 0.1, 0.05, 0.03, 0.02]])
    logits = probs.log()
    # 0.5 < 0.6 -> the second token (cumulative 0.8) crosses 0.6 and is kept
    assert _kept(apply_truncation(logits, _md([SamplingParams(top_p=0.6)]))) == [[0, 1]]
    # exactly reaching the threshold with the first two tokens: the third is dropped
    assert _kept(apply_truncation(logits, _md([SamplingParams(top_p=0.8)]))) == [[0, 1]]
    assert _kept(apply_truncation(logits, _md([SamplingParams(top_p=0.81)]))) == [[0, 1, 2]]
    # a tiny top_p still keeps the most likely token
    assert _kept(apply_truncation(logits, _md([SamplingParams(top_p=0.01)]))) == [[0]]


def test_min_p_is_relative_to_the_top_token() -> None:
    logits = torch.tensor([[0.5, 0.3, 0.1, 0.05, 0.03, 0.02]]).log()
    # threshold 0.25 * 0.5 = 0.125: keeps 0.5 and 0.3
    assert _kept(apply_truncation(logits, _md([SamplingParams(min_p=0.25)]))) == [[0, 1]]
    assert _kept(apply_truncation(logits, _md([SamplingParams(min_p=0.1)]))) == [[0, 1, 2]]


def test_top_p_applies_after_top_k_renormalisation() -> None:
    # after top_k=2 the kept probabilities are 0.625 / 0.375; top_p=0.6 keeps only the first
    logits = torch.tensor([[0.5, 0.3, 0.2, 0.0001, 0.0001, 0.0001]]).log()
    assert _kept(apply_truncation(logits, _md([SamplingParams(top_k=2, top_p=0.6)]))) == [[0]]


def test_penalties_match_a_hand_computation() -> None:
    logits = torch.tensor([[2.0, -1.0, 0.5, 1.0, 0.0, -2.0]])
    params = SamplingParams(repetition_penalty=2.0, frequency_penalty=0.5, presence_penalty=0.25)
    md = _md([params], prompts=[[0, 1]], outputs=[[3, 3, 1]])
    got = apply_penalties(logits, md)[0].tolist()
    # token 0: prompt only -> 2.0 / 2 = 1.0
    # token 1: prompt + once in output -> -1.0 * 2 - 0.5 * 1 - 0.25 = -2.75
    # token 3: twice in output -> 1.0 / 2 - 0.5 * 2 - 0.25 = -0.75
    # tokens 2, 4, 5 unseen: unchanged
    assert got == pytest.approx([1.0, -2.75, 0.5, -0.75, 0.0, -2.0])


@pytest.mark.parametrize("penalty", [1e-40, 1e-300, 1e40])
@pytest.mark.parametrize("temperature", [0.0, SAMPLING_EPS, 1.0])
def test_an_extreme_repetition_penalty_stays_finite(penalty, temperature) -> None:
    """A penalty whose quotient or product leaves float32 must not make a row NaN (the draw
    would then return token 0): a tiny one makes the seen tokens with positive logits the
    only candidates, a huge one puts the seen tokens with negative logits last."""
    logits = torch.tensor([[2.0, -1.0, 0.5, 1.0, -3.0, -2.0]])
    params = SamplingParams(temperature=temperature, repetition_penalty=penalty, seed=3)
    md = _md([params], prompts=[[1, 2, 4]], generators=[make_generator(3, 0, "cpu")])
    assert torch.isfinite(apply_penalties(logits, md)).all()
    token = Sampler()(logits, md).sampled_token_ids.item()
    if penalty < 1:
        assert token == 2                  # the one seen token with a positive logit
    else:
        assert token not in (1, 4)         # seen with negative logits: pushed to the end


def test_no_penalty_tensors_when_no_row_uses_them() -> None:
    md = _md([SamplingParams(), SamplingParams(temperature=0)])
    assert md.prompt_mask is None and md.output_counts is None


def test_a_penalty_without_its_count_tensors_is_refused() -> None:
    """A penalised row needs the counts; silently skipping the penalty would be a wrong answer."""
    with pytest.raises(ValueError, match="pass prompt_mask and output_counts"):
        SamplingMetadata.build([SamplingParams(presence_penalty=0.5)], [0], [None], V, "cpu")


def test_token_counts_count_per_row_and_ignore_the_padding() -> None:
    counts = token_counts([[3, 3, 1], [], [5]], V, "cpu")
    assert counts.tolist() == [[0, 1, 0, 2, 0, 0], [0] * V, [0, 0, 0, 0, 0, 1]]
    assert token_counts([], V, "cpu").shape == (0, V)


def test_min_tokens_suppresses_stop_tokens() -> None:
    params = SamplingParams(temperature=0, min_tokens=2)
    params.all_stop_token_ids = {1}
    logits = torch.tensor([[0.0, 9.0, 1.0, 0.0, 0.0, 0.0]])
    assert Sampler()(logits, _md([params], outputs=[[4]])).sampled_token_ids.tolist() == [2]
    assert Sampler()(logits, _md([params], outputs=[[4, 4]])).sampled_token_ids.tolist() == [1]


def test_sampling_follows_the_distribution() -> None:
    probs = torch.tensor([0.6, 0.3, 0.1, 0.0, 0.0, 0.0])
    logits = probs.log().expand(20000, V).contiguous()
    out = Sampler(torch.Generator().manual_seed(0))(logits, _md([SamplingParams()] * 20000))
    freq = torch.bincount(out.sampled_token_ids, minlength=V).float() / 20000
    assert freq.tolist() == pytest.approx(probs.tolist(), abs=0.015)


def test_seeded_rows_do_not_depend_on_the_batch() -> None:
    torch.manual_seed(1)
    logits = torch.randn(4, V)
    p = SamplingParams(temperature=1.0, seed=42)

    def draws(rows: list[int]) -> list[int]:
        gens = [make_generator(42, 0, "cpu") if r == 2 else None for r in rows]
        params = [p if r == 2 else SamplingParams() for r in rows]
        tokens = []
        for _ in range(10):
            shared = torch.Generator().manual_seed(len(tokens))
            out = Sampler(shared)(logits[rows], _md(params, generators=gens))
            tokens.append(out.sampled_token_ids[rows.index(2)].item())
        return tokens

    assert draws([2]) == draws([0, 1, 2, 3]) == draws([3, 2])


def test_logprobs_are_raw_model_logprobs_with_ranks() -> None:
    logits = torch.tensor([[1.0, 3.0, 2.0, 0.0, 0.0, 0.0]])
    out = Sampler()(logits, _md([SamplingParams(temperature=0, logprobs=2)]))
    expected = torch.log_softmax(logits, -1)[0]
    assert out.topk_token_ids.tolist() == [[1, 2]]
    assert out.topk_logprobs[0].tolist() == pytest.approx(expected[[1, 2]].tolist())
    assert out.sampled_logprobs.item() == pytest.approx(expected[1].item())


def test_top_p_one_keeps_every_token_even_beside_truncated_rows() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 49152) * 3
    md = SamplingMetadata.build([SamplingParams(top_p=1.0), SamplingParams(top_p=0.5)],
                                [0, 0], [None, None], 49152, "cpu")
    kept = torch.isfinite(apply_truncation(logits, md))
    assert kept[0].all() and not kept[1].all()


def test_generators_differ_per_index_and_seed() -> None:
    draws = {(s, i): torch.rand(4, generator=make_generator(s, i, "cpu")).tolist()
             for s in (-2, -1, 0, 1) for i in range(3)}
    assert len({tuple(v) for v in draws.values()}) == len(draws)
