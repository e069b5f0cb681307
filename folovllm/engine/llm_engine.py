"""The engine: requests in, one model step at a time, outputs back.

``add_request`` validates and tokenizes a prompt and queues it; ``step`` runs one forward pass and
returns the outputs of every request it advanced; ``abort_request`` cancels. ``LLM.generate`` is a
loop over ``step`` and is all most users need.

Each step: the ``Scheduler`` picks the sequences (a prefill of newly admitted ones, or a decode of
all running ones), the runner turns them into one forward pass and returns one row of logits per
sequence, the ``Sampler`` picks the tokens, and the engine appends them, detokenizes, checks stops
and frees finished sequences' KV blocks for the next step (continuous batching).

Two runners share this loop: ``ModelRunner`` (our model code, flat batch, paged KV cache; the
default) and ``HFModelRunner`` (``model_impl="transformers"``, M1's padded static batch, kept for
comparisons; the scheduler then admits new sequences only when nothing runs).
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from pathlib import Path
from typing import Any

import torch

from folovllm.config import EngineArgs, EngineConfig
from folovllm.core.kv_cache_manager import KVCacheManager, cdiv
from folovllm.core.scheduler import ScheduledSeq, Scheduler, SchedulerOutput
from folovllm.engine.detokenizer import DetokenizerState, IncrementalDetokenizer
from folovllm.engine.processor import ProcessedRequest, Processor, PromptType
from folovllm.engine.stop_checker import StopChecker
from folovllm.model_executor.layers.sampler import (
    Sampler,
    SamplerOutput,
    SamplingMetadata,
    make_generator,
)
from folovllm.model_executor.loader import load_tokenizer
from folovllm.outputs import CompletionOutput, Logprob, RequestOutput
from folovllm.sampling_params import RequestOutputKind, SamplingParams
from folovllm.sequence import Request, Sequence, SequenceStatus
from folovllm.worker.hf_runner import HFModelRunner
from folovllm.worker.model_runner import ModelRunner

logger = logging.getLogger(__name__)


def generation_eos_ids(model_dir: str) -> list[int]:
    """The EOS ids in the checkpoint's generation_config.json (none when it has no such file)."""
    path = Path(model_dir) / "generation_config.json"
    if not path.is_file():
        return []
    eos = json.loads(path.read_text()).get("eos_token_id")
    return [] if eos is None else [eos] if isinstance(eos, int) else list(eos)


class LLMEngine:
    def __init__(self, config: EngineConfig) -> None:
        if config.scheduler_config.enable_chunked_prefill:
            # the config accepts it (its rules are M0's), but without the M5 scheduler a prompt
            # longer than the token budget could never be scheduled
            raise ValueError("enable_chunked_prefill=True is not implemented yet (chunked prefill "
                             "arrives in M5); leave it False")
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
        block_size = config.cache_config.block_size
        if mc.model_impl == "transformers":
            pad = None if self.tokenizer is None else self.tokenizer.pad_token_id
            self.runner = HFModelRunner(mc, pad_token_id=self.eos_token_id if pad is None else pad)
            # the HF model keeps its own cache; the blocks only account for it, so there are
            # enough for every sequence at full length
            num_blocks = config.scheduler_config.max_num_seqs * cdiv(mc.max_model_len, block_size)
        else:
            self.runner = ModelRunner(config)
            num_blocks = self.runner.num_blocks
        self.kv_cache_manager = KVCacheManager(num_blocks, block_size)
        self.processor = Processor(config, self.tokenizer, self.eos_token_id, self.extra_eos_ids,
                                   num_kv_blocks=num_blocks)
        self.scheduler = Scheduler(config.scheduler_config, self.kv_cache_manager,
                                   static_batching=mc.model_impl == "transformers")
        # high-water marks for benchmarks: sequences running at once (what paging raises) and
        # KV blocks in use
        self.peak_num_running = 0
        self.peak_blocks_used = 0
        self.device = self.runner.device
        generator = torch.Generator(device=self.device)
        generator.manual_seed(mc.seed)
        self.sampler = Sampler(generator)
        self.detokenizer = None if self.tokenizer is None else IncrementalDetokenizer(self.tokenizer)
        self.stop_checker = StopChecker(mc.max_model_len)
        self.requests: dict[str, Request] = {}
        self._detok: dict[int, DetokenizerState] = {}
        self._generators: dict[int, torch.Generator] = {}
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
                             first, self.eos_token_id)
        self.requests[request_id] = req
        self.scheduler.add_request(req)
        return request_id

    def abort_request(self, request_id: str) -> None:
        """Cancel a request; its sequences finish with ``finish_reason="abort"``."""
        if self.requests.pop(request_id, None) is None:
            return
        for seq in self.scheduler.abort_request(request_id):
            self._forget(seq)

    def has_unfinished_requests(self) -> bool:
        return bool(self.requests)

    def get_num_unfinished_requests(self) -> int:
        return len(self.requests)

    # ---- one step ------------------------------------------------------------------------
    # --8<-- [start:step]
    def step(self) -> list[RequestOutput]:
        """Schedule, run the model once, sample, and process the new tokens."""
        sched = self.scheduler.schedule()
        if sched is None:
            if self.requests:  # never spin silently: this is a scheduler bug, say so
                raise RuntimeError(f"{len(self.requests)} requests are unfinished but nothing "
                                   "can be scheduled")
            return []
        capped = self._finish_capped(sched.capped)
        if not sched.scheduled:
            return capped
        if sched.is_prefill:
            self._start_sequences(sched.scheduled)
        kv = self.kv_cache_manager
        self.peak_num_running = max(self.peak_num_running, len(self.scheduler.running))
        self.peak_blocks_used = max(self.peak_blocks_used, kv.num_blocks - kv.num_free_blocks())
        rows, out, failed = self._run_contained(sched)
        outputs = capped + self._fail_requests(failed) + self._process_output(rows, out)
        self.scheduler.free_finished()  # their KV blocks are free for the very next step
        if isinstance(self.runner, HFModelRunner) and not self.scheduler.running:
            self.runner.release()  # a padded batch's cache lives as long as the batch, no longer
        return outputs

    # --8<-- [start:contained]
    def _run_contained(self, sched: SchedulerOutput
                       ) -> tuple[list[ScheduledSeq], SamplerOutput | None, list[Request]]:
        """Run the model and the sampler on the step; returns the rows that ran, their sampled
        tokens and the requests that failed.

        A fault (an exception in the model or the sampler) must not cost the other requests
        their work. Nothing the scheduler tracks has moved yet (``num_computed_tokens`` advances
        only with a sampled token), so the step can simply be run again: request by request,
        so that a request whose inputs make the model fail fails alone, and the others get the
        tokens they would have got (the outputs do not depend on the batch). A passing fault
        costs no request anything. ``transformers``' padded batch cannot be split: there, the
        step's requests all fail.
        """
        try:
            return sched.scheduled, self._compute(sched), []
        except Exception as error:
            logger.exception("a model step failed; running its requests one by one")
            first_error = error
        groups: dict[str, list[ScheduledSeq]] = {}
        for s in sched.scheduled:
            groups.setdefault(s.request.request_id, []).append(s)
        rows, outs, failed = [], [], []
        for group in groups.values():
            try:
                if isinstance(self.runner, HFModelRunner):
                    raise first_error
                outs.append(self._compute(SchedulerOutput(group, sched.is_prefill, 0)))
                rows += group
            except Exception as error:
                group[0].request.error = f"{type(error).__name__}: {error}"
                failed.append(group[0].request)
        return rows, SamplerOutput.cat(outs), failed
    # --8<-- [end:contained]

    def _compute(self, sched: SchedulerOutput) -> SamplerOutput:
        """Model and sampler on ``sched``. Seeded generators are put back as they were if it
        raises, so a retried step draws the same numbers."""
        rows = [(s.request, s.seq) for s in sched.scheduled]
        generators = [g for _, s in rows if (g := self._generators.get(s.seq_id)) is not None]
        states = [g.get_state() for g in generators]
        try:
            logits = self.runner.execute_model(sched)
            return self.sampler(logits, self._sampling_metadata(rows))
        except Exception:
            for g, state in zip(generators, states):
                g.set_state(state)
            raise

    def _fail_requests(self, failed: list[Request]) -> list[RequestOutput]:
        """Finish each failed request as aborted, its error in ``RequestOutput.error``."""
        outputs = []
        for req in failed:
            for seq in self.scheduler.abort_request(req.request_id):
                self._forget(seq)
            req.metrics.finished_time = time.monotonic()
            self.requests.pop(req.request_id, None)
            outputs.append(self._make_output(req))
        return outputs

    def _start_sequences(self, scheduled: list[ScheduledSeq]) -> None:
        """First schedule of a sequence: its detokenizer state, its generator, the metrics.

        A preempted sequence that is scheduled again keeps all three: its text so far and its
        random stream continue where they stopped, so preemption does not change the output of
        greedy or seeded requests (unseeded ones draw from the shared generator, whose stream
        depends on the whole batch anyway).
        """
        now = time.monotonic()
        for s in scheduled:
            req, seq, params = s.request, s.seq, s.request.sampling_params
            if req.metrics.first_scheduled_time is None:
                req.metrics.first_scheduled_time = now
            if seq.data.get_output_len():
                continue  # resumed after a preemption
            if self.detokenizer is not None:
                self._detok[seq.seq_id] = self.detokenizer.init_state(
                    seq.data.prompt_token_ids, params.skip_special_tokens)
            if params.seed is not None:
                index = req.seqs.index(seq)
                self._generators[seq.seq_id] = make_generator(params.seed, index, self.device)
    # --8<-- [end:step]

    def _finish_capped(self, capped: list[ScheduledSeq]) -> list[RequestOutput]:
        """Outputs for sequences the scheduler stopped because the whole cache is full."""
        now, outputs = time.monotonic(), []
        for s in capped:
            self._forget(s.seq)
            if s.request.is_finished():
                s.request.metrics.finished_time = now
                self.requests.pop(s.request.request_id, None)
            elif s.request.sampling_params.output_kind == RequestOutputKind.FINAL_ONLY:
                continue
            outputs.append(self._make_output(s.request))
        return outputs

    def _sampling_metadata(self, rows: list[tuple[Request, Sequence]]) -> SamplingMetadata:
        return SamplingMetadata.build(
            params=[r.sampling_params for r, _ in rows],
            prompt_ids=[s.data.prompt_token_ids for _, s in rows],  # read only for penalties
            output_ids=[s.data.output_token_ids for _, s in rows],
            generators=[self._generators.get(s.seq_id) for _, s in rows],
            vocab_size=self.config.model_config.vocab_size,
            device=self.device,
        )

    # --8<-- [start:process_output]
    def _process_output(self, rows: list[ScheduledSeq],
                        out: SamplerOutput | None) -> list[RequestOutput]:
        """Append tokens, detokenize, check stops; build outputs.

        All the sampler's results come to the host in one ``tolist()`` of one packed tensor.
        A request whose output cannot be processed (its detokenizer raised, say) fails alone.
        """
        if out is None:
            return []
        n_top = out.topk_token_ids.shape[1]
        host = torch.cat([
            out.sampled_token_ids.unsqueeze(1).double(), out.sampled_logprobs.unsqueeze(1).double(),
            out.sampled_ranks.unsqueeze(1).double(), out.topk_token_ids.double(),
            out.topk_logprobs.double()], dim=1).tolist()
        now = time.monotonic()
        touched: dict[str, Request] = {}
        failed: dict[str, Request] = {}
        for s, vals in zip(rows, host):
            req = s.request
            if req.request_id in failed:
                continue
            try:
                self._append_token(req, s.seq, vals, n_top, now)
                touched[req.request_id] = req
            except Exception as error:
                logger.exception("processing the output of request %r failed", req.request_id)
                req.error = f"{type(error).__name__}: {error}"
                failed[req.request_id] = req
                touched.pop(req.request_id, None)
        outputs = self._fail_requests(list(failed.values()))
        for req in touched.values():
            if req.is_finished():
                req.metrics.finished_time = now
                self.requests.pop(req.request_id, None)
            elif req.sampling_params.output_kind == RequestOutputKind.FINAL_ONLY:
                continue
            outputs.append(self._make_output(req))
        return outputs

    def _append_token(self, req: Request, seq: Sequence, vals: list[float], n_top: int,
                      now: float) -> None:
        """One sampled token into its sequence: ids, logprobs, text, and the stop checks."""
        params = req.sampling_params
        token, logprob, rank = int(vals[0]), vals[1], int(vals[2])
        seq.data.append_token_id(token, logprob)
        seq.data.num_computed_tokens = seq.data.get_len() - 1
        if params.logprobs is not None:
            seq.output_logprobs.append(self._logprob_dict(
                token, logprob, rank, vals[3:3 + n_top], vals[3 + n_top:], params.logprobs))
        new_text = "" if self.detokenizer is None else self.detokenizer.step(
            self._detok[seq.seq_id], token, params.skip_special_tokens)
        seq.output_text += new_text
        if req.metrics.first_token_time is None:
            req.metrics.first_token_time = now
        status = self.stop_checker.check(seq, params, len(new_text))
        if status is not None:
            seq.status = status
            self._forget(seq)
    # --8<-- [end:process_output]

    def _logprob_dict(self, token: int, logprob: float, rank: int, top_ids: list[float],
                      top_lps: list[float], n: int) -> dict[int, Logprob]:
        entries = {int(t): Logprob(lp, r + 1) for r, (t, lp) in enumerate(zip(top_ids[:n], top_lps[:n]))}
        entries.setdefault(token, Logprob(logprob, rank))
        for tid, entry in entries.items():
            entry.decoded_token = self.tokenizer.decode([tid])
        return entries

    def _forget(self, seq: Sequence) -> None:
        self._detok.pop(seq.seq_id, None)
        self._generators.pop(seq.seq_id, None)

    def _make_output(self, req: Request) -> RequestOutput:
        """The request's current state; when finished with ``best_of > n``, the ``n`` sequences
        with the highest cumulative log-probability, best first.

        While a sequence runs, its last ``output_text_buffer_length`` characters are held back:
        they could be the start of a stop string that the next token completes, and text once
        shown to a streaming user cannot be taken back.
        """
        params = req.sampling_params
        seqs = list(enumerate(req.seqs))
        if req.is_finished() and params.best_of > params.n:
            seqs.sort(key=lambda item: item[1].data.cumulative_logprob, reverse=True)
        completions = [
            CompletionOutput(
                index=index, text=self._visible_text(seq, params),
                token_ids=list(seq.data.output_token_ids),
                cumulative_logprob=seq.data.cumulative_logprob,
                logprobs=seq.output_logprobs if params.logprobs is not None else None,
                finish_reason=SequenceStatus.get_finished_reason(seq.status),
                stop_reason=seq.stop_reason,
            )
            for index, seq in seqs[: params.n]
        ]
        return RequestOutput(req.request_id, req.prompt, req.prompt_token_ids, None, completions,
                             req.is_finished(), req.metrics, req.error)

    @staticmethod
    def _visible_text(seq: Sequence, params: SamplingParams) -> str:
        hold = params.output_text_buffer_length
        if seq.is_finished() or not hold:
            return seq.output_text
        return seq.output_text[: max(len(seq.output_text) - hold, 0)]
