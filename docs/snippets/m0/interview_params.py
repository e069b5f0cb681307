"""M0 interview answers on the SamplingParams contract: greedy, n / best_of, seeds, stops.

Run: ``python docs/snippets/m0/interview_params.py``.
"""

import torch

from folovllm import SamplingParams
from folovllm.sampling_params import SamplingType


def error_of(**kwargs) -> str:
    """The message of the ValueError that ``SamplingParams(**kwargs)`` must raise."""
    try:
        SamplingParams(**kwargs)
    except ValueError as exc:
        return str(exc)
    raise AssertionError(f"SamplingParams accepted {kwargs}")


# --8<-- [start:greedy]
greedy = SamplingParams(temperature=0, top_p=0.5, top_k=10, min_p=0.2)
assert greedy.sampling_type is SamplingType.GREEDY
assert (greedy.top_p, greedy.top_k, greedy.min_p) == (1.0, 0, 0.0)   # reset to "off"
assert SamplingParams(temperature=1e-6).sampling_type is SamplingType.GREEDY  # below 1e-5
assert "temperature=-0.5 is invalid" in error_of(temperature=-0.5)
assert SamplingParams(top_k=-1).top_k == 0      # vLLM's "disabled" spelling is accepted
# --8<-- [end:greedy]

# --8<-- [start:n_best_of]
assert SamplingParams(n=3, temperature=0.8).best_of == 3           # best_of defaults to n
assert SamplingParams(n=2, best_of=5, temperature=0.8).best_of == 5
assert error_of(n=2, best_of=1) == "best_of=1 is invalid: must be in [2, inf]"

# Greedy copies would be identical, so asking for several is an error, not wasted work.
msg = error_of(temperature=0, n=2)
assert msg.startswith("best_of=2 (n=2) is invalid with temperature=0")
assert error_of(temperature=0, n=1, best_of=3).startswith("best_of=3 (n=1) is invalid")
# --8<-- [end:n_best_of]

# --8<-- [start:seeds]
assert SamplingParams(temperature=0.8).sampling_type is SamplingType.RANDOM
seeded = SamplingParams(temperature=0.8, seed=1234)
assert seeded.sampling_type is SamplingType.RANDOM_SEED

probs = torch.softmax(torch.randn(50, generator=torch.Generator().manual_seed(0)), dim=-1)


def draw(gen: torch.Generator) -> int:
    """One sample by the exponential race vLLM uses: argmax(p / q) with q ~ Exp(1)."""
    q = torch.empty_like(probs).exponential_(generator=gen)
    return int((probs / q).argmax())


def run(batch: list[str], seeds: dict[str, int] | None, steps: int = 8) -> dict[str, list[int]]:
    """Decode `steps` tokens for every request; rows without a seed share one generator."""
    shared = torch.Generator().manual_seed(0)
    gens = {r: torch.Generator().manual_seed(seeds[r]) if seeds else shared for r in batch}
    out: dict[str, list[int]] = {r: [] for r in batch}
    for _ in range(steps):
        for r in batch:                     # rows are sampled in batch order
            out[r].append(draw(gens[r]))
    return out


# Shared generator: request A's tokens change when B joins the batch in front of it.
assert run(["A"], None)["A"] != run(["B", "A"], None)["A"]
# Per-request generator: A's tokens are the same in any batch.
seeds = {"A": seeded.seed, "B": 99}
assert run(["A"], seeds)["A"] == run(["B", "A"], seeds)["A"] == run(["A", "B"], seeds)["A"]

# n > 1 with a seed: sequences of one request need different streams, or they are identical.
same = run(["A0", "A1"], {"A0": 1234, "A1": 1234})
assert same["A0"] == same["A1"]
offset = run(["A0", "A1"], {"A0": 1234, "A1": 1234 + 1})   # vLLM v1: child i gets seed + i
assert offset["A0"] != offset["A1"]
# --8<-- [end:seeds]

# --8<-- [start:stops]
sp = SamplingParams(stop="###", stop_token_ids=[7])
assert sp.stop == ["###"] and sp.stop_token_ids == [7]   # normalised to lists
assert sp.output_text_buffer_length == 2                 # len("###") - 1
assert SamplingParams(stop=["###", "END"]).output_text_buffer_length == 2
assert SamplingParams(stop="###", include_stop_str_in_output=True).output_text_buffer_length == 0
assert SamplingParams().output_text_buffer_length == 0
assert "must not be empty" in error_of(stop=[""])
assert error_of(max_tokens=4, min_tokens=5) == "min_tokens=5 is invalid: must be in [0, 4]"


def stream(chunks: list[str], params: SamplingParams, hold: int) -> tuple[str, list[str]]:
    """A toy detokenizer: what the user has been shown after each chunk, and the final text."""
    text, shown = "", []
    for chunk in chunks:
        text += chunk
        for stop in params.stop:
            i = text.find(stop)
            if i != -1:
                end = i + len(stop) if params.include_stop_str_in_output else i
                return text[:end], shown
        shown.append(text[: len(text) - hold])
    return text, shown


chunks = ["The answer", " is 42", "#", "#", "#", " and more"]
params = SamplingParams(stop="###")
final, shown = stream(chunks, params, hold=params.output_text_buffer_length)
assert final == "The answer is 42"
assert all(final.startswith(s) for s in shown)           # nothing shown is taken back
_, naive = stream(chunks, params, hold=0)
assert naive[-1] == "The answer is 42##"                  # shown, then cut to "...42"
kept, _ = stream(chunks, SamplingParams(stop="###", include_stop_str_in_output=True), hold=0)
assert kept == "The answer is 42###"
# --8<-- [end:stops]

print("interview_params: all claims hold")
