"""``LLM``: the offline entry point, shaped like vLLM's.

``LLM(model=None, **engine_kwargs)`` builds an engine (``model=None`` is the embedded default
model); ``generate`` and ``chat`` validate *every* prompt and parameter before any work starts,
queue them, and loop ``LLMEngine.step`` until all are done, returning outputs in input order.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from tqdm.auto import tqdm

from folovllm.engine.llm_engine import LLMEngine
from folovllm.engine.processor import PromptType
from folovllm.outputs import RequestOutput
from folovllm.sampling_params import RequestOutputKind, SamplingParams

Message = dict[str, str]


class LLM:
    def __init__(self, model: str | None = None, **kwargs: Any) -> None:
        self.llm_engine = LLMEngine.from_engine_args(model=model, **kwargs)

    def get_tokenizer(self) -> Any:
        return self.llm_engine.tokenizer

    def shutdown(self) -> None:
        """Stop the tensor-parallel worker processes (``tensor_parallel_size > 1``); the
        engine cannot run afterwards. Done at interpreter exit too, for an ``LLM`` still alive."""
        self.llm_engine.shutdown()

    def reset_prefix_cache(self) -> bool:
        """Forget every cached prompt block; False while requests are running."""
        return self.llm_engine.reset_prefix_cache()

    # --8<-- [start:generate]
    def generate(
        self,
        prompts: PromptType | Sequence[PromptType],
        sampling_params: SamplingParams | Sequence[SamplingParams] | None = None,
        use_tqdm: bool = True,
    ) -> list[RequestOutput]:
        """Generate completions for ``prompts`` (a string, a token-id dict, or a list of them).

        ``sampling_params`` is one ``SamplingParams`` for all prompts or a list with one per
        prompt. All or nothing: every prompt and every ``SamplingParams`` is checked (and each
        prompt tokenized) before the first request is queued, so a bad one at position ``k``
        never leaves prompts ``0..k-1`` behind.
        """
        prompt_list = _as_list("prompts", prompts, (str, Mapping),
                               "a string, a dict with 'prompt' or 'prompt_token_ids', or a list "
                               "of them")
        params_list = self._params_for(prompt_list, sampling_params)
        engine = self.llm_engine
        if engine.has_unfinished_requests():   # their outputs would be stepped past and lost
            raise RuntimeError(
                f"the engine holds {engine.get_num_unfinished_requests()} unfinished requests "
                "added through llm_engine; generate returns only its own outputs, so step those "
                "to the end (llm_engine.step) or abort them first")
        # only finished outputs are used here: the engine need not build one every step
        processed = [engine.processor.process(p, _final_only(sp))
                     for p, sp in zip(prompt_list, params_list)]
        ids = [engine.add_processed_request(p) for p in processed]
        return self._run(ids, use_tqdm)
    # --8<-- [end:generate]

    def chat(
        self,
        messages: list[Message] | list[list[Message]],
        sampling_params: SamplingParams | Sequence[SamplingParams] | None = None,
        use_tqdm: bool = True,
        add_generation_prompt: bool = True,
    ) -> list[RequestOutput]:
        """Apply the tokenizer's chat template to one conversation (or a list of them) and
        generate the assistant's reply."""
        accepts = "a list of {'role': ..., 'content': ...} messages, or a list of such lists"
        items = _as_list("messages", messages, (), accepts)
        conversations = [items] if isinstance(items[0], Mapping) else items
        for c in conversations:
            if isinstance(c, (str, bytes, Mapping)) or not isinstance(c, Sequence) or not c:
                raise ValueError(f"messages={messages!r} is invalid: expected {accepts}")
        prompts = [{"prompt_token_ids": self.encode_chat(c, add_generation_prompt)}
                   for c in conversations]
        return self.generate(prompts, sampling_params, use_tqdm)

    def encode_chat(self, conversation: list[Message], add_generation_prompt: bool = True) -> list[int]:
        tok = self.get_tokenizer()
        if tok is None or not getattr(tok, "chat_template", None):
            raise ValueError("this model's tokenizer has no chat template; use generate()")
        for m in conversation:
            if not isinstance(m, Mapping) or not {"role", "content"} <= set(m) or not all(
                    isinstance(m[k], str) for k in ("role", "content")):
                raise ValueError(f"message {m!r} is invalid: expected {{'role': str, "
                                 "'content': str}")
        text = tok.apply_chat_template([dict(m) for m in conversation],
                                       add_generation_prompt=add_generation_prompt, tokenize=False)
        return tok(text, add_special_tokens=False).input_ids

    @staticmethod
    def _params_for(prompts: list, sampling_params: Any) -> list[SamplingParams]:
        if sampling_params is None:
            return [SamplingParams() for _ in prompts]
        if isinstance(sampling_params, SamplingParams):
            return [sampling_params] * len(prompts)
        params = _as_list("sampling_params", sampling_params, (),
                          "SamplingParams or a list of them, one per prompt")
        if len(params) != len(prompts):
            raise ValueError(f"sampling_params has {len(params)} entries for {len(prompts)} "
                             "prompts: give one, or one per prompt")
        return params

    def _run(self, request_ids: list[str], use_tqdm: bool) -> list[RequestOutput]:
        engine = self.llm_engine
        finished: dict[str, RequestOutput] = {}
        bar = tqdm(total=len(request_ids), desc="Generating", unit="req", disable=not use_tqdm)
        try:
            self._drain(finished, bar)
        except BaseException:
            # a failed (or interrupted) generate must not leave its requests queued behind it
            for request_id in request_ids:
                engine.abort_request(request_id)
            raise
        finally:
            bar.close()
        return [finished[i] for i in request_ids]

    def _drain(self, finished: dict[str, RequestOutput], bar: tqdm) -> None:
        """Step until every request is done; the bar shows output tokens per second."""
        engine, out_tokens = self.llm_engine, 0
        while engine.has_unfinished_requests():
            for out in engine.step():
                if out.finished:
                    finished[out.request_id] = out
                    out_tokens += sum(len(c.token_ids) for c in out.outputs)
                    elapsed = bar.format_dict["elapsed"] or 1e-9
                    hit = engine.prefix_cache_stats.hit_rate
                    bar.set_postfix_str(f"{out_tokens / elapsed:.1f} output tok/s, prefix cache "
                                        f"hit rate {hit:.1%}", refresh=False)
                    bar.update(1)


def _final_only(params: SamplingParams) -> SamplingParams:
    """A copy that asks the engine for the finished output only (the caller's is untouched)."""
    if not isinstance(params, SamplingParams):
        raise ValueError(f"sampling_params={params!r} is invalid: expected SamplingParams")
    params = copy.copy(params)
    params.output_kind = RequestOutputKind.FINAL_ONLY
    return params


def _as_list(name: str, value: Any, single: tuple[type, ...], accepts: str) -> list:
    """``value`` as a non-empty list: one item of a ``single`` type is wrapped; anything that is
    not a list or tuple (None, a number, a set, a generator) is refused, naming the argument."""
    if single and isinstance(value, single):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{name}={value!r} is invalid: expected {accepts}")
    if not value:
        raise ValueError(f"{name}=[] is invalid: give at least one")
    return list(value)
