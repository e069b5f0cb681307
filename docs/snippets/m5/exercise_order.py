"""Waiting first against running first. A 100-token prompt arrives every
step, a budget of 64, at most 16 sequences: admitting before serving lets
each new prompt take the whole budget, and the four chats that were
already decoding get nothing until the batch is full."""

from docs.snippets.m5.sched_loop import add, scheduler, step
from folovllm.core.scheduler import Scheduler
from folovllm.core.scheduler_output import CachedSeqData, SchedulerOutput


class WaitingFirst(Scheduler):
    """Admit waiting prompts first; running sequences get what is left."""

    def schedule(self) -> SchedulerOutput:
        out = SchedulerOutput([], CachedSeqData(), {}, 0,
                              self._finished_seq_ids)
        self._finished_seq_ids = set()
        old = list(self.running)
        budget = self._schedule_waiting(
            out, self.config.max_num_batched_tokens)
        new, self.running = self.running[len(old):], old
        self._schedule_running(out, budget)
        self.running += new
        out.total_num_scheduled_tokens = sum(
            out.num_scheduled_tokens.values())
        return out


def longest_wait(cls: type[Scheduler]) -> int:
    """The most steps between two tokens of a chat."""
    s = scheduler(budget=64, seqs=16, cls=cls)
    for i in range(4):
        add(s, f"chat{i}", 4)
    step(s)                                   # the chats' prompts
    last, longest = 0, 0
    for i in range(1, 40):
        add(s, f"new{i}", 100)
        if "chat0" in step(s).sampled:
            longest, last = max(longest, i - last), i
    return longest


waits = {c.__name__: longest_wait(c) for c in (Scheduler, WaitingFirst)}
for name, wait in waits.items():
    print(f"{name:12s}: chat0's longest wait for a token: {wait:2d} "
          + ("step" if wait == 1 else "steps"))
