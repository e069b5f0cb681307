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

import copy
import itertools
import json
import time
from pathlib import Path
from typing import Any

import torch

from folovllm.config import EngineArgs, EngineConfig
from folovllm.core.kv_cache_manager import KVCacheManager, cdiv
from folovllm.core.scheduler import ScheduledSeq, Scheduler
from folovllm.engine.detokenizer import DetokenizerState, IncrementalDetokenizer
from folovllm.engine.stop_checker import StopChecker
from folovllm.model_executor.layers.sampler import (
    Sampler,
    SamplerOutput,
    SamplingMetadata,
    make_generator,
)
from folovllm.model_executor.loader import load_tokenizer
from folovllm.outputs import CompletionOutput, RequestOutput
from folovllm.sampling_params import RequestOutputKind, SamplingParams
from folovllm.sequence import Logprob, Request, Sequence, SequenceStatus
from folovllm.worker.hf_runner import HFModelRunner
from folovllm.worker.model_runner import ModelRunner

# A prompt: text, or a dict with "prompt" (text) or "prompt_token_ids".
PromptType = str | dict[str, Any]


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
    def process_prompt(self, prompt: PromptType) -> tuple[str | None, list[int]]:
        """Validate one prompt and return ``(text, token ids)``; raises ValueError before any work."""
        if isinstance(prompt, str):
            text, ids = prompt, None
        elif isinstance(prompt, dict) and ("prompt" in prompt or "prompt_token_ids" in prompt):
            text, ids = prompt.get("prompt"), prompt.get("prompt_token_ids")
        else:
            raise ValueError(f"prompt={prompt!r} is invalid: expected a string or a dict with "
                             "'prompt' or 'prompt_token_ids'")
        if ids is None:
            if not isinstance(text, str) or not text:
                raise ValueError(f"prompt={text!r} is invalid: must be a non-empty string")
            if self.tokenizer is None:
                raise ValueError("text prompts need a tokenizer, but skip_tokenizer_init=True: "
                                 "pass {'prompt_token_ids': [...]}")
            ids = self.tokenizer(text).input_ids
        vocab = self.config.model_config.vocab_size
        if not isinstance(ids, (list, tuple)) or not ids:
            raise ValueError(f"prompt_token_ids={ids!r} is invalid: must be a non-empty list of ints")
        bad = [t for t in ids if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t < vocab]
        if bad:
            raise ValueError(f"prompt_token_ids contains {bad[:5]}: token ids must be ints in "
                             f"[0, {vocab - 1}]")
        max_len = self.config.model_config.max_model_len
        if len(ids) >= max_len:
            raise ValueError(f"the prompt has {len(ids)} tokens, but max_model_len={max_len} "
                             "leaves no room to generate: shorten it or raise max_model_len")
        kv = self.kv_cache_manager
        if kv.num_blocks_for(len(ids)) > kv.num_blocks:
            raise ValueError(
                f"the prompt has {len(ids)} tokens, but the whole KV cache holds "
                f"{kv.num_blocks * kv.block_size} ({kv.num_blocks} blocks of {kv.block_size}): "
                "shorten it or give the cache more memory")
        return text, list(ids)

    def check_params(self, params: SamplingParams) -> None:
        """What SamplingParams allows but this engine cannot do; raises ValueError."""
        if not isinstance(params, SamplingParams):
            raise ValueError(f"sampling_params={params!r} is invalid: expected SamplingParams")
        if params.prompt_logprobs is not None:
            raise ValueError("prompt_logprobs is not supported by this engine yet; leave it None")
        if self.tokenizer is None and (params.stop or params.logprobs is not None):
            raise ValueError("stop strings and logprobs need a tokenizer, but "
                             "skip_tokenizer_init=True")
        vocab = self.config.model_config.vocab_size
        bad = [t for t in params.stop_token_ids or [] if not 0 <= t < vocab]
        if bad:
            raise ValueError(f"stop_token_ids contains {bad[:5]}: token ids must be in "
                             f"[0, {vocab - 1}]")
        max_seqs = self.config.scheduler_config.max_num_seqs
        if params.best_of > max_seqs:
            raise ValueError(f"best_of={params.best_of} is invalid: it must not exceed "
                             f"max_num_seqs={max_seqs}")

    def add_request(self, prompt: PromptType, params: SamplingParams | None = None,
                    request_id: str | None = None) -> str:
        """Validate, tokenize and queue one prompt; returns its request id."""
        params = SamplingParams() if params is None else params
        self.check_params(params)
        text, ids = self.process_prompt(prompt)
        request_id = str(next(self._request_ids)) if request_id is None else request_id
        if request_id in self.requests:
            raise ValueError(f"request_id={request_id!r} is invalid: already in use")
        params = copy.copy(params)  # the engine's own copy: the caller's object is not touched
        if not params.ignore_eos:
            params.stop_token_ids = params.stop_token_ids + [
                t for t in self.extra_eos_ids if t not in params.stop_token_ids]
        params.all_stop_token_ids = set(params.stop_token_ids)
        if not params.ignore_eos and self.eos_token_id is not None:
            params.all_stop_token_ids.add(self.eos_token_id)
        first = next(self._seq_ids)
        for _ in range(params.best_of - 1):
            next(self._seq_ids)
        req = Request.create(request_id, text, ids, params, first, self.eos_token_id)
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
        logits = self.runner.execute_model(sched)
        rows = [(s.request, s.seq) for s in sched.scheduled]
        out = self.sampler(logits, self._sampling_metadata(rows))
        outputs = capped + self._process_output(rows, out)
        self.scheduler.free_finished()  # their KV blocks are free for the very next step
        if isinstance(self.runner, HFModelRunner) and not self.scheduler.running:
            self.runner.release()  # a padded batch's cache lives as long as the batch, no longer
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
    def _process_output(self, rows: list[tuple[Request, Sequence]],
                        out: SamplerOutput) -> list[RequestOutput]:
        """Append tokens, detokenize, check stops; build outputs.

        All the sampler's results come to the host in one ``tolist()`` of one packed tensor.
        """
        n_top = out.topk_token_ids.shape[1]
        host = torch.cat([
            out.sampled_token_ids.unsqueeze(1).double(), out.sampled_logprobs.unsqueeze(1).double(),
            out.sampled_ranks.unsqueeze(1).double(), out.topk_token_ids.double(),
            out.topk_logprobs.double()], dim=1).tolist()
        now = time.monotonic()
        touched: dict[str, Request] = {}
        for (req, seq), vals in zip(rows, host):
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
            touched[req.request_id] = req
        outputs = []
        for req in touched.values():
            if req.is_finished():
                req.metrics.finished_time = now
                self.requests.pop(req.request_id, None)
            elif req.sampling_params.output_kind == RequestOutputKind.FINAL_ONLY:
                continue
            outputs.append(self._make_output(req))
        return outputs
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
                             req.is_finished(), req.metrics)

    @staticmethod
    def _visible_text(seq: Sequence, params: SamplingParams) -> str:
        hold = params.output_text_buffer_length
        if seq.is_finished() or not hold:
            return seq.output_text
        return seq.output_text[: max(len(seq.output_text) - hold, 0)]
