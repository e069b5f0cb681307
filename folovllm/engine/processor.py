"""Input processing: a user's prompt and parameters in, one checked request out.

Everything a request can get wrong is found here, before it is queued: the prompt's type and
tokens, and every ``SamplingParams`` field against the bounds this engine really has (the
vocabulary, ``max_logprobs``, ``max_num_seqs``, the KV cache). The parameters are validated once
more on the engine's own copy, so an object mutated after its construction cannot slip a bad
value past its ``__post_init__``. The prompt is tokenized once, here (vLLM's ``Processor``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from folovllm.config import EngineConfig
from folovllm.sampling_params import SamplingParams

# A prompt: text, or a dict with "prompt" (text) or "prompt_token_ids", and optionally a
# "cache_salt" string that keeps its prefix-cache entries apart from other tenants' (M4).
PromptType = str | Mapping[str, Any]
PROMPT_KEYS = ("prompt", "prompt_token_ids", "cache_salt")


@dataclass
class ProcessedRequest:
    """A prompt that passed every check: its text (if any), its token ids and the engine's own
    validated copy of its parameters, with the stop token ids filled in."""

    prompt: str | None
    prompt_token_ids: list[int]
    params: SamplingParams
    cache_salt: str | None = None


class Processor:
    def __init__(self, config: EngineConfig, tokenizer: Any, eos_token_id: int | None,
                 extra_eos_ids: list[int], num_kv_blocks: int) -> None:
        """``num_kv_blocks``: the whole KV cache, which bounds the longest prompt."""
        self.config = config
        self.tokenizer = tokenizer
        self.eos_token_id = eos_token_id
        self.extra_eos_ids = extra_eos_ids
        self.num_kv_blocks = num_kv_blocks

    def process(self, prompt: PromptType, params: SamplingParams | None) -> ProcessedRequest:
        """Check ``params`` and ``prompt`` and tokenize; raises ValueError before any work."""
        params = self.check_params(SamplingParams() if params is None else params)
        text, ids = self.process_prompt(prompt)
        return ProcessedRequest(text, ids, params, self._cache_salt(prompt))

    @staticmethod
    def _cache_salt(prompt: PromptType) -> str | None:
        """A tenant's ``cache_salt``: its blocks hash differently, so no other tenant's prompt
        can hit them (nor learn from the speed of a hit what someone else asked)."""
        salt = prompt.get("cache_salt") if isinstance(prompt, Mapping) else None
        if salt is not None and (not isinstance(salt, str) or not salt):
            raise ValueError(f"cache_salt={salt!r} is invalid: must be a non-empty string")
        return salt

    # --8<-- [start:process_prompt]
    def process_prompt(self, prompt: PromptType) -> tuple[str | None, list[int]]:
        """Validate one prompt and return ``(text, token ids)``."""
        if isinstance(prompt, str):
            text, ids = prompt, None
        elif isinstance(prompt, Mapping) and ("prompt" in prompt or "prompt_token_ids" in prompt):
            self._check_prompt_keys(prompt)
            text, ids = prompt.get("prompt"), prompt.get("prompt_token_ids")
        else:
            raise ValueError(f"prompt={prompt!r} is invalid: expected a string or a dict with "
                             "'prompt' or 'prompt_token_ids'")
        if text is not None and (not isinstance(text, str) or not text):
            raise ValueError(f"prompt={text!r} is invalid: must be a non-empty string")
        if ids is None:
            if text is None:
                raise ValueError("prompt=None is invalid: must be a non-empty string")
            if self.tokenizer is None:
                raise ValueError("text prompts need a tokenizer, but skip_tokenizer_init=True: "
                                 "pass {'prompt_token_ids': [...]}")
            ids = self.tokenizer(text).input_ids
        self._check_prompt_ids(ids)
        return text, list(ids)

    @staticmethod
    def _check_prompt_keys(prompt: Mapping[str, Any]) -> None:
        """A misspelt key (``"cache_slat"``) would be dropped without a word, and text given
        with ids would be reported as the prompt while the ids ran: refuse both."""
        unknown = [k for k in prompt if k not in PROMPT_KEYS]
        if unknown:
            raise ValueError(f"prompt={prompt!r} is invalid: unknown keys {unknown}; a prompt dict "
                             f"takes {', '.join(map(repr, PROMPT_KEYS))}")
        if "prompt" in prompt and "prompt_token_ids" in prompt:
            raise ValueError(f"prompt={prompt!r} is invalid: give 'prompt' or 'prompt_token_ids', "
                             "not both")

    def _check_prompt_ids(self, ids: Any) -> None:
        """Ids the model can embed (the embedding may have more rows than the tokenizer has
        tokens: those ids are valid), and a length that leaves room to generate."""
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
        blocks, size = self.num_kv_blocks, self.config.cache_config.block_size
        if len(ids) > blocks * size:
            raise ValueError(f"the prompt has {len(ids)} tokens, but the whole KV cache holds "
                             f"{blocks * size} ({blocks} blocks of {size}): shorten it or give "
                             "the cache more memory")
    # --8<-- [end:process_prompt]

    # --8<-- [start:check_params]
    def check_params(self, params: SamplingParams) -> SamplingParams:
        """The engine's validated copy of ``params``: every field checked again (a field changed
        after construction included), then against what this engine can do."""
        if not isinstance(params, SamplingParams):
            raise ValueError(f"sampling_params={params!r} is invalid: expected SamplingParams")
        params = dataclasses.replace(params)  # a copy, through __post_init__'s checks again
        mc = self.config.model_config
        vocab = mc.vocab_size
        if params.top_k > vocab:
            raise ValueError(f"top_k={params.top_k} is invalid: must be in [-1, {vocab}] (the "
                             "vocabulary size; 0 or -1 disables it)")
        for name in ("logprobs", "prompt_logprobs"):
            value = getattr(params, name)
            if value is not None and value > mc.max_logprobs:
                raise ValueError(f"{name}={value} is invalid: must be in [0, {mc.max_logprobs}] "
                                 "(the engine's max_logprobs)")
        if params.prompt_logprobs is not None:
            raise ValueError("prompt_logprobs is not supported by this engine yet; leave it None")
        if self.tokenizer is None and (params.stop or params.logprobs is not None):
            raise ValueError("stop strings and logprobs need a tokenizer, but "
                             "skip_tokenizer_init=True")
        bad = [t for t in params.stop_token_ids if not 0 <= t < vocab]
        if bad:
            raise ValueError(f"stop_token_ids contains {bad[:5]}: token ids must be in "
                             f"[0, {vocab - 1}]")
        max_seqs = self.config.scheduler_config.max_num_seqs
        if params.best_of > max_seqs:
            raise ValueError(f"best_of={params.best_of} is invalid: it must not exceed "
                             f"max_num_seqs={max_seqs}")
        self._add_stop_ids(params)
        return params
    # --8<-- [end:check_params]

    def _add_stop_ids(self, params: SamplingParams) -> None:
        """Chat models often end a turn with another token too (generation_config.json lists
        them): those stop like ``stop_token_ids``, unless ``ignore_eos``."""
        if not params.ignore_eos:
            params.stop_token_ids = params.stop_token_ids + [
                t for t in self.extra_eos_ids if t not in params.stop_token_ids]
        params.all_stop_token_ids = set(params.stop_token_ids)
        if not params.ignore_eos and self.eos_token_id is not None:
            params.all_stop_token_ids.add(self.eos_token_id)
