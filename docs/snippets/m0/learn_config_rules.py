"""Rules that span two config groups, checked before any work starts."""

from folovllm.config import EngineArgs

cfg = EngineArgs.from_kwargs(device="cpu").create_engine_config()
m, s = cfg.model_config, cfg.scheduler_config  # the default model, on CPU
print(f"max_model_len {m.max_model_len}, chunked prefill "
      f"{s.enable_chunked_prefill}, token budget {s.max_num_batched_tokens},"
      f" {m.num_attention_heads} query heads over {m.num_kv_heads} KV heads")

for bad in ({"max_num_batched_tokens": 1024, "enable_chunked_prefill": False},
            {"tensor_parallel_size": 2}, {"max_model_len": 100_000}):
    try:
        EngineArgs.from_kwargs(device="cpu", **bad).create_engine_config()
    except ValueError as err:
        print(f"{bad}:\n  {err}")

# Chunked prefill (on by default) lifts the budget rule.
good = {"max_num_batched_tokens": 1024}
EngineArgs.from_kwargs(device="cpu", **good).create_engine_config()
print(f"{good}: accepted")
