"""Every SamplingParams rule, with good and bad values."""

from __future__ import annotations

import pytest

from folovllm import SamplingParams
from folovllm.sampling_params import MIN_TEMPERATURE, SamplingType


def test_defaults_match_vllm() -> None:
    p = SamplingParams()
    assert (p.n, p.best_of, p.temperature, p.top_p, p.top_k, p.min_p) == (1, 1, 1.0, 1.0, 0, 0.0)
    assert (p.presence_penalty, p.frequency_penalty, p.repetition_penalty) == (0.0, 0.0, 1.0)
    assert p.max_tokens == 16 and p.min_tokens == 0 and p.stop == [] and p.stop_token_ids == []
    assert p.skip_special_tokens and not p.include_stop_str_in_output and not p.ignore_eos
    assert p.sampling_type == SamplingType.RANDOM


@pytest.mark.parametrize("kw", [
    dict(n=1), dict(n=3, best_of=5), dict(temperature=0), dict(temperature=2.5),
    dict(top_p=0.01), dict(top_p=1), dict(top_k=1), dict(top_k=50), dict(min_p=0), dict(min_p=1),
    dict(presence_penalty=-2), dict(presence_penalty=2), dict(frequency_penalty=1.5),
    dict(repetition_penalty=0.5), dict(repetition_penalty=1.3), dict(seed=0), dict(seed=-7),
    dict(stop="###"), dict(stop=["a", "bc"]), dict(stop_token_ids=[0, 5]), dict(ignore_eos=True),
    dict(max_tokens=1), dict(max_tokens=None), dict(min_tokens=16), dict(logprobs=0),
    dict(logprobs=20), dict(logprobs=10**6), dict(prompt_logprobs=5), dict(skip_special_tokens=False),
    dict(include_stop_str_in_output=True),
])
def test_good_values(kw) -> None:
    SamplingParams(**kw)


@pytest.mark.parametrize("kw,match", [
    (dict(n=0), r"n=0 is invalid: must be in \[1, inf\]"),
    (dict(n=1.5), "n=1.5 is invalid: must be an integer"),
    (dict(n=3, best_of=2), r"best_of=2 is invalid: must be in \[3, inf\]"),
    (dict(temperature=-0.1), "temperature=-0.1"),
    (dict(temperature="hot"), "temperature='hot' is invalid: must be a finite number"),
    (dict(top_p=0), r"top_p=0 is invalid: must be in \(0.0, 1.0\]"),
    (dict(top_p=1.01), "top_p=1.01"),
    (dict(top_k=-2), r"top_k=-2 is invalid: must be in \[-1, inf\]"),
    (dict(min_p=-0.1), "min_p=-0.1"), (dict(min_p=1.1), "min_p=1.1"),
    (dict(presence_penalty=2.1), r"presence_penalty=2.1 is invalid: must be in \[-2.0, 2.0\]"),
    (dict(frequency_penalty=-3), "frequency_penalty=-3"),
    (dict(repetition_penalty=0), r"repetition_penalty=0 is invalid: must be in \(0.0, inf\]"),
    (dict(seed=1.0), "seed=1.0"),
    (dict(stop=""), "stop strings must not be empty"), (dict(stop=["ok", ""]), "must not be empty"),
    (dict(stop=[1]), "must be a string or a list of strings"),
    (dict(stop_token_ids=[-1]), r"stop_token_ids\[...\]=-1"),
    (dict(stop_token_ids=5), "must be a list of integers"),
    (dict(ignore_eos=1), "ignore_eos=1"),
    (dict(max_tokens=0), r"max_tokens=0 is invalid: must be in \[1, inf\]"),
    (dict(min_tokens=-1), "min_tokens=-1"),
    (dict(max_tokens=4, min_tokens=5), r"min_tokens=5 is invalid: must be in \[0, 4\]"),
    (dict(logprobs=-1), "logprobs=-1"), (dict(prompt_logprobs=-3), "prompt_logprobs=-3"),
    (dict(skip_special_tokens="no"), "skip_special_tokens="),
    (dict(temperature=0, n=2), "best_of=2 \\(n=2\\) is invalid with temperature=0"),
    (dict(temperature=0, best_of=3), "greedy sampling gives identical sequences"),
])
def test_bad_values(kw, match) -> None:
    with pytest.raises(ValueError, match=match):
        SamplingParams(**kw)


def test_normalisations() -> None:
    assert SamplingParams(top_k=-1).top_k == 0                  # -1 and 0 both mean "off"
    assert SamplingParams(stop="x").stop == ["x"]               # one string -> a list
    assert SamplingParams(stop=("a", "b")).stop == ["a", "b"]
    assert SamplingParams(temperature=1e-3).temperature == MIN_TEMPERATURE  # tiny -> clamped
    assert SamplingParams(n=2).best_of == 2                     # best_of defaults to n


def test_greedy_resets_truncation_knobs() -> None:
    p = SamplingParams(temperature=0, top_p=0.5, top_k=3, min_p=0.2)
    assert (p.top_p, p.top_k, p.min_p) == (1.0, 0, 0.0)
    assert p.sampling_type == SamplingType.GREEDY
    assert SamplingParams(temperature=1e-6).sampling_type == SamplingType.GREEDY


def test_sampling_type() -> None:
    assert SamplingParams(temperature=0.8).sampling_type == SamplingType.RANDOM
    assert SamplingParams(temperature=0.8, seed=1).sampling_type == SamplingType.RANDOM_SEED


def test_output_text_buffer_length() -> None:
    assert SamplingParams().output_text_buffer_length == 0
    assert SamplingParams(stop=["ab", "wxyz"]).output_text_buffer_length == 3
    assert SamplingParams(stop=["wxyz"], include_stop_str_in_output=True).output_text_buffer_length == 0


@pytest.mark.parametrize("field", ["temperature", "top_p", "min_p", "presence_penalty",
                                   "frequency_penalty", "repetition_penalty"])
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_nan_and_inf_are_rejected(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=f"{field}=.* must be a finite number"):
        SamplingParams(**{field: value})
