"""N sequences are returned out of best_of sampled."""

from folovllm import SamplingParams


def error_of(**kwargs) -> str:
    """The message of the ValueError that SamplingParams(**kwargs) raises."""
    try:
        SamplingParams(**kwargs)
    except ValueError as exc:
        return str(exc)
    raise AssertionError(f"SamplingParams accepted {kwargs}")


print("n=3:            best_of =", SamplingParams(n=3, temperature=0.8).best_of)
print("n=2, best_of=5: best_of =",
      SamplingParams(n=2, best_of=5, temperature=0.8).best_of)
too_few = error_of(n=2, best_of=1)
print(too_few)
# Greedy copies would be identical: asking for several is an error.
greedy_n = error_of(temperature=0, n=2)
greedy_best_of = error_of(temperature=0, n=1, best_of=3)
print(greedy_n)
print(greedy_best_of)
