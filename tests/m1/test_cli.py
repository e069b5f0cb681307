"""The M1 commands: generate, chat (streaming REPL) and bench."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from folovllm.benchmarks.throughput import format_table
from folovllm.entrypoints.cli import main
from tests.cli_checks import run_cli_fresh


def test_generate_prints_each_completion(tiny_model_dirs, capsys) -> None:
    rc = main(["generate", "Hello world", "The quick", "--model", str(tiny_model_dirs["llama"]),
               "--device", "cpu", "--max-tokens", "5"])
    out = capsys.readouterr().out
    assert rc == 0
    assert out.count("### prompt:") == 2 and "finish_reason=" in out


def test_generate_chat_on_the_default_model(capsys) -> None:
    rc = main(["generate", "--chat", "What is the capital of France?", "--device", "cpu",
               "--max-tokens", "20"])
    out = capsys.readouterr().out
    assert rc == 0 and "Paris" in out and "finish_reason=stop" in out


def test_generate_bad_sampling_value_is_an_error_message(tiny_model_dirs, capsys) -> None:
    rc = main(["generate", "hi", "--model", str(tiny_model_dirs["llama"]), "--device", "cpu",
               "--top-p", "0"])
    assert rc == 2 and "top_p=0.0 is invalid" in capsys.readouterr().err


def test_chat_repl_streams_and_keeps_history(tiny_model_dirs, monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("hello\n/reset\nagain\n/exit\n"))
    rc = main(["chat", "--model", str(tiny_model_dirs["qwen3"]), "--device", "cpu",
               "--max-tokens", "4"])
    out = capsys.readouterr().out
    assert rc == 0 and out.count("assistant> ") == 2


def test_bench_writes_results(tiny_model_dirs, tmp_path: Path, capsys) -> None:
    path = tmp_path / "r.json"
    rc = main(["bench", "--model", str(tiny_model_dirs["llama"]), "--device", "cpu",
               "--num-prompts", "2", "--input-len", "8", "--output-len", "4", "--repeats", "1",
               "--output-json", str(path)])
    assert rc == 0
    result = json.loads(path.read_text())
    assert [r["engine"] for r in result["results"]] == ["folovllm", "transformers"]
    assert all(r["output_tokens"] == 8 for r in result["results"])
    assert result["results"][1]["vs_transformers"] == 1.0
    assert format_table(result) in capsys.readouterr().out
    # the code's commit (this test runs in a git checkout), the host's processor, and M3's
    # memory counters
    assert len(result["commit"].removesuffix("+dirty")) == 40
    from folovllm.benchmarks import host_cpu_name
    assert result["host_cpu"] == host_cpu_name() and result["host_cpu"]
    ours = result["results"][0]
    assert ours["max_concurrent_seqs"] == 2 and 0 < ours["kv_blocks_peak"] <= ours["kv_blocks"]
    assert ours["num_preemptions"] == 0


@pytest.mark.parametrize("argv", [["generate"], ["bench", "--num-prompts", "x"]])
def test_usage_errors_exit_2(argv) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2


def test_bench_rejects_zero_repeats(tiny_model_dirs, capsys) -> None:
    rc = main(["bench", "--model", str(tiny_model_dirs["llama"]), "--device", "cpu", "--repeats", "0"])
    assert rc == 2 and "repeats=0 is invalid" in capsys.readouterr().err


def test_chat_survives_a_conversation_longer_than_max_model_len(tiny_model_dirs, monkeypatch,
                                                                 capsys) -> None:
    from folovllm.entrypoints import cli

    real = cli._make_llm
    monkeypatch.setattr(cli, "_make_llm", lambda args: real(args, max_model_len=40))
    long = "The quick brown fox jumps over the lazy dog " * 3
    monkeypatch.setattr("sys.stdin", io.StringIO(f"hi\n{long}\n/reset\nhi\n/exit\n"))
    rc = main(["chat", "--model", str(tiny_model_dirs["qwen3"]), "--device", "cpu",
               "--max-tokens", "4"])
    out = capsys.readouterr().out
    assert rc == 0 and "max_model_len=40" in out and out.count("assistant> ") == 2


def test_bench_records_the_command_it_was_given(tiny_model_dirs, tmp_path) -> None:
    path = tmp_path / "r.json"
    argv = ["bench", "--model", str(tiny_model_dirs["llama"]), "--device", "cpu",
            "--num-prompts", "1", "--input-len", "4", "--output-len", "2", "--repeats", "1",
            "--output-json", str(path)]
    assert main(argv) == 0
    assert json.loads(path.read_text())["command"] == " ".join(["folovllm", *argv])


def test_bench_workloads() -> None:
    from folovllm.benchmarks.workload import Workload

    prompts, lens = Workload(name="nanovllm", num_prompts=50).requests(vocab_size=49152)
    assert all(100 <= len(p) <= 1024 for p in prompts) and all(100 <= n <= 1024 for n in lens)
    assert len({len(p) for p in prompts}) > 10 and max(t for p in prompts for t in p) < 10000
    again, _ = Workload(name="nanovllm", num_prompts=50).requests(vocab_size=49152)
    assert again == prompts  # seeded: every engine and every run sees the same requests
    prompts, lens = Workload(num_prompts=3, input_len=5, output_len=7).requests(vocab_size=100)
    assert [len(p) for p in prompts] == [5, 5, 5] and lens == [7, 7, 7]
    prompts, _ = Workload(name="shared-prefix", num_prompts=4, input_len=6, prefix_len=10
                          ).requests(vocab_size=1000)
    assert [len(p) for p in prompts] == [16] * 4 and len({tuple(p[:10]) for p in prompts}) == 1
    assert len({tuple(p[10:]) for p in prompts}) == 4          # own suffixes
    prompts, _ = Workload(name="long-prompt", num_prompts=9, input_len=6, long_len=50,
                          long_every=4).requests(vocab_size=1000)
    assert [len(p) for p in prompts] == [50, 6, 6, 6, 50, 6, 6, 6, 50]
    with pytest.raises(ValueError, match="long_every=0 is invalid"):
        Workload(name="long-prompt", long_every=0)
    prompts, lens = Workload(num_prompts=200, input_len=100, output_len=10, range_ratio=0.5
                             ).requests(vocab_size=1000)
    assert min(map(len, prompts)) >= 50 and max(map(len, prompts)) <= 150 and len(set(lens)) > 3
    with pytest.raises(ValueError, match="range_ratio=1 is invalid"):
        Workload(range_ratio=1)
    with pytest.raises(ValueError, match="workload='sharegpt' is invalid"):
        Workload(name="sharegpt")


def test_bench_bad_engine_or_too_long_workload_is_an_error(tiny_model_dirs, capsys) -> None:
    model = ["--model", str(tiny_model_dirs["qwen3"]), "--device", "cpu", "--repeats", "1"]
    assert main(["bench", *model, "--engines", "folovllm,bogus"]) == 2
    assert "engine='bogus' is invalid" in capsys.readouterr().err
    # nano-vllm prompts reach 1024 tokens: more than this 256-token model takes
    assert main(["bench", *model, "--workload", "nanovllm", "--num-prompts", "4",
                 "--engines", "folovllm"]) == 2
    assert "max_model_len=256" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["generate", "hi", "--max-tokens", "0"], "max_tokens=0 is invalid: must be in [1, inf]"),
    (["generate", "hi", "--top-p", "1.5"], "top_p=1.5 is invalid: must be in (0.0, 1.0]"),
    (["generate", "hi", "--temperature", "-1"], "temperature=-1.0 is invalid: must be in [0.0, inf]"),
    (["chat", "--stop", ""], "stop=[''] is invalid: stop strings must not be empty"),
    (["generate", "hi", "--dtype", "fp8"], "dtype='fp8' is invalid: must be one of"),
    (["generate", "hi", "--model", "/no/such/dir"],
     "model='/no/such/dir' is invalid: the directory does not exist"),
    (["model-info", "--model", "/"], "model='/' is invalid: no config.json there"),
    (["bench", "--repeats", "0"], "repeats=0 is invalid: must be in [1, inf]"),
    (["bench", "--engines", "folovllm,vllm"], "engine='vllm' is invalid: must be one of"),
    (["bench", "--gpu-memory-utilization", "1.5"],
     "gpu_memory_utilization=1.5 is invalid: must be a number in (0, 1]"),
])
def test_a_bad_argument_fails_before_torch_is_imported(argv, message) -> None:
    """The same one-line message as the Python API, before the seconds of importing torch."""
    run = run_cli_fresh(argv)
    assert run.returncode == 2 and run.out == ""
    assert run.err.startswith(f"error: {message}") and run.err.count("\n") == 0, run.err
    assert run.heavy_imports == []


def test_a_bad_architecture_fails_before_torch_is_imported(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["GPT2LMHeadModel"]}))
    run = run_cli_fresh(["generate", "hi", "--model", str(tmp_path)])
    assert run.returncode == 2 and "architecture ['GPT2LMHeadModel'] is not supported" in run.err
    assert run.heavy_imports == []


@pytest.mark.parametrize("files, message", [
    ({"config.json": "{x"}, "its config.json is not valid JSON (Expecting property name"),
    ({"config.json": "[1, 2]"}, "its config.json is not a JSON object (it holds a list)"),
    ({"config.json": json.dumps({"architectures": ["LlamaForCausalLM"]}),
      "generation_config.json": json.dumps({"eos_token_id": "abc"})},
     "its generation_config.json has eos_token_id='abc'"),
])
def test_a_bad_json_file_fails_before_torch_is_imported(tmp_path: Path, files, message) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    run = run_cli_fresh(["generate", "hi", "--model", str(tmp_path)])
    assert run.returncode == 2 and run.out == "" and run.err.count("\n") == 0, run.err
    assert run.err.startswith(f"error: model={str(tmp_path)!r} is invalid: {message}")
    assert run.heavy_imports == []


def test_generate_shows_progress_and_ends_with_a_speed_line(tiny_model_dirs, capsys) -> None:
    argv = ["generate", "Hello world", "The quick", "--model", str(tiny_model_dirs["llama"]),
            "--device", "cpu", "--max-tokens", "5"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    tokens = sum(int(n) for n in re.findall(r"^### (\d+) tokens", captured.out, re.M))
    assert "Generating" in captured.err and "output tok/s" in captured.err  # the tqdm bar
    last = captured.err.rstrip("\n").rsplit("\n", 1)[-1]
    assert re.fullmatch(rf"2 prompts, {tokens} output tokens in \d+\.\d\d s: \d+\.\d output tok/s",
                        last), last
    assert main([*argv, "--quiet"]) == 0
    quiet = capsys.readouterr()
    assert quiet.err == "" and quiet.out == captured.out


def test_chat_with_piped_input_prints_one_line_per_turn(tiny_model_dirs, monkeypatch,
                                                        capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("hello\n/reset\nagain\n"))
    rc = main(["chat", "--model", str(tiny_model_dirs["qwen3"]), "--device", "cpu",
               "--max-tokens", "4"])
    lines = capsys.readouterr().out.splitlines()
    assert rc == 0
    assert [ln for ln in lines if ln.startswith("you> ")] == ["you> hello", "you> /reset",
                                                              "you> again"]
    assert lines[0] == "you> hello" and lines[1].startswith("assistant> ")
    assert sum(ln.startswith("assistant> ") for ln in lines) == 2
    assert not any("you>" in ln and "assistant>" in ln for ln in lines)


def test_chat_says_when_max_tokens_cut_a_reply(monkeypatch, capsys) -> None:
    """The first answer ends by itself within 16 tokens; the story is cut."""
    monkeypatch.setattr("sys.stdin", io.StringIO(
        "What is the capital of France?\n/reset\nWrite a long story about the sea.\n"))
    assert main(["chat", "--device", "cpu", "--max-tokens", "16"]) == 0
    lines = capsys.readouterr().out.splitlines()
    notice = "[reply cut at --max-tokens 16: raise it for longer replies]"
    assert lines[1] == "assistant> The capital of France is Paris."
    assert lines.count(notice) == 1 and lines[-1] == notice


def test_bench_shows_the_first_pass_against_the_best(tiny_model_dirs, tmp_path, capsys) -> None:
    """A first pass much slower than the best means kernels still compiled during the run."""
    path = tmp_path / "r.json"
    assert main(["bench", "--model", str(tiny_model_dirs["qwen2"]), "--device", "cpu",
                 "--engines", "folovllm", "--num-prompts", "2", "--input-len", "8",
                 "--output-len", "4", "--repeats", "2", "--output-json", str(path)]) == 0
    ours = json.loads(path.read_text())["results"][0]
    assert ours["first_pass_seconds"] >= ours["seconds"] > 0
    assert f"First timed pass of folovllm: {ours['first_pass_seconds']:.2f} s" in \
        capsys.readouterr().out


_TINY = ["--model", str(Path(__file__).resolve().parents[2] / "folovllm/benchmarks/configs/tiny-llama"),
         "--load-format", "dummy", "--device", "cpu", "--repeats", "1"]


def _forbid(monkeypatch, *names: str) -> None:
    """Make each named function or class of ``throughput`` fail the test if it is called."""
    from folovllm.benchmarks import throughput

    def called(*args, **kwargs):
        raise AssertionError("the bench ran something before refusing its arguments")

    for name in names:
        monkeypatch.setattr(throughput, name, called)


@pytest.mark.parametrize("argv, message", [
    (["--num-prompts", "2", "--input-len", "8", "--output-len", "4", "--max-model-len", "10"],
     "max_model_len=10 is invalid: the longest request of workload 'random' (input_len=8, "
     "output_len=4) needs 8 prompt + 4 output = 12 tokens; raise it to at least 12"),
    # ratio 0.5: some request is longer than 8 + 4 (and 12 would hold input_len + output_len)
    (["--num-prompts", "8", "--input-len", "8", "--output-len", "4", "--range-ratio", "0.5",
      "--max-model-len", "12"], "(input_len=8, output_len=4, range_ratio=0.5) needs "),
    # the shared prefix counts: 8 + 4 + 4 tokens, not 4 + 4
    (["--workload", "shared-prefix", "--prefix-len", "8", "--input-len", "4", "--output-len", "4",
      "--max-model-len", "12"], "(input_len=4, output_len=4, prefix_len=8) needs 12 prompt + 4 "
     "output = 16 tokens"),
    (["--workload", "long-prompt", "--long-len", "100", "--input-len", "4", "--output-len", "4",
      "--max-model-len", "64"], "(input_len=4, output_len=4, long_len=100) needs 100 prompt + 4 "
     "output = 104 tokens"),
    # no --max-model-len: the model's own limit (256 positions for tiny-llama)
    (["--workload", "nanovllm", "--num-prompts", "4"],
     "max_model_len=256 is invalid: the model's own limit (none was given), and the longest "
     "request of workload 'nanovllm' (input and output lengths uniform in [100, 1024])"),
])
def test_bench_refuses_a_request_longer_than_max_model_len_before_any_engine(
        argv, message, monkeypatch, capsys) -> None:
    """The engine would stop such a request early: the table would count fewer tokens than the
    header promises. The run is refused before either engine is built."""
    _forbid(monkeypatch, "_OurEngine", "_HFEngine")
    assert main(["bench", *_TINY, *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err, err


def test_bench_a_request_that_just_fits_max_model_len_gets_every_token(tmp_path, capsys) -> None:
    path = tmp_path / "r.json"
    assert main(["bench", *_TINY, "--num-prompts", "2", "--input-len", "8", "--output-len", "4",
                 "--max-model-len", "12", "--output-json", str(path)]) == 0
    results = json.loads(path.read_text())["results"]
    assert [(r["engine"], r["output_tokens"]) for r in results] == [("folovllm", 8),
                                                                   ("transformers", 8)]


def test_workload_lengths_are_those_of_its_requests() -> None:
    """``lengths`` (what the max_model_len check reads) draws the same lengths as ``requests``
    for every workload, without drawing a token."""
    from folovllm.benchmarks.workload import WORKLOADS, Workload

    for name in WORKLOADS:
        w = Workload(name=name, num_prompts=12, input_len=20, output_len=9, range_ratio=0.5,
                     prefix_len=7, long_len=60, long_every=5)
        prompts, out_lens = w.requests(vocab_size=1000)
        assert w.lengths() == ([len(p) for p in prompts], out_lens), name
        assert sum(w.longest_request()) == max(len(p) + n for p, n in zip(prompts, out_lens))


@pytest.mark.parametrize("engines, message", [
    ("", "engines=[] is invalid: name at least one of ['folovllm'"),
    (",", "engines=[] is invalid: name at least one of ['folovllm'"),
    ("folovllm,transformers,folovllm", "engines=['folovllm', 'transformers', 'folovllm'] is "
     "invalid: ['folovllm'] named more than once: each engine runs once"),
])
def test_bench_needs_at_least_one_engine_each_once(engines, message, monkeypatch, capsys) -> None:
    """No engine would print an empty table and exit 0; the results are read by engine name,
    so a repeated engine would run twice and read as one."""
    _forbid(monkeypatch, "run_throughput")
    assert main(["bench", *_TINY, "--engines", engines]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}") and err.count("\n") == 1, err


def test_every_caller_of_the_engines_check_gets_it() -> None:
    from folovllm.benchmarks.throughput import run_throughput
    from folovllm.benchmarks.workload import Workload, check_engines

    with pytest.raises(ValueError, match=r"engines=\[\] is invalid: name at least one"):
        run_throughput({}, Workload(), ())
    with pytest.raises(ValueError, match=r"\['transformers'\] named more than once"):
        check_engines(iter(["transformers", "transformers"]))
    check_engines(["folovllm"])


def test_bench_refuses_an_output_json_it_could_not_write_before_running(tmp_path, monkeypatch,
                                                                         capsys) -> None:
    """The file is written after the whole run: a bad path found then loses the results."""
    _forbid(monkeypatch, "run_throughput")
    (tmp_path / "notes.txt").write_text("")
    for path, message in [
            (tmp_path, f"output_json='{tmp_path}' is invalid: it is a directory; name a file"),
            (tmp_path / "notes.txt" / "r.json", f"{tmp_path / 'notes.txt'} is a file, not a "
             "directory"),
            ("", "output_json='' is invalid: must name a file")]:
        assert main(["bench", *_TINY, "--output-json", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err, err
