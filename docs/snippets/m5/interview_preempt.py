"""A partial prefill is preempted and resumes. 10 blocks of 4 tokens, a
budget of 16: b is 12 tokens into its 24-token prompt when a's decode and
b's next chunk need more blocks than are free; b, the newest, goes back
to the queue. With the prefix cache its computed full blocks survive."""

from docs.snippets.m5.sched_loop import add, scheduler, step
from folovllm.sequence import SequenceStatus

for caching in (True, False):
    s = scheduler(budget=16, blocks=10, block_size=4, caching=caching)
    add(s, "a", list(range(1000, 1020)), max_tokens=2)
    b = add(s, "b", list(range(2000, 2024)), max_tokens=2)
    print(f"prefix cache {'on' if caching else 'off'}:")
    for i in range(5):
        st = step(s)
        preempted = b.seqs[0].status == SequenceStatus.PREEMPTED
        note = " (b preempted)" if preempted else ""
        print(f"  step {i}: {st.tokens}{note}")
    print(f"  preemptions {s.num_preemptions}; b finished: "
          f"{b.is_finished()}")
