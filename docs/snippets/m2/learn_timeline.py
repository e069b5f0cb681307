"""Static and continuous batching of the same four requests, step by step."""

from folovllm import SamplingParams
from folovllm.config import SchedulerConfig
from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.core.scheduler import Scheduler
from folovllm.core.scheduler_output import ModelRunnerOutput
from folovllm.sequence import Request

WANTS = {"A": 8, "B": 3, "C": 5, "D": 4}  # output tokens each request wants
ARRIVES = {"A": 0, "B": 0, "C": 0, "D": 1}  # the step it is added at


def simulate(static: bool) -> dict[str, list[int]]:
    """The steps each request runs in; each one makes a token per step."""
    # M2's policy: a step prefills or decodes (M5 made chunking the default)
    config = SchedulerConfig(max_num_seqs=3, max_num_batched_tokens=64,
                             enable_chunked_prefill=False)
    slots = KVCacheManager(num_blocks=3, block_size=16)  # 3 one-block slots
    sched = Scheduler(config, slots, max_model_len=16)
    names, held = list(WANTS), []
    ran: dict[str, list[int]] = {name: [] for name in WANTS}
    for step in range(20):
        for i, name in enumerate(names):
            if ARRIVES[name] == step:
                params = SamplingParams(max_tokens=WANTS[name])
                held.append(Request.create(name, None, [1, 2, 3], params, i))
        if not static or not sched.running:  # static: wait for the batch
            for request in held:
                sched.add_request(request)
            held = []
        out = sched.schedule()
        if not out.num_scheduled_tokens:
            break
        ids = list(out.num_scheduled_tokens)  # sequence ids, one per request
        for seq_id in ids:
            ran[names[seq_id]].append(step)
        # Stand-in for the model runner: every sequence samples token 0.
        # The scheduler appends it, stops at max_tokens, frees the slot.
        fake = ModelRunnerOutput(ids, [[0]] * len(ids), [0.0] * len(ids))
        sched.update_from_output(out, fake)
    return ran


static, continuous = simulate(static=True), simulate(static=False)
for name in WANTS:
    print(f"{name}: static {static[name]}  continuous {continuous[name]}")
