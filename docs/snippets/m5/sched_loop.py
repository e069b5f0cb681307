"""The scheduler without a model, as the M5 programs drive it: the engine's
Scheduler and KVCacheManager, and a stand-in for the runner that samples
token 7 for each sequence whose step reaches the end of its tokens (a chunk
that ends inside the prompt samples nothing, as in the engine).

STEP_MS and TOKEN_MS are an assumed cost model, not measurements: a step
costs a fixed overhead plus a cost per token it computes."""

import itertools
from dataclasses import dataclass

from folovllm import SamplingParams
from folovllm.config import SchedulerConfig
from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.core.scheduler import Scheduler
from folovllm.core.scheduler_output import ModelRunnerOutput, SchedulerOutput
from folovllm.sequence import Request

TOKEN = 7
STEP_MS, TOKEN_MS = 5.0, 0.025   # assumptions of the exercise
_seq_ids = itertools.count(1)


def step_ms(num_tokens: int) -> float:
    return STEP_MS + TOKEN_MS * num_tokens


def scheduler(budget: int, seqs: int = 8, blocks: int = 1024,
              block_size: int = 16, caching: bool = False,
              threshold: int = 0, chunked: bool = True,
              cls: type[Scheduler] = Scheduler) -> Scheduler:
    config = SchedulerConfig(
        max_num_seqs=seqs, max_num_batched_tokens=budget,
        enable_chunked_prefill=chunked,
        long_prefill_token_threshold=threshold)
    kv = KVCacheManager(blocks, block_size, enable_caching=caching)
    return cls(config, kv, max_model_len=100_000)


def add(s: Scheduler, name: str, prompt: int | list[int],
        max_tokens: int = 100) -> Request:
    """Queue request `name`; an int prompt means tokens 1..prompt."""
    ids = list(range(1, prompt + 1)) if isinstance(prompt, int) else prompt
    params = SamplingParams(temperature=0, max_tokens=max_tokens)
    r = Request.create(name, None, ids, params, next(_seq_ids))
    s.add_request(r)
    return r


@dataclass
class Step:
    tokens: dict[str, int]   # request -> tokens computed this step
    sampled: list[str]       # the requests that got a token
    decode: int              # tokens of sequences past their prompt
    prefill: int             # prompt chunks (and recomputation)


# --8<-- [start:apply]
def apply(s: Scheduler, out: SchedulerOutput) -> list[int]:
    """The runner's part of a scheduled step: token 7 for each sequence
    whose step reaches the end of its tokens; returns their ids."""
    by_id = {x.seq.seq_id: x.seq for x in s.running}
    n = out.num_scheduled_tokens
    ends = [i for i in n if by_id[i].data.num_computed_tokens + n[i]
            == by_id[i].data.get_len()]
    s.update_from_output(out, ModelRunnerOutput(
        list(n), [[TOKEN] if i in ends else [] for i in n], [0.0] * len(n)))
    return ends
# --8<-- [end:apply]


def step(s: Scheduler) -> Step:
    out = s.schedule()
    stats = s.make_stats(out)  # before the step is applied
    names = {x.seq.seq_id: x.request.request_id for x in s.running}
    sampled = apply(s, out)
    return Step({names[i]: n for i, n in out.num_scheduled_tokens.items()},
                [names[i] for i in sampled],
                stats.num_decode_tokens, stats.num_prefill_tokens)
