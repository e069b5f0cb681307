"""A property test: for random prompts, budgets and thresholds, no chunk is
larger than the threshold, each prompt is computed exactly once, in order,
and a request's first token comes in the step that ends its prompt. A
_chunk that forgets the threshold fails it."""

from hypothesis import given, settings
from hypothesis import strategies as st

from docs.snippets.m5.sched_loop import add, scheduler, step
from folovllm.core.scheduler import Scheduler


class NoCap(Scheduler):
    def _chunk(self, s, start, budget):   # the planted bug
        return min(s.num_tokens - start, budget)


def check(cls: type[Scheduler]) -> str:
    @settings(max_examples=100, derandomize=True, database=None,
              deadline=None)
    @given(st.lists(st.integers(1, 90), min_size=1, max_size=6),
           st.integers(8, 96), st.sampled_from([0, 1, 7, 32]))
    def prop(prompts: list[int], budget: int, threshold: int) -> None:
        s = scheduler(budget, threshold=threshold, cls=cls)
        for i, n in enumerate(prompts):
            add(s, f"r{i}", n, max_tokens=2)
        computed = {f"r{i}": 0 for i in range(len(prompts))}
        while s.running or s.waiting:
            now = step(s)
            for name, n in now.tokens.items():
                assert threshold == 0 or n <= threshold, "chunk too large"
                prompt = prompts[int(name[1:])]
                if computed[name] < prompt:          # still in its prompt
                    computed[name] += n
                    assert computed[name] <= prompt, "past the prompt"
                    ends = computed[name] == prompt
                    assert ends == (name in now.sampled), "wrong sample"
    try:
        prop()
    except AssertionError as error:
        return f"caught: {error}"
    return "100 random cases passed"


for cls in (Scheduler, NoCap):
    print(f"{cls.__name__:9s}: {check(cls)}")
