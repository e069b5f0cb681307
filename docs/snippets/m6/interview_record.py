"""What a graph records: the kernels and the tensors they were given.
New values written INTO the captured input are seen by the next replay;
a new tensor bound to the same Python name is not."""

import torch

from docs.snippets.m6.toy_graph import ToyGraph, matmul, relu

w = torch.tensor([[1.0, -1.0], [2.0, 0.5]])
x = torch.zeros(1, 2)                 # static input buffer
h, out = torch.zeros(1, 2), torch.zeros(1, 2)
g = ToyGraph()
g.capture(lambda: (g.launch(matmul, x, w, h), g.launch(relu, h, out)))
print("kernels recorded:", [k.__name__ for k, _ in g.kernels])

x.copy_(torch.tensor([[1.0, 2.0]]))   # fill the buffer, then replay
g.replay()
print(f"copy_ into x, replay: {out.tolist()}"
      f" | eager: {torch.relu(x @ w).tolist()}")

x = torch.tensor([[3.0, 0.0]])        # a NEW tensor: the graph never sees it
g.replay()
print(f"rebind x,     replay: {out.tolist()}"
      f" | eager: {torch.relu(x @ w).tolist()}")
