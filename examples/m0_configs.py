"""M0 example: build the layered engine config from keyword arguments, and see bad values fail.

Run: python examples/m0_configs.py
"""

from folovllm import SamplingParams
from folovllm.config import EngineArgs


def main() -> None:
    config = EngineArgs.from_kwargs(device="cpu", max_num_seqs=64, block_size=32).create_engine_config()
    m, c, s = config.model_config, config.cache_config, config.scheduler_config
    print(f"model          : {m.model}")
    print(f"dtype          : {m.torch_dtype} (asked: {m.dtype!r}, checkpoint: {m.checkpoint_dtype})")
    print(f"max_model_len  : {m.max_model_len} (derived from the HF config)")
    print(f"block_size     : {c.block_size}, prefix caching: {c.enable_prefix_caching}")
    print(f"budgets        : {s.max_num_seqs} sequences, {s.max_num_batched_tokens} tokens per step")

    print("\nWhat bad values say:")
    bad = [
        lambda: EngineArgs.from_kwargs(max_num_seq=8),
        lambda: EngineArgs.from_kwargs(device="cpu", gpu_memory_utilization=1.5).create_engine_config(),
        lambda: EngineArgs.from_kwargs(device="cpu", max_model_len=10**6).create_engine_config(),
        lambda: SamplingParams(top_p=0),
        lambda: SamplingParams(temperature=0, n=4),
        lambda: SamplingParams(max_tokens=4, min_tokens=8),
    ]
    for make in bad:
        try:
            make()
        except ValueError as e:
            print(f"  ValueError: {e}")
        else:
            raise SystemExit("expected a ValueError")


if __name__ == "__main__":
    main()
