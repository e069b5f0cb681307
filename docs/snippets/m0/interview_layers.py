"""Four config groups, and the one rule that needs two of them."""

from folovllm.config import EngineArgs

engine = EngineArgs.from_kwargs(device="cpu").create_engine_config()
m, s = engine.model_config, engine.scheduler_config
print("groups:", type(m).__name__, type(engine.cache_config).__name__,
      type(s).__name__, type(engine.parallel_config).__name__)
print("max_model_len:", m.max_model_len)
print("chunked prefill:", s.enable_chunked_prefill)  # the default
print("token budget: ", s.max_num_batched_tokens)  # 8192 with chunking

# Without chunked prefill one step must be able to hold a whole prompt.
small = EngineArgs.from_kwargs(device="cpu", max_num_batched_tokens=4096,
                               enable_chunked_prefill=False)
try:
    small.create_engine_config()
except ValueError as exc:
    too_small = str(exc)
    print("budget 4096:  ", too_small.split(";")[0])
chunked = EngineArgs.from_kwargs(device="cpu", max_num_batched_tokens=4096)
chunked_budget = chunked.create_engine_config().scheduler_config \
    .max_num_batched_tokens
print("budget 4096 with chunked prefill:", chunked_budget)
