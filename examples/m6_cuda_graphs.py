"""M6 example: CUDA graphs for decode steps, on and off (needs a CUDA GPU).

Two engines on the Qwen3-0.6B shape with random bfloat16 weights (its config.json ships in
folovllm/benchmarks/configs; no download): one runs every step eagerly, launching each kernel
from Python; the other captures the decode step once per batch size at start-up and replays it.
Both decode the same 20 prompts greedily: a batch of 20 replays the graph captured for 24, with
4 empty rows. The example prints the graphs captured and the memory they hold, the mean time of
a decode step in each engine, and checks that the tokens are identical.

Without CUDA it says so and exits: a CPU has no graphs to capture.

Run: python examples/m6_cuda_graphs.py
"""

import random
import sys
import time

import torch

from folovllm import SamplingParams
from folovllm.engine.llm_engine import LLMEngine

MODEL = "folovllm/benchmarks/configs/qwen3-0.6b"
NUM_SEQS, PROMPT_LEN, DECODE_STEPS = 20, 256, 64
rng = random.Random(0)
PROMPTS = [[rng.randrange(10000) for _ in range(PROMPT_LEN)] for _ in range(NUM_SEQS)]


def make_engine(enforce_eager: bool) -> LLMEngine:
    """A 2 GiB KV cache for each engine, so that both fit on the device at once."""
    return LLMEngine.from_engine_args(
        model=MODEL, load_format="dummy", skip_tokenizer_init=True, device="cuda",
        max_model_len=1024, max_num_seqs=64, kv_cache_memory_bytes=2 * 2**30,
        enforce_eager=enforce_eager)


def decode(engine: LLMEngine) -> tuple[dict[str, list[int]], float]:
    """Prefill every prompt in one step, then time the decode steps (one token per sequence
    each): returns the tokens of each request and the mean milliseconds of a decode step."""
    params = SamplingParams(temperature=0, max_tokens=DECODE_STEPS + 1, ignore_eos=True)
    for i, prompt in enumerate(PROMPTS):
        engine.add_request({"prompt_token_ids": prompt}, params, request_id=str(i))
    done = {o.request_id: o for o in engine.step() if o.finished}   # the prefill step
    torch.cuda.synchronize()
    start, steps = time.perf_counter(), 0
    while engine.has_unfinished_requests():
        done.update((o.request_id, o) for o in engine.step() if o.finished)
        steps += 1
    torch.cuda.synchronize()
    step_ms = (time.perf_counter() - start) / steps * 1000
    return {rid: out.outputs[0].token_ids for rid, out in done.items()}, step_ms


def main() -> None:
    if not torch.cuda.is_available():
        print("needs a CUDA GPU: CUDA graphs record and replay GPU kernel launches, and this "
              "machine has no CUDA device")
        return
    eager = make_engine(enforce_eager=True)
    eager_tokens, eager_ms = decode(eager)
    graphs = make_engine(enforce_eager=False)
    cuda_graphs = graphs.runner.cuda_graphs
    print(f"captured {len(cuda_graphs.graphs)} CUDA graphs (batch sizes "
          f"{cuda_graphs.sizes[0]}..{cuda_graphs.sizes[-1]}), holding "
          f"{cuda_graphs.memory_bytes / 2**20:.1f} MiB")
    print(f"a decode batch of {NUM_SEQS} replays the graph of "
          f"{cuda_graphs.padded_size(NUM_SEQS)}")
    graph_tokens, graph_ms = decode(graphs)
    print(f"decode step, {NUM_SEQS} sequences: eager {eager_ms:.2f} ms, "
          f"graphs {graph_ms:.2f} ms ({eager_ms / graph_ms:.1f}x faster)")
    print(f"decode steps replayed from a graph: {cuda_graphs.num_replays}")
    same = graph_tokens == eager_tokens
    print(f"tokens identical with and without CUDA graphs: {same}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
