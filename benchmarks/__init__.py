"""Repository tooling around the engine, run from the repository root as ``python -m benchmarks.X``.

What a user of the package runs lives in ``folovllm.benchmarks`` (``folovllm bench``). What lives
here needs the repository itself: the milestone ladder (it exports each tag's tree from the git
history), the charts and tables written into ``docs/``, and the studies behind the benchmarks
page (CPU matmuls, the Triton decode kernel, KV memory, a decode step's profile, how a step
reaches the tensor-parallel workers).
"""
