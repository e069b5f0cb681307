"""A property test of the scheduler: random prompts, budgets and caps;
every step stays within the budget, the oldest running request is always
computed, and every request finishes. Then a planted bug (running
sequences served newest first) that the same test catches."""

from hypothesis import given, settings
from hypothesis import strategies as st

from docs.snippets.m5.sched_loop import add, scheduler, step
from folovllm.core.scheduler import Scheduler
from folovllm.sequence import SequenceStatus


class NewestFirst(Scheduler):
    def _schedule_running(self, out, budget):
        self.running.reverse()       # the bug
        return super()._schedule_running(out, budget)


def check(cls: type[Scheduler]) -> str:
    @settings(max_examples=150, derandomize=True, database=None,
              deadline=None)
    @given(st.lists(st.integers(1, 80), min_size=1, max_size=8),
           st.integers(8, 64), st.sampled_from([0, 4, 16]))
    def prop(prompts: list[int], budget: int, threshold: int) -> None:
        s = scheduler(budget, threshold=threshold, cls=cls)
        reqs = [add(s, f"r{i}", n, max_tokens=4)
                for i, n in enumerate(prompts)]
        for _ in range(1000):
            running = [r.request_id for r in reqs
                       if r.seqs[0].status == SequenceStatus.RUNNING]
            done = step(s).tokens
            if not done:
                break
            assert sum(done.values()) <= budget, "over the budget"
            assert not running or running[0] in done, \
                "the oldest running request was not computed"
        assert all(r.is_finished() for r in reqs), "a request never finished"

    try:
        prop()
    except AssertionError as error:
        return f"caught: {error}"
    return "150 random cases passed"


print("engine:      ", check(Scheduler))
print("newest first:", check(NewestFirst))
