"""Head-of-line blocking: a 1-token request arrives behind a 6-token one."""

from folovllm.config import ModelConfig
from folovllm.model_executor.loader import load_tokenizer
from folovllm.worker.hf_runner import HFModelRunner

config = ModelConfig(device="cpu")  # the default model
tok = load_tokenizer(config)
runner = HFModelRunner(config, pad_token_id=tok.pad_token_id)  # M1's runner
steps = []  # one entry per forward of the model: a step of the batch
runner.model.register_forward_hook(lambda *_: steps.append(len(steps) + 1))
requests = {"long": (tok("The capital of France is").input_ids, 6),
            "short": (tok("Hi").input_ids, 1)}
# "short" arrives during step 1, but the running batch cannot take a row:
# prefill() would start a new batch and drop this one's cache.
done = {}
for name, (prompt, max_tokens) in requests.items():
    runner.generate([prompt], [max_tokens])  # one static batch each
    done[name] = len(steps)
    print(f"step {done[name]}: the {name} request finished")
