"""CPU-side control flow is frozen at capture. A toy attention that, like
the reference backend, loops in Python over the host's copy of the
lengths: captured with the empty rows the runner captures with (length
0), its replays skip every sequence. The engine refuses that pairing."""

import textwrap

import torch

from docs.snippets.m6.toy_graph import ToyGraph
from folovllm.config import ModelConfig

seq_lens_host = [0, 0]                      # what capture sees
seq_lens = torch.zeros(2, dtype=torch.long)  # the device copy
out = torch.zeros(2)


def attend(i: int):
    return lambda lens, o: o.__setitem__(i, lens[i].float())


def python_loop_attention(g: ToyGraph) -> None:
    for i, n in enumerate(seq_lens_host):   # host values decide the launches
        if n > 0:
            g.launch(attend(i), seq_lens, out)


g = ToyGraph()
g.capture(lambda: python_loop_attention(g))
print("kernels recorded with lengths [0, 0]:", len(g.kernels))
seq_lens_host[:] = [5, 9]
seq_lens.copy_(torch.tensor(seq_lens_host))
g.replay()
print("replay with lengths [5, 9]:", out.tolist())
python_loop_attention(ToyGraph())           # eager: runs what the host says
print("eager with lengths [5, 9]:", out.tolist())
try:
    ModelConfig(model="x", device="cpu", enforce_eager=False)
except ValueError as error:
    print(textwrap.fill(str(error), 76))
