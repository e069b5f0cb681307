"""Which tensor-parallel sizes each model accepts: the engine's own check,
run before any process starts, for TP = 1 to 8."""

from pathlib import Path

import folovllm.benchmarks
from folovllm.config import ModelConfig, check_tensor_parallel

qwen = ModelConfig(str(Path(folovllm.benchmarks.__file__).parent / "configs"
                       / "qwen3-0.6b"), device="cpu", skip_tokenizer_init=True)
smol = ModelConfig(model=None, device="cpu")
for name, m in (("SmolLM2-135M", smol), ("Qwen3-0.6B", qwen)):
    ok, first_error = [], None
    for tp in range(1, 9):
        try:
            check_tensor_parallel(m, tp)
            ok.append(tp)
        except ValueError as error:
            first_error = first_error or str(error)
    print(f"{name}: accepts {ok}")
    print(f"  {first_error}")
