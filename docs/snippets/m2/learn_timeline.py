"""Static and continuous batching of the same four requests, step by step."""

from folovllm import SamplingParams
from folovllm.config import SchedulerConfig
from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.core.scheduler import Scheduler
from folovllm.sequence import Request, SequenceStatus

WANTS = {"A": 8, "B": 3, "C": 5, "D": 4}  # output tokens each request wants
ARRIVES = {"A": 0, "B": 0, "C": 0, "D": 1}  # the step it is added at


def simulate(static: bool) -> dict[str, list[int]]:
    """The steps each request runs in; each one makes a token per step."""
    config = SchedulerConfig(max_num_seqs=3, max_num_batched_tokens=64)
    slots = KVCacheManager(num_blocks=3, block_size=16)  # 3 one-block slots
    sched = Scheduler(config, slots, static_batching=static)
    ran: dict[str, list[int]] = {name: [] for name in WANTS}
    for step in range(20):
        for i, name in enumerate(WANTS):
            if ARRIVES[name] == step:
                sched.add_request(
                    Request.create(name, None, [1, 2, 3], SamplingParams(), i))
        if (out := sched.schedule()) is None:
            break
        for s in out.scheduled:  # stand-in for the model and the sampler
            name, data = s.request.request_id, s.seq.data
            ran[name].append(step)
            data.append_token_id(0, 0.0)
            data.num_computed_tokens = data.get_len() - 1
            if len(data.output_token_ids) == WANTS[name]:
                s.seq.status = SequenceStatus.FINISHED_LENGTH_CAPPED
        sched.free_finished()  # a finished sequence's slot is free at once
    return ran


static, continuous = simulate(static=True), simulate(static=False)
for name in WANTS:
    print(f"{name}: static {static[name]}  continuous {continuous[name]}")
