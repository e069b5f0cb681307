"""Repetition, frequency and presence penalties on four logits."""

import torch

from folovllm import SamplingParams


def apply_penalties(logits: torch.Tensor, prompt: list[int],
                    output: list[int], *, repetition: float = 1.0,
                    frequency: float = 0.0,
                    presence: float = 0.0) -> torch.Tensor:
    counts = torch.bincount(torch.tensor(output), minlength=logits.numel())
    counts = counts.to(logits.dtype)
    seen = counts > 0
    seen[prompt] = True  # repetition looks at the prompt too
    scaled = torch.where(logits > 0, logits / repetition, logits * repetition)
    logits = torch.where(seen, scaled, logits)
    logits = logits - frequency * counts  # grows with every repeat
    return logits - presence * (counts > 0)  # once per distinct token


logits = torch.tensor([2.0, -1.0, 1.0, 0.5])
prompt, output = [0], [1, 2, 2]  # token 0 in the prompt; token 2 twice
print("logits:          ", logits.tolist())
penalised = {
    "repetition=2.0": apply_penalties(logits, prompt, output, repetition=2.0),
    "frequency=0.5": apply_penalties(logits, prompt, output, frequency=0.5),
    "presence=0.5": apply_penalties(logits, prompt, output, presence=0.5),
}
for name, values in penalised.items():
    print(f"{name + ':':<18}", values.tolist())
# Negative values (down to -2) encourage repetition instead.
negative = SamplingParams(presence_penalty=-2.0, frequency_penalty=-2.0)
print("presence_penalty=-2.0 accepted:", negative.presence_penalty)
