"""The executor's lifecycle settings: how long a rank waits, and the
message that stops a worker. Workers are spawned, so each one imports the
main module again: a script that starts TP must guard with __main__."""

from folovllm.executor import multiproc_executor as mx

for name in ("STARTUP_TIMEOUT_S", "COLLECTIVE_TIMEOUT_S", "ERROR_GRACE_S",
             "JOIN_TIMEOUT_S"):
    print(f"{name:20s} {getattr(mx, name):6.1f} s")
print("shutdown message:", mx.SHUTDOWN, "(a step is never empty)")
