"""M7 example: the same greedy tokens with one process and with two (tensor parallelism).

The example writes the config.json of a tiny Qwen3 model (2 layers, hidden size 64, 4 query heads
and 1 KV head, a vocabulary of 383 entries) into a temporary directory and runs it with random
weights (load_format="dummy": each tensor is drawn whole, then cut for the rank, so every
tensor-parallel size runs the same model). It generates greedily at tensor_parallel_size=1, then
at 2: two processes joined by gloo on the CPU, each with 2 query heads, a copy of the one KV head
and half of the vocabulary rows (192 rows, the last one padding). It prints the tokens of both
runs and checks that they are identical.

A script that starts tensor-parallel workers must do so under ``if __name__ == "__main__":``:
each worker is a spawned process that imports the main module.

Run: python examples/m7_tensor_parallel.py
"""

import json
import tempfile
import time
from pathlib import Path

from folovllm import LLM, SamplingParams

CONFIG = {
    "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": 64,
    "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
    "num_key_value_heads": 1, "head_dim": 16, "vocab_size": 383,
    "max_position_embeddings": 256, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
    "tie_word_embeddings": False, "torch_dtype": "float32",
}
PROMPTS = [{"prompt_token_ids": [(37 * i + 11 * j) % 383 for j in range(12)]}
           for i in range(3)]
GREEDY = SamplingParams(temperature=0, max_tokens=8, ignore_eos=True)


def generate(model_dir: Path, tp: int) -> list[list[int]]:
    """The greedy token ids of every prompt at ``tensor_parallel_size=tp``."""
    llm = LLM(str(model_dir), load_format="dummy", skip_tokenizer_init=True, device="cpu",
              max_model_len=64, tensor_parallel_size=tp)
    try:
        start = time.perf_counter()
        outs = llm.generate(PROMPTS, GREEDY, use_tqdm=False)
        print(f"TP={tp}: generated in {time.perf_counter() - start:.2f} s")
        return [list(o.outputs[0].token_ids) for o in outs]
    finally:
        llm.shutdown()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "config.json").write_text(json.dumps(CONFIG))
        one, two = generate(Path(tmp), 1), generate(Path(tmp), 2)
    for i, (a, b) in enumerate(zip(one, two)):
        print(f"prompt {i}: TP=1 {a}")
        print(f"          TP=2 {b}")
    assert one == two, "TP=2 must give the tokens of TP=1"
    print("TP=1 and TP=2 tokens are identical")


if __name__ == "__main__":
    main()
