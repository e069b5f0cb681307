"""Every bad value is a ValueError that names the field and the range."""

import subprocess
import sys

from folovllm import SamplingParams
from folovllm.config import CacheConfig, SchedulerConfig

nan = float("nan")
cases = [(CacheConfig, {"block_size": 0}),
         (CacheConfig, {"gpu_memory_utilization": 1.5}),
         (SchedulerConfig, {"max_num_seqs": True}),  # bool is not a count
         (SchedulerConfig, {"policy": "lifo"}),
         (CacheConfig, {"gpu_memory_utilization": nan}),
         (SamplingParams, {"temperature": nan}),
         (SamplingParams, {"top_p": float("inf")})]
errors = []
for make, kwargs in cases:
    try:
        make(**kwargs)
    except ValueError as exc:
        errors.append(str(exc))
        print(exc)

# NaN fails every comparison: the negative form of a range check lets it in.
print("nan < 0 or nan > 1:", nan < 0.0 or nan > 1.0)

# Why not `assert`? `python -O` removes it and the bad value goes through.
check = "x = -1\nassert x > 0, 'x must be positive'\nprint('ran with x =', x)"
run = subprocess.run([sys.executable, "-O", "-c", check],
                     capture_output=True, text=True)
print("python -O:", run.stdout.strip(), "| exit code", run.returncode)
