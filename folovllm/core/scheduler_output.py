"""What the scheduler tells the model runner each step, and what the runner answers.

Both are plain data: ids, counts and token ids, never live ``Sequence`` objects. The runner keeps
its own copy of what it needs (each sequence's tokens, block table and sampling state), so the
scheduler sends a sequence's prompt once, when the runner first sees it, and after that only what
changed: new blocks and the new ``num_computed_tokens``. That is what lets captured CUDA graphs
(M6) read fixed buffers and worker processes (M7) receive the step as one small object.
Names follow vLLM v1 (``vllm/v1/core/sched/output.py``, ``vllm/v1/outputs.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from folovllm.sampling_params import SamplingParams


@dataclass
class NewSeqData:
    """A sequence the runner has not seen: everything it needs to compute and sample it."""

    seq_id: int
    request_id: str
    seq_index: int                  # its place among the request's ``best_of`` sequences
    prompt_token_ids: tuple[int, ...]
    sampling_params: SamplingParams
    block_ids: list[int]
    num_computed_tokens: int


@dataclass
class CachedSeqData:
    """Sequences the runner already holds, in parallel lists.

    A running sequence gets the blocks allocated to it this step (usually none). A sequence
    resumed after a preemption lost all its blocks: ``block_ids`` then replaces its whole table
    (``resumed_from_preemption``), and ``num_computed_tokens`` starts again from what the prefix
    cache still holds of it (0 without the cache).
    """

    seq_ids: list[int] = field(default_factory=list)
    resumed_from_preemption: list[bool] = field(default_factory=list)
    new_block_ids: list[list[int]] = field(default_factory=list)
    num_computed_tokens: list[int] = field(default_factory=list)


# --8<-- [start:scheduler_output]
@dataclass
class SchedulerOutput:
    """One step's work.

    ``num_scheduled_tokens`` maps each scheduled sequence to the number of tokens it computes
    this step, in the order its tokens appear in the flat batch: a prompt's whole length (or
    what is left of it) for a sequence starting up, 1 for a decoding one. A sequence samples a
    token when the step reaches the end of its tokens. ``finished_seq_ids`` lists the sequences
    that finished since the last step (stopped, aborted, failed): the runner forgets them.
    ``num_decode_tokens`` counts the decodes among them (one token of a sequence whose prompt
    is computed), for the step's statistics.
    """

    scheduled_new_seqs: list[NewSeqData]
    scheduled_cached_seqs: CachedSeqData
    num_scheduled_tokens: dict[int, int]
    total_num_scheduled_tokens: int
    finished_seq_ids: set[int]
    num_decode_tokens: int = 0
# --8<-- [end:scheduler_output]


# --8<-- [start:runner_output]
@dataclass
class ModelRunnerOutput:
    """The sampled tokens of one step, on the host, one entry per scheduled sequence in batch
    order. ``sampled_token_ids[i]`` is empty for a sequence whose step ended before its last
    token (a prompt chunk, from M5 on). ``logprobs`` holds the top-N entries of the sequences
    whose request asked for logprobs; ``errors`` maps each failed request's id to what went
    wrong (its sequences are left out)."""

    seq_ids: list[int] = field(default_factory=list)
    sampled_token_ids: list[list[int]] = field(default_factory=list)
    sampled_logprobs: list[float] = field(default_factory=list)
    logprobs: dict[int, SampledLogprobs] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
# --8<-- [end:runner_output]


@dataclass
class SampledLogprobs:
    """The sampled token's log-probability and rank, and the top-N tokens of its position."""

    logprob: float
    rank: int
    top_token_ids: list[int]
    top_logprobs: list[float]
