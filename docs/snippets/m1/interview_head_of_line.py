"""Head-of-line blocking: a short request waits for the whole batch."""

from folovllm.config import ModelConfig
from folovllm.model_executor.loader import load_tokenizer
from folovllm.worker.hf_runner import HFModelRunner

config = ModelConfig(device="cpu")  # the default model
tok = load_tokenizer(config)
runner = HFModelRunner(config, pad_token_id=tok.pad_token_id)  # M1's runner
steps = []  # one entry per forward of the model: a step of the batch
runner.model.register_forward_hook(lambda *_: steps.append(len(steps) + 1))
long_p, short_p = tok("Once upon a time").input_ids, tok("Hi").input_ids
arrived_after = 1  # the short request arrives as the long one's prefill ends
# The batch [long] is frozen, so the short one waits for a batch of its own.
runner.generate([long_p], max_tokens=[8])
long_done = len(steps)
runner.generate([short_p], max_tokens=[1])
short_done = len(steps)
print("long request (8 tokens) finished at step", long_done)
print("short request (1 token) finished at step", short_done)
waited = short_done - 1 - arrived_after  # every step but its own
print("steps the short request waited:", waited)
