"""Driving the scheduler through its real interface, without a model.

A step is ``schedule()``, then a ``ModelRunnerOutput`` that gives one sampled token to every
scheduled sequence whose step reaches the end of its tokens (as the runner does: a prompt chunk
that ends inside the prompt samples nothing), fed to ``update_from_output``: the one place where
sequence state changes.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable

from folovllm import SamplingParams
from folovllm.config import SchedulerConfig
from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.core.scheduler import Scheduler, SequenceUpdate
from folovllm.core.scheduler_output import ModelRunnerOutput, SchedulerOutput
from folovllm.sequence import Request, Sequence

EOS = 0        # the requests' EOS id: sampling it finishes a sequence
TOKEN = 3      # what a sequence samples when nothing asks it to stop
MAX_MODEL_LEN = 100_000

_ids = itertools.count()


def make_request(prompt_len: int, best_of: int = 1) -> Request:
    """A request whose prompt is ``1..prompt_len`` (never EOS), with ``best_of`` sequences."""
    params = SamplingParams(n=best_of, temperature=1.0 if best_of > 1 else 0)
    return Request.create(f"r{next(_ids)}", None, list(range(1, prompt_len + 1)), params,
                          first_seq_id=next(_ids) * 100, eos_token_id=EOS)


def make_scheduler(seqs: int = 4, tokens: int = 100, blocks: int = 64,
                   block_size: int = 16, caching: bool = False, chunked: bool = True,
                   threshold: int = 0) -> Scheduler:
    """A scheduler without the prefix cache unless asked: these prompts all share their head
    (``1..n``), and the M2/M3 tests count the tokens of whole prefills. ``chunked=False`` is
    M2-M4's alternation of prefill and decode steps, which their tests pin down."""
    config = SchedulerConfig(max_num_seqs=seqs, max_num_batched_tokens=tokens,
                             enable_chunked_prefill=chunked, long_prefill_token_threshold=threshold)
    return Scheduler(config, KVCacheManager(blocks, block_size, enable_caching=caching),
                     MAX_MODEL_LEN)


def scheduled_ids(out: SchedulerOutput) -> list[int]:
    """The scheduled sequences' ids, in flat-batch order."""
    return list(out.num_scheduled_tokens)


def runner_output(s: Scheduler, out: SchedulerOutput,
                  token: Callable[[int], int] = lambda seq_id: TOKEN) -> ModelRunnerOutput:
    """What a runner answers: ``[token(seq_id)]`` for each scheduled sequence that reaches the
    end of its tokens, ``[]`` for a prompt chunk that ends inside its prompt."""
    ids = scheduled_ids(out)
    seqs = {x.seq.seq_id: x.seq for x in s.running}
    ends = [seqs[i].data.num_computed_tokens + out.num_scheduled_tokens[i] == seqs[i].data.get_len()
            for i in ids]
    return ModelRunnerOutput(ids, [[token(i)] if end else [] for i, end in zip(ids, ends)],
                             [0.0] * len(ids))


def step(s: Scheduler, token: Callable[[int], int] = lambda seq_id: TOKEN
         ) -> tuple[SchedulerOutput, list[SequenceUpdate]]:
    """One engine step without a model: schedule, sample ``token(seq_id)``, apply."""
    out = s.schedule()
    return out, s.update_from_output(out, runner_output(s, out, token))


def finish_with_eos(*seqs: Sequence) -> Callable[[int], int]:
    """A ``token`` function under which the given sequences sample EOS (and stop)."""
    ids = {seq.seq_id for seq in seqs}
    return lambda seq_id: EOS if seq_id in ids else TOKEN


def has_unfinished(s: Scheduler) -> bool:
    return bool(s.waiting or s.running)


def plain_data_problems(value, path: str = "out") -> list[str]:
    """Paths inside a scheduler output that hold a live object (a ``Sequence``, a ``Request``)
    or anything else that is not plain data: ids, counts, token ids and sampling params."""
    if isinstance(value, (Sequence, Request)):
        return [f"{path}: {type(value).__name__}"]
    if isinstance(value, SamplingParams) or value is None:
        return []
    if isinstance(value, (bool, int, float, str)):
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return [p for i, v in enumerate(value) for p in plain_data_problems(v, f"{path}[{i}]")]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in (*plain_data_problems(k, f"{path} key"),
                                                       *plain_data_problems(v, f"{path}[{k!r}]"))]
    if dataclasses.is_dataclass(value):
        return [p for f in dataclasses.fields(value)
                for p in plain_data_problems(getattr(value, f.name), f"{path}.{f.name}")]
    return [f"{path}: {type(value).__name__}"]
