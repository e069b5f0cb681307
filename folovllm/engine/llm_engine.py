"""The engine: requests in, one model step at a time, outputs back.

``add_request`` validates and tokenizes a prompt and queues it; ``step`` runs one forward pass and
returns the outputs of every request it advanced; ``abort_request`` cancels. ``LLM.generate`` is a
loop over ``step`` and is all most users need.

Each step wires three owners together (vLLM v1's engine core and output processor):

1. the ``Scheduler`` picks the sequences and how many tokens each computes (one for a decode, a
   chunk of a prompt, within one token budget) and describes them in a plain-data
   ``SchedulerOutput``;
2. the ``ModelRunner`` runs one forward pass over them, samples, and returns the tokens on the
   host (``ModelRunnerOutput``);
3. the scheduler applies them (``update_from_output``: tokens, counts, stop checks, freed
   blocks), and the ``OutputProcessor`` turns the changes into text and ``RequestOutput``s.

With async scheduling (on by default on a CUDA device) steps 1 and 2 of the next step come
before step 3 of this one: the host schedules and queues step N+1 while the GPU still runs
step N, then waits for step N and applies it while the GPU runs step N+1. ``step`` returns the
outputs of the step it applied, one step behind the one it queued.

With ``tensor_parallel_size > 1`` the runner of step 2 is rank 0's, inside a
``MultiprocExecutor`` that also sends each step to the other ranks' processes; everything else
is the same. ``shutdown()`` stops those processes (it also happens at interpreter exit).
"""

from __future__ import annotations

import itertools
import logging
import time
from typing import Any

from folovllm.config import EngineArgs, EngineConfig
from folovllm.core.kv_cache_manager import KVCacheManager, PrefixCacheStats
from folovllm.core.scheduler import Scheduler, SchedulerStats
from folovllm.core.scheduler_output import CachedSeqData, ModelRunnerOutput, SchedulerOutput
from folovllm.engine.output_processor import OutputProcessor
from folovllm.engine.processor import ProcessedRequest, Processor, PromptType
from folovllm.executor.multiproc_executor import MultiprocExecutor
from folovllm.model_executor.loader import load_tokenizer
from folovllm.outputs import RequestOutput
from folovllm.sampling_params import SamplingParams
from folovllm.sequence import Request, SequenceStatus
from folovllm.validation import generation_eos_ids
from folovllm.worker.model_runner import AsyncModelRunnerOutput, ModelRunner

logger = logging.getLogger(__name__)


def _nothing_in_flight() -> tuple[SchedulerOutput, AsyncModelRunnerOutput]:
    """What async scheduling waits for when no step is queued: an empty step, already done."""
    return (SchedulerOutput([], CachedSeqData(), {}, 0, set()),
            AsyncModelRunnerOutput(lambda: ModelRunnerOutput()))


class LLMEngine:
    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        mc = config.model_config
        # skip_tokenizer_init: token ids in, token ids out, no text (benchmarks on a bare
        # config.json need no tokenizer); EOS then comes from the model config.
        self.tokenizer = None if mc.skip_tokenizer_init else load_tokenizer(mc)
        self.eos_token_id = (getattr(mc.hf_config, "eos_token_id", None)
                             if self.tokenizer is None else self.tokenizer.eos_token_id)
        if isinstance(self.eos_token_id, list):
            self.eos_token_id = self.eos_token_id[0] if self.eos_token_id else None
        # Chat models often end a turn with another token too (Llama 3's <|eot_id|>, Qwen's
        # <|endoftext|>): generation_config.json lists them, and they stop like stop_token_ids.
        self.extra_eos_ids = sorted(set(generation_eos_ids(mc.model)) - {self.eos_token_id})
        # the runner loads the model, sizes and allocates the KV cache; with tensor parallelism
        # it is rank 0's, and the executor runs the other ranks in their own processes
        self.executor: MultiprocExecutor | None = None
        if config.parallel_config.tensor_parallel_size > 1:
            self.executor = MultiprocExecutor(config)
            self.runner = self.executor.driver_runner
        else:
            self.runner = ModelRunner(config)
        num_blocks = self.runner.num_blocks
        cc = config.cache_config
        self.kv_cache_manager = KVCacheManager(num_blocks, cc.block_size,
                                               enable_caching=cc.enable_prefix_caching)
        self.processor = Processor(config, self.tokenizer, self.eos_token_id, self.extra_eos_ids,
                                   num_kv_blocks=num_blocks)
        self.scheduler = Scheduler(config.scheduler_config, self.kv_cache_manager,
                                   mc.max_model_len)
        self.output_processor = OutputProcessor(self.tokenizer)
        # high-water marks for benchmarks: sequences running at once (what paging raises) and
        # KV blocks in use
        self.peak_num_running = 0
        self.peak_blocks_used = 0
        self.last_step_stats: SchedulerStats | None = None   # the latest step, at a glance
        self.device = self.runner.device
        self.requests: dict[str, Request] = {}
        # async scheduling: the step queued on the device and not applied yet (at first none:
        # an empty step, already done)
        self._in_flight: tuple[SchedulerOutput, AsyncModelRunnerOutput] = _nothing_in_flight()
        self._interrupted: list[RequestOutput] = []   # final outputs of an interrupted step
        self._seq_ids = itertools.count()
        self._request_ids = itertools.count()

    @classmethod
    def from_engine_args(cls, **kwargs: Any) -> LLMEngine:
        return cls(EngineArgs.from_kwargs(**kwargs).create_engine_config())

    # ---- requests -----------------------------------------------------------------------
    def add_request(self, prompt: PromptType, params: SamplingParams | None = None,
                    request_id: str | None = None) -> str:
        """Validate, tokenize and queue one prompt; returns its request id."""
        return self.add_processed_request(self.processor.process(prompt, params), request_id)

    def add_processed_request(self, processed: ProcessedRequest,
                              request_id: str | None = None) -> str:
        """Queue a request that ``self.processor`` has checked. An automatic id never collides
        with one in use (a caller's own ``"0"`` included)."""
        if request_id is None:
            request_id = str(next(self._request_ids))
            while request_id in self.requests:
                request_id = str(next(self._request_ids))
        elif not isinstance(request_id, str) or not request_id:
            raise ValueError(f"request_id={request_id!r} is invalid: must be a non-empty string")
        if request_id in self.requests:
            raise ValueError(f"request_id={request_id!r} is invalid: already in use")
        params = processed.params
        first = next(self._seq_ids)
        for _ in range(params.best_of - 1):
            next(self._seq_ids)
        req = Request.create(request_id, processed.prompt, processed.prompt_token_ids, params,
                             first, self.eos_token_id, cache_salt=processed.cache_salt)
        self.requests[request_id] = req
        self.output_processor.add_request(req)
        self.scheduler.add_request(req)
        return request_id

    def abort_request(self, request_id: str) -> None:
        """Cancel a request; its sequences finish with ``finish_reason="abort"``. An id that
        is not (or no longer) in the engine is ignored: the request may have just finished."""
        if not isinstance(request_id, str):   # a list or a number would never match: say so
            raise ValueError(f"request_id={request_id!r} is invalid: must be a string, the id "
                             "add_request returned")
        req = self.requests.pop(request_id, None)
        if req is None:
            return
        self._interrupted = [o for o in self._interrupted if o.request_id != request_id]
        self.scheduler.finish_requests([request_id], SequenceStatus.FINISHED_ABORTED)
        self.output_processor.remove_request(req)

    def reset_prefix_cache(self) -> bool:
        """Forget every cached block (after a weight update, say); False, changing nothing,
        while requests hold blocks."""
        return self.kv_cache_manager.reset_prefix_cache()

    @property
    def prefix_cache_stats(self) -> PrefixCacheStats:
        """Prompt tokens looked up in the prefix cache and found there, since the start."""
        return self.kv_cache_manager.prefix_cache_stats

    def shutdown(self) -> None:
        """Stop the tensor-parallel worker processes, if any (also done at interpreter exit)."""
        if self.executor is not None:
            self.executor.shutdown()

    def has_unfinished_requests(self) -> bool:
        return bool(self.requests)

    def get_num_unfinished_requests(self) -> int:
        return len(self.requests)

    # ---- one step ------------------------------------------------------------------------
    # --8<-- [start:step]
    def step(self) -> list[RequestOutput]:
        """Schedule, run the model once (sampling included), apply, and make the outputs."""
        interrupted, self._interrupted = self._interrupted, []
        for out in interrupted:   # ended by an interrupted step: their outputs go out now
            self.requests.pop(out.request_id, None)
        sched = self.scheduler.schedule()
        self._record_schedule(sched)
        unapplied = [sched, self._in_flight[0]]
        try:
            done, runner_output = self._run(sched)
        except BaseException as e:
            self._end_unapplied(unapplied, e)
            raise
        updates = self.scheduler.update_from_output(done, runner_output)
        if (not updates and self.requests and not sched.num_scheduled_tokens
                and not done.num_scheduled_tokens and not interrupted):
            # never spin silently: this is a scheduler bug, say so
            raise RuntimeError(f"{len(self.requests)} requests are unfinished but nothing can "
                               "be scheduled")
        now = time.monotonic()
        done = self.output_processor.process_updates(updates, now)
        self.scheduler.finish_seqs(done.stopped_seq_ids, SequenceStatus.FINISHED_STOPPED)
        self.scheduler.finish_requests(list(done.failed), SequenceStatus.FINISHED_ABORTED)
        outputs = self.output_processor.make_outputs(list(done.requests.values()), now)
        for out in outputs:   # every finished request has its (final) output here
            if out.finished:
                self.requests.pop(out.request_id, None)
        return interrupted + outputs

    def _run(self, sched: SchedulerOutput) -> tuple[SchedulerOutput, ModelRunnerOutput]:
        """Run a step; returns the step whose results are in (with async scheduling, the one
        before, while ``sched`` is queued behind it) and those results."""
        if self.config.scheduler_config.async_scheduling:
            # queue this step behind the one the GPU runs, then wait for that one and apply it
            done, running = self._in_flight
            self._in_flight = (sched, self.runner.execute_model(sched, non_block=True))
            return done, running.get_output()
        return sched, (self.executor or self.runner).execute_model(sched)
    # --8<-- [end:step]

    def _end_unapplied(self, steps: list[SchedulerOutput], error: BaseException) -> None:
        """An exception escaped a step (Ctrl-C, a fault the runner cannot pin on one request):
        the tokens of ``steps`` will never come back. Their requests end now, aborted with the
        error, so that their blocks return and the engine goes on serving every other request;
        left in flight, they would wait forever. They count as unfinished until the next step
        returns their final outputs."""
        self._in_flight = _nothing_in_flight()
        reason = f"the step was interrupted: {type(error).__name__}: {error}"
        now = time.monotonic()
        done = self.output_processor.process_updates(
            self.scheduler.abort_unapplied(steps, reason), now)
        self._interrupted = self.output_processor.make_outputs(list(done.requests.values()), now)

    def _record_schedule(self, sched: SchedulerOutput) -> None:
        """Times and high-water marks of a step just scheduled."""
        now = time.monotonic()
        for new in sched.scheduled_new_seqs:
            metrics = self.requests[new.request_id].metrics
            if metrics.first_scheduled_time is None:
                metrics.first_scheduled_time = now
        self.last_step_stats = self.scheduler.make_stats(sched)
        kv = self.kv_cache_manager
        self.peak_num_running = max(self.peak_num_running, len(self.scheduler.running))
        self.peak_blocks_used = max(self.peak_blocks_used, kv.num_blocks - kv.num_free_blocks())
