#!/usr/bin/env python3
"""Side-by-side benchmark: ferrio vs the Node.js socket.io server vs socketioxide.

Builds (or installs) the three servers of the same contract -- ferrio's
`bench_server` example, bench/node/server.js (socket.io 4.8) and
bench/socketioxide (latest socketioxide, its own Cargo project) -- and two
reference rows, which are not peers: `socketioxide-nodelay` (the same
socketioxide binary with TCP_NODELAY=1: TCP_NODELAY on) and `floor`
(bench/floor, its own Cargo project: a do-nothing epoll server, the kernel's
own cost per message; it sits out the idle scenario). Then, for every
scenario and run, it starts each server afresh pinned to CPU 0 and points
`ferrio bench` at it pinned to CPU 1, reading the server's CPU time and RSS
from /proc. Servers are interleaved within each run (the order rotates from
run to run) so that a slow patch of the machine hits all of them alike; the
medians of the runs go into BENCHMARKS.md at the repository root.

The `cluster` scenario is of another shape: two nodes on one redis-server
(the classic Redis adapter), 500 receivers on each, broadcasts sent from the
first node, for the pairs ferrio+ferrio, node+node and ferrio+node. Both
nodes and redis-server run on CPU 0, the generator on CPU 1. Its table goes
into a section of its own in the same Markdown file, between the markers
`<!-- cluster:begin -->` and `<!-- cluster:end -->`; `--scenarios cluster`
alone replaces just that section and leaves the rest of the file as it is.

    bench/run.py                # full run (~25 minutes on 2 cores), writes BENCHMARKS.md
    bench/run.py --quick        # smoke run (~2-3 minutes), writes target/bench/QUICK.md
    bench/run.py --runs 5 --servers ferrio,node --scenarios echo,idle
    bench/run.py --probe        # max sustainable rates (~10 minutes): a section of BENCHMARKS.md
    bench/run.py --probe --servers ferrio,socketioxide --probes broadcast

`--probe` runs `ferrio bench --probe` (echo with ack, broadcast to 1 000) against
each server afresh, server on CPU 0 and generator on CPU 1, and writes its table
into the "Maximum sustainable rate" section of BENCHMARKS.md, leaving the rest of
the file as it was; a full run keeps that section in turn.
    bench/run.py --scenarios cluster   # only the cluster table (~3 minutes)
    bench/run.py --scenarios polling-echo,binary-echo,msgpack-echo,deflate-broadcast
                                       # only the protocol variants (~6 minutes)

The protocol variants (issue 16) are rows of their own, part of the full run: long-polling
echo, echo with a 64 KiB binary attachment, echo with the msgpack parser, and broadcast with
permessage-deflate. Each runs on ferrio, Node and socketioxide with the same options, the
servers told by the environment (VARIANT_ENV: `PARSER=msgpack`, `PER_MESSAGE_DEFLATE=1`);
socketioxide sits out deflate-broadcast (it has no permessage-deflate), the reference and
recovery rows sit out every variant. Their table is the "Protocol variants" section.

Needs: cargo, node + npm, taskset (util-linux), Linux /proc, 2+ CPUs, and
redis-server for the cluster scenario.
Raw results of every run go to target/bench/results.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import resource
import shlex
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
SOURCES = "127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4"

# name -> (ferrio bench arguments, what the CPU is divided by, title)
FULL = {
    "idle": (["idle", "-c", "10000", "-w", "2", "-d", "5"], None,
             "Idle: 10 000 WebSocket connections held"),
    "echo": (["echo", "-c", "100", "-r", "20000", "-w", "2", "-d", "10"], "message",
             "Echo with ack: 100 connections, 20 000 msg/s"),
    "broadcast-1k": (["broadcast", "-c", "1000", "-r", "30", "-w", "2", "-d", "10"], "delivery",
                     "Broadcast: 1 000 receivers, 30 msg/s"),
    "broadcast-10k": (["broadcast", "-c", "10000", "-r", "3", "-w", "2", "-d", "10"], "delivery",
                      "Broadcast: 10 000 receivers, 3 msg/s"),
    "rooms": (["rooms", "-c", "1000", "--rooms", "10", "-r", "300", "-w", "2", "-d", "10"], "delivery",
              "Rooms: 1 000 sockets in 10 rooms, 300 msg/s"),
}
QUICK = {
    "idle": (["idle", "-c", "1000", "-w", "1", "-d", "1"], None, "Idle: 1 000 connections"),
    "echo": (["echo", "-c", "20", "-r", "2000", "-w", "0.5", "-d", "2"], "message",
             "Echo with ack: 20 connections, 2 000 msg/s"),
    "broadcast-1k": (["broadcast", "-c", "200", "-r", "20", "-w", "0.5", "-d", "2"], "delivery",
                     "Broadcast: 200 receivers, 20 msg/s"),
    "broadcast-10k": (["broadcast", "-c", "1000", "-r", "3", "-w", "0.5", "-d", "2"], "delivery",
                      "Broadcast: 1 000 receivers, 3 msg/s"),
    "rooms": (["rooms", "-c", "200", "--rooms", "10", "-r", "100", "-w", "0.5", "-d", "2"], "delivery",
              "Rooms: 200 sockets in 10 rooms, 100 msg/s"),
}

# The protocol variants of issue 16: the same shape as FULL and QUICK, a section of their own.
# Warm-up 2 s and a 6 s window: the four rows add about 6 minutes to a full run of 3 runs.
VARIANTS_FULL = {
    "polling-echo": (["echo", "--transport", "polling", "-c", "100", "-r", "2000", "-w", "2", "-d", "6"],
                     "message", "Long-polling echo with ack: 100 connections, 2 000 msg/s, no upgrade"),
    "binary-echo": (["echo", "--binary", "65536", "-c", "100", "-r", "200", "-w", "2", "-d", "6"],
                    "message", "Binary echo with ack: a 64 KiB attachment per message, 100 connections, 200 msg/s"),
    "msgpack-echo": (["echo", "--parser", "msgpack", "-c", "100", "-r", "20000", "-w", "2", "-d", "6"],
                     "message", "Echo with ack, msgpack parser: 100 connections, 20 000 msg/s"),
    "deflate-broadcast": (["broadcast", "--deflate", "--payload", "2048", "-c", "1000", "-r", "10",
                           "-w", "2", "-d", "6"],
                          "delivery", "Broadcast with permessage-deflate: 1 000 receivers, 2 KiB text, 10 msg/s"),
}
VARIANTS_QUICK = {
    "polling-echo": (["echo", "--transport", "polling", "-c", "20", "-r", "500", "-w", "0.5", "-d", "2"],
                     "message", "Long-polling echo with ack: 20 connections, 500 msg/s"),
    "binary-echo": (["echo", "--binary", "65536", "-c", "20", "-r", "50", "-w", "0.5", "-d", "2"],
                    "message", "Binary echo with ack: 64 KiB attachments, 20 connections, 50 msg/s"),
    "msgpack-echo": (["echo", "--parser", "msgpack", "-c", "20", "-r", "2000", "-w", "0.5", "-d", "2"],
                     "message", "Echo with ack, msgpack parser: 20 connections, 2 000 msg/s"),
    "deflate-broadcast": (["broadcast", "--deflate", "--payload", "2048", "-c", "200", "-r", "10",
                           "-w", "0.5", "-d", "2"],
                          "delivery", "Broadcast with permessage-deflate: 200 receivers, 2 KiB text, 10 msg/s"),
}
# Environment of every server process of a variant (on top of SERVER_ENV).
# BINARY=1 is socketioxide's alone (ferrio and Node ignore it): its echo handler then takes
# `(Value, Bytes)`, as its documentation recommends for binary; `Data<Value>` would send the
# attachment back as an array of numbers.
VARIANT_ENV = {"binary-echo": {"BINARY": "1"}, "msgpack-echo": {"PARSER": "msgpack"},
               "deflate-broadcast": {"PER_MESSAGE_DEFLATE": "1"}}
# The servers of the variants: the peers and ferrio, with the same options.
VARIANT_SERVERS = ["ferrio", "node", "socketioxide"]
# Servers that cannot take part in a variant, and why (printed under its table).
VARIANT_SITS_OUT = {"deflate-broadcast": {
    "socketioxide": "socketioxide has no permessage-deflate: engineioxide's WebSocket is "
                    "tungstenite's, which does not implement the extension, and it has no option for it"}}
VARIANT_HEADING = "## Protocol variants (issue 16)"

# `--probe`: name -> (ferrio bench arguments, unit of the rate, title). Short steps: a
# 1 s warm-up, a 3 s window and a 1 s drain per rate, so one probe takes a minute or two.
PROBES = {
    "echo": (["echo", "--probe", "-c", "100", "-r", "5000", "-w", "1", "-d", "3", "--drain", "1"],
             "messages/s", "Echo with ack: 100 connections, max messages/s"),
    "broadcast": (["broadcast", "--probe", "-c", "1000", "-r", "20", "-w", "1", "-d", "3", "--drain", "1"],
                  "broadcasts/s", "Broadcast to 1 000 receivers, max broadcasts/s"),
}
PROBE_SERVERS = ["ferrio", "node", "socketioxide"]
PROBE_HEADING = "## Maximum sustainable rate"
RAW_LINE = "Raw reports of every run"
# The cluster scenario: two nodes on one Redis, the receivers spread over both (connection i on
# node i mod 2), the sender (connection 0) on the first node.
CLUSTER_FULL = (["broadcast", "-c", "1000", "-r", "30", "-w", "2", "-d", "10"],
                "Cluster: 2 nodes on one Redis, 500 receivers on each, 30 broadcasts/s sent from the first")
CLUSTER_QUICK = (["broadcast", "-c", "200", "-r", "20", "-w", "0.5", "-d", "2"],
                 "Cluster: 2 nodes on one Redis, 100 receivers on each, 20 broadcasts/s")
# pair -> (first node, second node), each "ferrio" or "node".
CLUSTER_PAIRS = {"ferrio+ferrio": ("ferrio", "ferrio"), "node+node": ("node", "node"),
                 "ferrio+node": ("ferrio", "node")}

SERVERS = ["ferrio", "node", "socketioxide", "socketioxide-nodelay", "floor",
           "ferrio-recovery", "node-recovery"]
# Connection state recovery on (`RECOVERY=1`): the same binaries, compared with themselves
# and with each other in a section of their own (issue 15's goal), not with the peers.
RECOVERY_ROWS = {"ferrio-recovery": "ferrio", "node-recovery": "node"}
# Niceness of the server and the generator (`--nice`): ahead of other work on a shared machine.
NICE = ["nice", "-n", "-10"]
PEERS = ["node", "socketioxide"]
# Reference rows, not peers: ferrio's ratio to them is shown, but no goal is set against them.
REFERENCES = ["floor", "socketioxide-nodelay"]
# Extra environment of a server's process.
SERVER_ENV = {"socketioxide-nodelay": {"TCP_NODELAY": "1"},
              **{row: {"RECOVERY": "1"} for row in RECOVERY_ROWS}}
REFERENCE_ROWS = (
    "**Reference rows.** `floor` and `socketioxide-nodelay` are not peers: no goal is set "
    "against them, and they are there to explain the others' figures. `floor` (bench/floor) is a "
    "single-threaded epoll server that speaks just enough of the protocol for these scenarios "
    "and does nothing else, with ferrio's pattern of syscalls: one `read` per wake-up, one "
    "`writev` per frame, TCP_NODELAY on. Its CPU is the kernel's own work per message — the "
    "wake-up, `epoll_wait`, `read`, `writev`, and the receiving side's TCP processing, which "
    "loopback charges to the sender — and on loopback that is most of every server's cost; "
    "ferrio ÷ floor is how far ferrio stays above it. It sits out the idle scenario, where its "
    "memory would mean nothing. `socketioxide-nodelay` is the socketioxide server with "
    "TCP_NODELAY on (`TCP_NODELAY=1`). Served by `axum::serve`, as socketioxide documents, it "
    "leaves TCP_NODELAY off: Nagle's algorithm then holds its small writes until the client's "
    "next segment acknowledges the previous one, so its answers wait for that segment, and "
    "their transmission, with the client's receive processing, runs in the load generator's CPU "
    "time instead of the server's. With TCP_NODELAY on it answers at once, as ferrio and Node "
    "do, and its CPU figures include that work."
)
PLURAL = {"message": "messages", "delivery": "deliveries"}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run(cmd: list[str], **kw) -> str:
    log("$ " + " ".join(shlex.quote(c) for c in cmd))
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, **kw).stdout


def target_dir() -> Path:
    meta = json.loads(run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT))
    return Path(meta["target_directory"])


def build(servers: list[str], cluster: bool = False, single: bool = True) -> dict[str, list[str]]:
    """Builds what is needed; returns each server's command line (and, for the cluster
    scenario, "ferrio-cluster": the ferrio node on the Redis adapter). `single`: the
    one-server scenarios run too."""
    run(["cargo", "build", "--release", "-p", "ferrio-cli"], cwd=ROOT)
    cmds = {}
    if cluster and "ferrio" in servers:
        run(["cargo", "build", "--release", "-p", "ferrio-cli", "--example", "cluster_bench_server"],
            cwd=ROOT)
        cmds["ferrio-cluster"] = [str(target_dir() / "release" / "examples" / "cluster_bench_server")]
    if not single:  # the cluster scenario alone: Node's server is the only other one it needs
        servers = [s for s in servers if s == "node"]
    if "ferrio" in servers or "ferrio-recovery" in servers:
        run(["cargo", "build", "--release", "-p", "ferrio", "--example", "bench_server"], cwd=ROOT)
        cmds["ferrio"] = [str(target_dir() / "release" / "examples" / "bench_server")]
        cmds["ferrio-recovery"] = cmds["ferrio"]
    if "node" in servers or "node-recovery" in servers:  # also the Node cluster node (REDIS_URL set)
        node = BENCH / "node"
        stamp = node / "node_modules" / ".package-lock.json"
        if not stamp.exists() or stamp.stat().st_mtime < (node / "package-lock.json").stat().st_mtime:
            run(["npm", "ci", "--no-audit", "--no-fund"], cwd=node)
        cmds["node"] = ["node", str(node / "server.js")]
        cmds["node-recovery"] = cmds["node"]
    sxd = [s for s in ("socketioxide", "socketioxide-nodelay") if s in servers]
    if sxd:
        binary = build_project("socketioxide")
        cmds.update((s, [binary]) for s in sxd)
    if "floor" in servers:
        cmds["floor"] = [build_project("floor")]
    return cmds


def build_project(name: str) -> str:
    """Builds bench/NAME, a Cargo project of its own with its own target directory; returns
    the path of its binary, bench-NAME."""
    path = BENCH / name
    env = dict(os.environ, CARGO_TARGET_DIR=str(path / "target"))
    run(["cargo", "build", "--release", "--locked"], cwd=path, env=env)
    return str(path / "target" / "release" / f"bench-{name}")


def takes_part(server: str, per: str | None, name: str = "") -> bool:
    """The floor sits out the idle scenario: its memory per connection means nothing. Only
    VARIANT_SERVERS run the protocol variants, less those VARIANT_SITS_OUT names."""
    if name in VARIANTS_FULL:
        return server in VARIANT_SERVERS and server not in VARIANT_SITS_OUT.get(name, {})
    return per is not None or server != "floor"


def free_port() -> int:
    """A free port below the ephemeral range, which the generator's sockets use."""
    while True:
        port = random.randint(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue


def wait_listening(port: int, proc: subprocess.Popen, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = (proc.stderr.read() if proc.stderr else "").strip().splitlines()[-5:]
            raise RuntimeError(f"server exited with {proc.returncode}: " + " / ".join(err))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server not listening on {port} after {timeout} s")


def cpu_busy_ticks() -> dict[str, int]:
    """Clock ticks CPU 0 and CPU 1 spent running processes since boot (/proc/stat: user,
    nice and system; interrupts are left out, as loopback traffic is handled there)."""
    busy = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *fields = line.split()
        if name in ("cpu0", "cpu1"):
            busy[name] = sum(int(f) for f in fields[:3])
    return busy


def process_ticks(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rfind(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def measure(server_cmd: list[str], bench: Path, args: list[str], server_env: dict[str, str],
            timeout: float = 300) -> dict:
    """One server process, one `ferrio bench` run against it.

    Also measures how busy CPU 0 and CPU 1 were with *other* work while it ran
    (their busy time less the server's and the generator's), in percent: the
    `other_load` field of the report.
    """
    port = free_port()
    env = dict(os.environ, PORT=str(port), RUST_LOG="warn", **server_env)
    server = subprocess.Popen([*NICE, "taskset", "-c", "0", *server_cmd], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_listening(port, server)
        time.sleep(0.3)  # let the server settle before the RSS baseline
        cmd = [*NICE, "taskset", "-c", "1", str(bench), "bench", *args, "--url", f"http://127.0.0.1:{port}",
               "--pid", str(server.pid), "--source-addrs", SOURCES, "--json", "--quiet"]
        busy0, server0 = cpu_busy_ticks(), process_ticks(server.pid)
        gen0, wall0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
        out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, timeout=timeout).stdout
        busy1, server1 = cpu_busy_ticks(), process_ticks(server.pid)
        gen1, wall = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic() - wall0
        report = json.loads(out)
        hz = os.sysconf("SC_CLK_TCK")
        gen_s = (gen1.ru_utime + gen1.ru_stime) - (gen0.ru_utime + gen0.ru_stime)
        other0 = (busy1["cpu0"] - busy0["cpu0"] - (server1 - server0)) / hz
        other1 = (busy1["cpu1"] - busy0["cpu1"]) / hz - gen_s
        report["other_load"] = {"cpu0_pct": round(max(0.0, other0) / wall * 100, 1),
                                "cpu1_pct": round(max(0.0, other1) / wall * 100, 1)}
        return report
    finally:
        server.terminate()
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def task_ns(pid: int) -> int:
    """Nanoseconds on a CPU of every thread of a process (/proc/PID/task/*/schedstat): finer
    than the clock ticks of /proc/PID/stat, for a process as lightly loaded as redis-server."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that just exited
    return total


def start_pinned(cmd: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([*NICE, "taskset", "-c", "0", *cmd], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def measure_cluster(pair: tuple[str, str], cmds: dict[str, list[str]], bench: Path,
                    args: list[str]) -> dict:
    """A redis-server and two nodes on it, all on CPU 0; `ferrio bench` on CPU 1 with the
    receivers spread over both nodes and the sender on the first.

    The generator reads both nodes' CPU time over its measured window (`--pid A,B`).
    redis-server's is read here over the whole generator run (connecting, warm-up, window,
    drain) and divided by the deliveries scheduled in the warm-up and the window: while the
    connections open it has nothing to do (a socket's own room stays on its node).
    """
    procs = []
    try:
        redis_port = free_port()
        redis = start_pinned(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no"], dict(os.environ))
        procs.append(redis)
        wait_listening(redis_port, redis)
        ports, nodes = [], []
        for kind in pair:
            port = free_port()
            env = dict(os.environ, PORT=str(port), RUST_LOG="warn",
                       REDIS_URL=f"redis://127.0.0.1:{redis_port}")
            node = start_pinned(cmds["ferrio-cluster" if kind == "ferrio" else "node"], env)
            procs.append(node)
            wait_listening(port, node)
            ports.append(port)
            nodes.append(node)
        time.sleep(0.5)  # subscribed, settled
        urls = ",".join(f"http://127.0.0.1:{p}" for p in ports)
        pids = ",".join(str(n.pid) for n in nodes)
        cmd = [*NICE, "taskset", "-c", "1", str(bench), "bench", *args, "--url", urls,
               "--pid", pids, "--source-addrs", SOURCES, "--json", "--quiet"]
        busy0 = cpu_busy_ticks()
        servers0 = sum(process_ticks(p.pid) for p in procs)
        redis0 = task_ns(redis.pid)
        gen0, wall0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
        out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, timeout=300).stdout
        busy1 = cpu_busy_ticks()
        servers1 = sum(process_ticks(p.pid) for p in procs)
        redis1 = task_ns(redis.pid)
        gen1, wall = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic() - wall0
        report = json.loads(out)
        hz = os.sysconf("SC_CLK_TCK")
        gen_s = (gen1.ru_utime + gen1.ru_stime) - (gen0.ru_utime + gen0.ru_stime)
        other0 = (busy1["cpu0"] - busy0["cpu0"] - (servers1 - servers0)) / hz
        other1 = (busy1["cpu1"] - busy0["cpu1"]) / hz - gen_s
        report["other_load"] = {"cpu0_pct": round(max(0.0, other0) / wall * 100, 1),
                                "cpu1_pct": round(max(0.0, other1) / wall * 100, 1)}
        msgs = report.get("messages") or {}
        scheduled = msgs.get("expected", 0) * (msgs.get("warmup_s", 0) + msgs.get("duration_s", 0)) \
            / max(msgs.get("duration_s", 0), 1e-9)
        report["redis"] = {"cpu_us": (redis1 - redis0) / 1000,
                           "cpu_us_per_delivery": (redis1 - redis0) / 1000 / scheduled if scheduled else None}
        return report
    finally:
        for proc in reversed(procs):
            stop(proc)


def cluster_metrics(report: dict) -> tuple[float | None, float | None, float | None]:
    """Server CPU µs per 1 000 deliveries: both nodes, redis-server, and the sum."""
    nodes = (report.get("server") or {}).get("cpu_us_per_delivery")
    redis = (report.get("redis") or {}).get("cpu_us_per_delivery")
    nodes = None if nodes is None else nodes * 1000
    redis = None if redis is None else redis * 1000
    total = None if nodes is None or redis is None else nodes + redis
    return nodes, redis, total


def cluster_section(results: dict, title: str, args: list[str]) -> list[str]:
    """The cluster table, with its markers, from results["cluster"] (pair -> runs)."""
    runs_by_pair = results.get("cluster", {})
    receivers = args[args.index("-c") + 1] if "-c" in args else "?"
    L = ["<!-- cluster:begin -->", "## Cluster (issue 14)", "", f"### {title}", "",
         f"`ferrio bench {' '.join(args)} --url NODE1,NODE2 --pid NODE1_PID,NODE2_PID`", "",
         "Two nodes on one `redis-server` (the classic Redis adapter: ferrio's `ferrio-redis`, "
         "crates/cli/examples/cluster_bench_server.rs; Node's `@socket.io/redis-adapter` 8.3 on "
         "ioredis, bench/node/server.js with `REDIS_URL`), both nodes and redis-server on CPU 0, "
         "the generator on CPU 1. Receiver i connects to node i mod 2; the sender (receiver 0) "
         "is on the first node, so every broadcast goes to the first node's receivers directly "
         "and to the second's through Redis. *Nodes* is both nodes' CPU time over the measured "
         "window (from `/proc/PID/stat`), *Redis* is redis-server's over the whole generator run "
         "(`/proc/PID/task/*/schedstat`) divided by the deliveries scheduled in the warm-up and "
         f"the window; both per 1 000 deliveries (one per receiver: {receivers} per broadcast here). "
         "Latency and loss as above, over both nodes' receivers.", "",
         "| nodes | runs | nodes CPU µs / 1 000 deliveries | Redis CPU µs / 1 000 deliveries "
         "| total | p50 | p99 | lost / expected | failed conns | other load CPU 0 / 1 |",
         "|---|---|---|---|---|---|---|---|---|---|"]
    summary = {}
    for pair in CLUSTER_PAIRS:
        runs = runs_by_pair.get(pair, [])
        if not runs:
            continue
        metrics = [cluster_metrics(r) for r in runs]
        msgs = [r.get("messages") or {} for r in runs]
        t = {"nodes": median([m[0] for m in metrics]), "redis": median([m[1] for m in metrics]),
             "total": median([m[2] for m in metrics]),
             "p50": median([m["latency"]["p50_us"] / 1000 for m in msgs if m]),
             "p99": median([m["latency"]["p99_us"] / 1000 for m in msgs if m]),
             "lost": sum(m.get("lost", 0) for m in msgs),
             "expected": sum(m.get("expected", 0) for m in msgs),
             "failed": sum(r["connect"]["failed"] + r["disconnects"] for r in runs),
             "other0": median([r.get("other_load", {}).get("cpu0_pct") for r in runs]),
             "other1": median([r.get("other_load", {}).get("cpu1_pct") for r in runs])}
        summary[pair] = t
        lat = lambda x: "–" if x is None else f"{x:.2f} ms"
        L.append(f"| {pair} | {len(runs)} | {fmt(t['nodes'])} | {fmt(t['redis'])} | {fmt(t['total'])} "
                 f"| {lat(t['p50'])} | {lat(t['p99'])} | {t['lost']} / {t['expected']} | {t['failed']} "
                 f"| {other(t['other0'])} / {other(t['other1'])} |")
    ours, theirs = summary.get("ferrio+ferrio"), summary.get("node+node")
    if ours and theirs:
        v = None if ours["total"] is None or not theirs["total"] else ours["total"] / theirs["total"]
        L += ["", f"ferrio+ferrio ÷ node+node: CPU (nodes + Redis) {ratio(ours['total'], theirs['total'])}, "
                  f"nodes only {ratio(ours['nodes'], theirs['nodes'])}, "
                  f"p99 {ratio(ours['p99'], theirs['p99'])}.", "",
              "| goal (issue 14) | measured | met |", "|---|---|---|",
              f"| cluster: CPU (both nodes + Redis) ≤ 0.6× Node+Node's | {ratio_text(v)} "
              f"| {'yes' if v is not None and v <= 0.6 else '**no**'} |",
              f"| cluster: nothing lost | {ours['lost']} | {'yes' if ours['lost'] == 0 else '**no**'} |"]
    L.append("<!-- cluster:end -->")
    return L


def write_cluster(path: Path, results: dict, title: str, args: list[str], info: dict) -> None:
    """Puts the cluster section into `path`: in place of the one between the markers, or at the
    end; a file that does not exist yet gets a heading and the run's details first."""
    section = cluster_section(results, title, args)
    section[3:3] = [f"Made by `{info['command']}` on {info['date']}; load average before / after: "
                    f"{info['load_before']} / {info['load_after']}"
                    + (f" — {info['note']}" if info["note"] else "") + ".", ""]
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    begin, end = "<!-- cluster:begin -->", "<!-- cluster:end -->"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1]
        text = head + "\n".join(section) + tail
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(section) + "\n"
    path.write_text(text)


def busy(report: dict) -> float:
    """The larger share of CPU 0 or CPU 1 that other work took during a measurement."""
    load = report.get("other_load") or {}
    return max(load.get("cpu0_pct", 0.0), load.get("cpu1_pct", 0.0))


def metric(report: dict, per: str | None) -> float | None:
    """The headline number: server CPU µs per 1 000 messages/deliveries, or RSS bytes per connection."""
    s = report.get("server") or {}
    if per is None:
        return s.get("rss_per_connection_bytes")
    v = s.get(f"cpu_us_per_{per}")
    return None if v is None else v * 1000


def machine() -> dict:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = int(next(l for l in Path("/proc/meminfo").read_text().splitlines()
                       if l.startswith("MemTotal")).split()[1])
    return {"nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
            "memory_gib": round(mem_kib / 2**20, 1)}


def versions() -> dict:
    def out(cmd, cwd=ROOT):
        try:
            return subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  text=True).stdout.strip()
        except OSError:
            return "?"
    sxd = "?"
    lock = (BENCH / "socketioxide" / "Cargo.lock").read_text().split("[[package]]")
    for pkg in lock:
        if 'name = "socketioxide"\n' in pkg:
            sxd = pkg.split('version = "')[1].split('"')[0]
    sio_package = BENCH / "node" / "node_modules" / "socket.io" / "package.json"
    # Not installed when Node is not measured (`--servers` without it).
    sio = json.loads(sio_package.read_text())["version"] if sio_package.exists() else "?"

    commit = out(["git", "rev-parse", "--short", "HEAD"])
    dirty = " + uncommitted changes" if out(["git", "status", "--porcelain", "--", "crates"]) else ""
    return {"ferrio": f"{commit}{dirty}", "rustc": out(["rustc", "--version"]),
            "node": out(["node", "--version"]), "socket.io": sio, "socketioxide": sxd}


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def fmt(v: float | None, digits: int = 0) -> str:
    return "–" if v is None else f"{v:,.{digits}f}".replace(",", " ")


def other(pct: float | None) -> str:
    return "–" if pct is None else f"{pct:.0f} %"


def median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(results: dict, scenarios: dict, servers: list[str]) -> dict:
    """Per scenario and server: medians of the headline metric and latencies, loss totals."""
    table = {}
    for name, (_, per, _) in scenarios.items():
        table[name] = {}
        for srv in servers:
            runs = results.get(name, {}).get(srv, [])
            msgs = [r.get("messages") or {} for r in runs]
            table[name][srv] = {
                "runs": len(runs),
                "metric": median([metric(r, per) for r in runs]),
                "p50_ms": median([m["latency"]["p50_us"] / 1000 for m in msgs if m]),
                "p99_ms": median([m["latency"]["p99_us"] / 1000 for m in msgs if m]),
                "lost": sum(m.get("lost", 0) for m in msgs),
                "expected": sum(m.get("expected", 0) for m in msgs),
                "failed": sum(r["connect"]["failed"] + r["disconnects"] for r in runs),
                "rss_kib": median([(r.get("server") or {}).get("rss_per_connection_bytes", 0) / 1024
                                   for r in runs]),
                "lag_p99_ms": median([m["send_lag"]["p99_us"] / 1000 for m in msgs if m]),
                "other0": median([r.get("other_load", {}).get("cpu0_pct") for r in runs]),
                "other1": median([r.get("other_load", {}).get("cpu1_pct") for r in runs]),
                "inflated": median([r.get("inflated") for r in runs]),
                "binary_mismatch": sum(r.get("binary_mismatch", 0) for r in runs),
            }
    return table


def ratio(a: float | None, b: float | None) -> str:
    return "–" if a is None or not b else f"{a / b:.2f}×"


def write_markdown(path: Path, table: dict, scenarios: dict, servers: list[str], info: dict) -> None:
    variants = {k: v for k, v in scenarios.items() if k in VARIANTS_FULL}
    scenarios = {k: v for k, v in scenarios.items() if k not in VARIANTS_FULL}
    peers = [p for p in PEERS if p in servers and "ferrio" in servers]
    refs = [r for r in REFERENCES if r in servers and "ferrio" in servers]
    L = []
    L.append("# Benchmarks" if not info["quick"] else "# Benchmarks (quick smoke run, small numbers)")
    L.append("")
    L.append("ferrio's `bench_server` example against the Node.js `socket.io` server and "
             "`socketioxide`, all obeying the same contract with default options, measured by "
             "`ferrio bench` (one thread, open-loop, raw Engine.IO/Socket.IO frames over WebSocket). "
             "Made by:")
    L.append("")
    L.append("```text")
    L.append(info["command"])
    L.append("```")
    L.append("")
    m, v = info["machine"], info["versions"]
    L.append(f"- **Date**: {info['date']} (took {info['minutes']:.1f} min, {info['runs']} interleaved "
             f"run(s) per scenario and server; figures are medians)")
    L.append(f"- **Machine**: {m['nproc']} CPUs, {m['cpu']}, {m['memory_gib']} GiB, Linux {m['kernel']}; "
             "server on CPU 0 (`taskset -c 0`), load generator on CPU 1, loopback"
             + (f"; both at niceness {info['nice']}" if info["nice"] else ""))
    L.append(f"- **Load average** before / after: {info['load_before']} / {info['load_after']}"
             f"{' — ' + info['note'] if info['note'] else ''}")
    L.append(f"- **Versions**: ferrio {v['ferrio']} ({v['rustc']}, release profile); "
             f"Node.js {v['node']} with socket.io {v['socket.io']}; socketioxide {v['socketioxide']} "
             "(axum 0.8, bench/socketioxide/Cargo.lock)")
    L.append("")
    L.append("Server CPU is user + system time from `/proc/PID/stat` over the measured window "
             "(after the warm-up, until the last delivery or the drain timeout), divided by the "
             "messages (echo) or deliveries (broadcast, rooms: one per recipient) scheduled in it. "
             "RSS per connection is (VmRSS with the connections open − VmRSS before the first) / "
             "connections. Latency runs from each message's *scheduled* send time to its arrival "
             "(ack, or delivery to each recipient), so a stall counts in full. Lost = expected − "
             "received, summed over the runs. Ratios are ferrio ÷ the other server: below 1 is "
             "ferrio ahead. *Generator lag* is how late `ferrio bench` wrote its messages against the schedule "
             "(large: the generator, not the server, fell behind). *Other load* is how busy CPU 0 "
             "and CPU 1 were with anything but the server and the generator during the run "
             "(from /proc/stat): other work on CPU 0 competes with the server and inflates its "
             "latency and, by batching more per wake-up, can even lower its CPU per message. A "
             f"measurement disturbed by more than {info['max_other_load']:.0f} % is taken again "
             f"(up to {info['attempts']} attempts; the least disturbed one is kept).")
    L.append("")
    if any(r in servers for r in REFERENCES):
        L.append(REFERENCE_ROWS)
        L.append("")
    # Summary.
    L.append("## Summary")
    L.append("")
    if not scenarios:
        L.append("(No scenario of this section was run.)")
        L.append("")
    head = ["scenario", "unit"] + servers + [f"ferrio ÷ {p}" for p in peers + refs]
    L.append("| " + " | ".join(head) + " |")
    L.append("|" + "---|" * len(head))
    for name, (_, per, title) in scenarios.items():
        unit = "RSS bytes / idle connection" if per is None else f"server CPU µs / 1 000 {PLURAL[per]}"
        row = [title, unit] + [fmt(table[name][s]["metric"]) for s in servers]
        row += [ratio(table[name]["ferrio"]["metric"], table[name][p]["metric"]) for p in peers]
        row += [ratio(table[name]["ferrio"]["metric"], table[name][r]["metric"]) if per else "–"
                for r in refs]
        L.append("| " + " | ".join(row) + " |")
    L.append("")
    # Details.
    L.append("## Per scenario")
    for name, (args, per, title) in scenarios.items():
        L.append("")
        L.append(f"### {title}")
        L.append("")
        L.append(f"`ferrio bench {' '.join(args)}`")
        L.append("")
        cols = ["server", "runs", "CPU µs / 1 000 " + PLURAL[per] if per else "CPU",
                "RSS growth / connection", "p50", "p99", "lost / expected", "failed conns",
                "generator lag p99", "other load CPU 0 / 1"]
        L.append("| " + " | ".join(cols) + " |")
        L.append("|" + "---|" * len(cols))
        for s in servers:
            if not takes_part(s, per):
                continue
            t = table[name][s]
            cpu = fmt(t["metric"]) if per else "–"
            rss = f"{t['rss_kib']:.2f} KiB" if t["rss_kib"] is not None else "–"
            lat = lambda x: "–" if x is None else f"{x:.2f} ms"
            lost = f"{t['lost']} / {t['expected']}" if per else "–"
            L.append(f"| {s} | {t['runs']} | {cpu} | {rss} | {lat(t['p50_ms'])} | {lat(t['p99_ms'])} "
                     f"| {lost} | {t['failed']} | {lat(t['lag_p99_ms'])} "
                     f"| {other(t['other0'])} / {other(t['other1'])} |")
        if peers:
            parts = []
            for p in peers:
                parts.append(f"vs {p}: {'CPU' if per else 'RSS'} {ratio(table[name]['ferrio']['metric'], table[name][p]['metric'])}"
                             + (f", p99 {ratio(table[name]['ferrio']['p99_ms'], table[name][p]['p99_ms'])}" if per else ""))
            L.append("")
            L.append("ferrio " + "; ".join(parts) + ".")
        if refs and per:
            ours = table[name]["ferrio"]
            parts = [f"ferrio ÷ {r}: CPU {ratio(ours['metric'], table[name][r]['metric'])}, "
                     f"p99 {ratio(ours['p99_ms'], table[name][r]['p99_ms'])}" for r in refs]
            L.append("")
            L.append("Reference rows: " + "; ".join(parts) + ".")
    L.extend(recovery_lines(table, scenarios, servers))
    L.extend(variant_lines(table, variants, servers, info))
    goals = goal_lines(table, servers) if not info["quick"] else []
    if goals:
        L.append("")
        L.append("## Against the goals of issue 5")
        L.append("")
        if "floor" in servers:
            L.append("*The floor's own ratio* is what `floor` (the do-nothing server above) gets "
                     "against the same peer in the same run: a CPU goal that even the floor misses "
                     "is out of reach for any server that answers each message at once.")
            L.append("")
        L.append("| goal | measured | the floor's own ratio | met |")
        L.append("|---|---|---|---|")
        L.extend(goals)
    L.append("")
    L.append("Raw reports of every run (`ferrio bench --json`): `target/bench/results.json` "
             "after a run.")
    text = "\n".join(L) + "\n"
    kept = probe_section(path.read_text()) if path.exists() else None
    path.write_text(splice_probe_section(text, kept) if kept else text)


def variant_lines(table: dict, variants: dict, servers: list[str], info: dict) -> list[str]:
    """The "Protocol variants" section: ferrio, Node and socketioxide with the same options
    (issue 16: ferrio at most 0.6× Node's CPU in each, nothing lost)."""
    if not variants:
        return []
    srvs = [s for s in VARIANT_SERVERS if s in servers]
    peers = [p for p in PEERS if p in srvs and "ferrio" in srvs]
    lat = lambda x: "–" if x is None else f"{x:.2f} ms"
    L = ["", VARIANT_HEADING, "",
         "The same contract with other protocol options, each server started with the same ones "
         "(`bench_server`, bench/node/server.js and bench/socketioxide read them from the "
         "environment): *long-polling* (`--transport polling`: HTTP long-polling only, never "
         "upgraded, a GET always outstanding per connection and POSTs for what it sends, each on "
         "a keep-alive connection of its own; the servers need nothing); *binary* (`--binary "
         "65536`: one 64 KiB attachment per message, which the ack must bring back whole or the "
         "delivery does not count; socketioxide's echo handler takes `(Value, Bytes)` with "
         "`BINARY=1`, as its documentation recommends for binary: with `Data<Value>` the "
         "attachment would come back as an array of numbers); *msgpack* (`--parser msgpack`, servers with `PARSER=msgpack`: "
         "ferrio's `Parser::MsgPack`, Node's `socket.io-msgpack-parser` 3.0.2, socketioxide's "
         "`ParserConfig::msgpack()`); *deflate* (`--deflate`, servers with "
         "`PER_MESSAGE_DEFLATE=1`: ferrio's `EngineConfig::per_message_deflate` with "
         "`DeflateConfig::default()`, Node's `perMessageDeflate: { threshold: 1024 }`; the 2 KiB "
         "payload is over the threshold, so every delivery is compressed, and the generator "
         "inflates it). CPU and latency are measured as above.", ""]
    head = ["variant", "unit"] + srvs + [f"ferrio ÷ {p}" for p in peers]
    L.append("| " + " | ".join(head) + " |")
    L.append("|" + "---|" * len(head))
    for name, (_, per, title) in variants.items():
        row = [title, f"server CPU µs / 1 000 {PLURAL[per]}"]
        row += [fmt(table[name][s]["metric"]) if takes_part(s, per, name) else "sits out" for s in srvs]
        row += [ratio(table[name]["ferrio"]["metric"], table[name][p]["metric"])
                if takes_part(p, per, name) else "–" for p in peers]
        L.append("| " + " | ".join(row) + " |")
    for name, (args, per, title) in variants.items():
        L += ["", f"### {title}", "", f"`ferrio bench {' '.join(args)}`"
              + (f" — servers with `{' '.join(f'{k}={v}' for k, v in VARIANT_ENV[name].items())}`"
                 if name in VARIANT_ENV else ""), ""]
        cols = ["server", "runs", f"CPU µs / 1 000 {PLURAL[per]}", "p50", "p99", "lost / expected",
                "attachments not back whole", "messages inflated", "failed conns",
                "generator lag p99", "other load CPU 0 / 1"]
        L.append("| " + " | ".join(cols) + " |")
        L.append("|" + "---|" * len(cols))
        for s in srvs:
            if not takes_part(s, per, name):
                continue
            t = table[name][s]
            L.append(f"| {s} | {t['runs']} | {fmt(t['metric'])} | {lat(t['p50_ms'])} | {lat(t['p99_ms'])} "
                     f"| {t['lost']} / {t['expected']} | {t['binary_mismatch']} | {fmt(t['inflated'])} "
                     f"| {t['failed']} | {lat(t['lag_p99_ms'])} | {other(t['other0'])} / {other(t['other1'])} |")
        for s, why in VARIANT_SITS_OUT.get(name, {}).items():
            if s in servers:
                L += ["", f"{s} sits out: {why}."]
        if peers:
            parts = [f"vs {p}: CPU {ratio(table[name]['ferrio']['metric'], table[name][p]['metric'])}, "
                     f"p99 {ratio(table[name]['ferrio']['p99_ms'], table[name][p]['p99_ms'])}"
                     for p in peers if takes_part(p, per, name)]
            if parts:
                L += ["", "ferrio " + "; ".join(parts) + "."]
    if "ferrio" in srvs and "node" in srvs and not info["quick"]:
        L += ["", "| goal (issue 16) | measured | met |", "|---|---|---|"]
        for name, (_, per, _) in variants.items():
            ours, node = table[name]["ferrio"], table[name]["node"]
            v = None if ours["metric"] is None or not node["metric"] else ours["metric"] / node["metric"]
            L.append(f"| {name}: CPU per {per} ≤ 0.6× Node's | {ratio_text(v)} "
                     f"| {'yes' if v is not None and v <= 0.6 else '**no**'} |")
            lost = ours["lost"] + ours["binary_mismatch"]
            L.append(f"| {name}: nothing lost | {lost} | {'yes' if lost == 0 and ours['runs'] else '**no**'} |")
    return L


def recovery_lines(table: dict, scenarios: dict, servers: list[str]) -> list[str]:
    """The cost of connection state recovery: each server with it on against itself with it
    off, and ferrio against Node with it on in both (issue 15: at most +15 % CPU over off,
    at most 0.6× Node's CPU)."""
    rows = [r for r, base in RECOVERY_ROWS.items() if r in servers and base in servers]
    if not rows:
        return []
    both = "ferrio-recovery" in servers and "node-recovery" in servers
    L = ["", "## Connection state recovery on", "",
         "The same servers with `connectionStateRecovery` on (`RECOVERY=1`: ferrio's "
         "`RecoveryConfig::default()`, Node's `connectionStateRecovery: {}`), against themselves "
         "with it off. Recovery logs every broadcast packet and stamps it with an offset; "
         "acknowledged echoes are not logged (as in Node).", ""]
    head = ["scenario"] + [f"{r} ÷ {RECOVERY_ROWS[r]}" for r in rows]
    head += ["ferrio-recovery ÷ node-recovery"] if both else []
    L.append("| " + " | ".join(head) + " |")
    L.append("|" + "---|" * len(head))
    for name, (_, per, title) in scenarios.items():
        row = [title] + [ratio(table[name][r]["metric"], table[name][RECOVERY_ROWS[r]]["metric"])
                         for r in rows]
        if both:
            row.append(ratio(table[name]["ferrio-recovery"]["metric"],
                             table[name]["node-recovery"]["metric"]))
        L.append("| " + " | ".join(row) + " |")
    return L


def probe_section(text: str) -> str | None:
    """The "Maximum sustainable rate" section of a BENCHMARKS.md, heading included."""
    lines = text.splitlines()
    if PROBE_HEADING not in lines:
        return None
    start = lines.index(PROBE_HEADING)
    end = next((i for i in range(start + 1, len(lines))
                if lines[i].startswith("## ") or lines[i].startswith(RAW_LINE)), len(lines))
    return "\n".join(lines[start:end]).rstrip() + "\n"


def splice_probe_section(text: str, section: str) -> str:
    """`text` with its probe section replaced by `section`, or `section` put before the
    closing "Raw reports" line (at the end if there is none)."""
    old = probe_section(text)
    if old is not None:
        return text.replace(old, section, 1)
    lines = text.rstrip("\n").splitlines()
    at = next((i for i, l in enumerate(lines) if l.startswith(RAW_LINE)), len(lines))
    new = lines[:at] + section.rstrip("\n").splitlines() + [""] + lines[at:]
    return "\n".join(new) + "\n"


def run_probes(opts, servers: list[str], probes: dict) -> None:
    """`--probe`: every probe against every server, one fresh server process each; writes
    target/bench/probe.json and the probe section of the output file."""
    cmds = build(servers)
    bench = target_dir() / "release" / "ferrio"
    started = time.monotonic()
    info = {"machine": machine(), "versions": versions(), "load_before": loadavg(),
            "note": opts.note, "nice": NICE[2] if NICE else 0,
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": "bench/run.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])}
    results: dict = {}
    for name, (args, _, _) in probes.items():
        for srv in servers:
            log(f"probe {name} on {srv}")
            try:
                rep = measure(cmds[srv], bench, args, SERVER_ENV.get(srv, {}), timeout=1200)
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired, RuntimeError) as e:
                log(f"  failed: {e}")
                continue
            results.setdefault(name, {})[srv] = rep
            p = rep.get("probe") or {}
            log(f"  max {p.get('max_rate')}/s, limit {p.get('limit')}")
    info["load_after"] = loadavg()
    info["minutes"] = (time.monotonic() - started) / 60
    raw = target_dir() / "bench" / "probe.json"
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(json.dumps({"info": info, "results": results}, indent=1))
    write_probe_section(opts.out or ROOT / "BENCHMARKS.md", results, probes, servers, info)
    log(f"wrote {raw}")


def write_probe_section(path: Path, results: dict, probes: dict, servers: list[str], info: dict) -> None:
    peers = [p for p in PEERS if p in servers and "ferrio" in servers]
    L = [PROBE_HEADING, ""]
    L.append("The highest rate each server sustains, found by `ferrio bench --probe`: it starts "
             "low and steps up ×1.5 while every step passes, then bisects to 5 %. A step is a "
             "1 s warm-up, a 3 s measured window and a 1 s drain on the same connections; it "
             "passes when its p99 latency is at most 50 ms, nothing is lost and at least 95 % of "
             "the offered deliveries per second arrive. The generator paces without a busy-wait "
             "here, so its CPU time is its work. A step that fails while other processes took more "
             "than 15 % of a core is measured again (up to 3 times). *Limit* is the core that was full (≥ 90 %) at "
             "the lowest failing rate: the server's (CPU 0) or the generator's (CPU 1, one "
             "process); when it is the generator's, the server's true maximum is higher than "
             "shown. *Other* is what every other process used meanwhile, in % of one core: "
             "when it is large, the step failed on the machine's load, not on the server. Made by:")
    L.append("")
    L.append("```text")
    L.append(info["command"])
    L.append("```")
    L.append("")
    v = info["versions"]
    L.append(f"- **Date**: {info['date']} (took {info['minutes']:.1f} min); load average before / "
             f"after: {info['load_before']} / {info['load_after']}"
             f"{' — ' + info['note'] if info['note'] else ''}")
    L.append(f"- **Versions**: ferrio {v['ferrio']}; Node.js {v['node']} with socket.io "
             f"{v['socket.io']}; socketioxide {v['socketioxide']}")
    L.append("")

    def probe(name: str, srv: str) -> dict:
        return (results.get(name, {}).get(srv) or {}).get("probe") or {}

    def cell(name: str, srv: str) -> str:
        p = probe(name, srv)
        if not p:
            return "–"
        rate = p.get("max_rate")
        shown = "none" if rate is None else fmt(rate)
        limit = {"server": "server", "generator": "generator", "neither": "neither",
                 "unknown": "?"}.get(p.get("limit"), "?")
        return f"{shown} ({limit})"

    head = ["probe"] + servers + [f"ferrio ÷ {p}" for p in peers]
    L.append("| " + " | ".join(head) + " |")
    L.append("|" + "---|" * len(head))
    for name, (_, unit, title) in probes.items():
        if name not in results:
            continue
        row = [title] + [cell(name, s) for s in servers]
        row += [ratio(probe(name, "ferrio").get("max_rate"), probe(name, p).get("max_rate"))
                for p in peers]
        L.append("| " + " | ".join(row) + " |")
    L.append("")
    L.append("At the highest passing rate and at the lowest failing one:")
    L.append("")
    cols = ["probe", "server", "max rate", "deliveries/s there", "p99 there", "server CPU there",
            "lowest failing rate", "failed on", "server / generator / other CPU there", "limit"]
    L.append("| " + " | ".join(cols) + " |")
    L.append("|" + "---|" * len(cols))
    for name, (_, unit, _) in probes.items():
        for srv in servers:
            p = probe(name, srv)
            if not p:
                continue
            steps = p.get("steps") or []
            at = lambda rate: next((st for st in steps if st["rate"] == rate), None)
            ok, bad = at(p.get("max_rate")), at(p.get("lowest_failing_rate"))
            pct = lambda v: "–" if v is None else f"{v:.0f} %"
            L.append("| " + " | ".join([
                name, srv,
                "–" if ok is None else f"{fmt(ok['rate'])} {unit}",
                "–" if ok is None else fmt(ok["delivered_per_s"]),
                "–" if ok is None else f"{ok['p99_ms']:.2f} ms",
                "–" if ok is None else pct(ok["server_cpu_pct"]),
                "–" if bad is None else f"{fmt(bad['rate'])} {unit}",
                "–" if bad is None else bad["failed"],
                "–" if bad is None else (f"{pct(bad['server_cpu_pct'])} / {pct(bad['generator_cpu_pct'])}"
                                         f" / {pct(bad.get('other_cpu_pct'))}"),
                p.get("limit", "?") + (f" ({p['stopped']})" if p.get("stopped") else ""),
            ]) + " |")
    L.append("")
    section = "\n".join(L)
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    path.write_text(splice_probe_section(text, section))
    log(f"wrote the probe section of {path}")


def goal_lines(table: dict, servers: list[str]) -> list[str]:
    """The "done when" lines of issue 5, checked against the medians."""
    if not {"ferrio", "node", "socketioxide"} <= set(servers):
        return []
    rows = []

    def check(goal: str, value: float | None, limit: float, shown: str, floor: str = "–") -> None:
        ok = value is not None and value <= limit
        rows.append(f"| {goal} | {shown} | {floor} | {'yes' if ok else '**no**'} |")

    def r(name: str, peer: str, key: str = "metric", server: str = "ferrio") -> float | None:
        if server not in table[name]:
            return None
        a, b = table[name][server][key], table[name][peer][key]
        return None if a is None or not b else a / b

    def floor(name: str, peer: str) -> str:
        return ratio_text(r(name, peer, server="floor")) if "floor" in servers else "–"

    if "idle" in table:
        rss = table["idle"]["ferrio"]["metric"]
        check("idle: RSS per connection ≤ 4 KiB", None if rss is None else rss / 1024, 4.0,
              "–" if rss is None else f"{rss / 1024:.2f} KiB")
        v = r("idle", "node")
        check("idle: ≤ 0.3× Node's", v, 0.3, ratio_text(v))
    if "echo" in table:
        for peer, limit in (("node", 0.5), ("socketioxide", 0.75)):
            v = r("echo", peer)
            check(f"echo: CPU per message ≤ {limit}× {peer}'s", v, limit, ratio_text(v),
                  floor("echo", peer))
        p99 = table["echo"]["ferrio"]["p99_ms"]
        check("echo: p99 ≤ 2 ms", p99, 2.0, "–" if p99 is None else f"{p99:.2f} ms")
        lost = table["echo"]["ferrio"]["lost"]
        check("echo: nothing lost", lost, 0, str(lost))
    for name in ("broadcast-1k", "broadcast-10k", "rooms"):
        if name not in table:
            continue
        for peer, limit in (("node", 0.6), ("socketioxide", 0.75)):
            v = r(name, peer)
            check(f"{name}: CPU per delivery ≤ {limit}× {peer}'s", v, limit, ratio_text(v),
                  floor(name, peer))
        lost = table[name]["ferrio"]["lost"]
        check(f"{name}: nothing lost", lost, 0, str(lost))
    return rows


def ratio_text(v: float | None) -> str:
    return "–" if v is None else f"{v:.2f}×"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small numbers, one run: a smoke test")
    ap.add_argument("--runs", type=int, help="interleaved runs per scenario (default 3, quick 1)")
    ap.add_argument("--servers", help="comma-separated subset of: " + ",".join(SERVERS))
    ap.add_argument("--scenarios", help="comma-separated subset of: " + ",".join([*FULL, *VARIANTS_FULL, "cluster"]))
    ap.add_argument("--out", type=Path, help="markdown output (default BENCHMARKS.md, quick: target/bench/QUICK.md)")
    ap.add_argument("--nice", type=int, default=-10,
                    help="niceness of the servers and the generator (default -10: ahead of other "
                         "work on the machine; negative values need root, 0 to leave it)")
    ap.add_argument("--max-other-load", type=float, default=15.0,
                    help="measure again when other work took more than this %% of CPU 0 or CPU 1 "
                         "(default 15); the least disturbed attempt is kept")
    ap.add_argument("--attempts", type=int, default=3, help="attempts per measurement (default 3)")
    ap.add_argument("--note", default="", help="a remark about the machine's load, printed with the figures")
    ap.add_argument("--probe", action="store_true",
                    help="find each server's maximum sustainable rate instead (servers default to "
                         "ferrio,node,socketioxide); writes only the probe section of BENCHMARKS.md")
    ap.add_argument("--probes", help="comma-separated subset of: " + ",".join(PROBES))
    ap.add_argument("--render", type=Path, metavar="RESULTS_JSON",
                    help="measure nothing: write the Markdown again from a results.json of an earlier run")
    opts = ap.parse_args()

    if (os.cpu_count() or 1) < 2:
        sys.exit("needs at least 2 CPUs: the server runs on CPU 0, the load generator on CPU 1")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 20000 if hard == resource.RLIM_INFINITY else min(20000, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    global NICE
    NICE = ["nice", "-n", str(opts.nice)] if opts.nice else []
    if opts.nice < 0 and os.geteuid() != 0:
        log("not root: running at the default niceness")
        NICE = []

    if opts.probe:
        probes = {k: PROBES[k] for k in (opts.probes or ",".join(PROBES)).split(",")}
        wanted = (opts.servers or ",".join(PROBE_SERVERS)).split(",")
        run_probes(opts, [s for s in SERVERS if s in wanted], probes)
        return

    scenarios = {**(QUICK if opts.quick else FULL), **(VARIANTS_QUICK if opts.quick else VARIANTS_FULL)}
    cluster_args, cluster_title = CLUSTER_QUICK if opts.quick else CLUSTER_FULL
    do_cluster = True
    if opts.scenarios:
        wanted = opts.scenarios.split(",")
        do_cluster = "cluster" in wanted
        scenarios = {k: scenarios[k] for k in wanted if k != "cluster"}
    servers = [s for s in SERVERS if s in (opts.servers or ",".join(SERVERS)).split(",")]
    pairs = [p for p, kinds in CLUSTER_PAIRS.items() if set(kinds) <= set(servers)] if do_cluster else []
    runs = opts.runs or (1 if opts.quick else 3)
    out = opts.out or (target_dir() / "bench" / "QUICK.md" if opts.quick else ROOT / "BENCHMARKS.md")

    if opts.render:
        saved = json.loads(opts.render.read_text())
        info, results = saved["info"], saved["results"]
        scenarios = {k: v for k, v in scenarios.items() if k in results}
        servers = [s for s in servers if any(s in r for k, r in results.items() if k != "cluster")]
        if scenarios:
            write_markdown(out, summarize(results, scenarios, servers), scenarios, servers, info)
        if results.get("cluster"):
            write_cluster(out, results, cluster_title, cluster_args, info)
        log(f"wrote {out} from {opts.render}")
        return

    cmds = build(servers, cluster=bool(pairs), single=bool(scenarios))
    bench = target_dir() / "release" / "ferrio"
    started = time.monotonic()
    info = {"quick": opts.quick, "runs": runs, "machine": machine(), "versions": versions(),
            "load_before": loadavg(), "note": opts.note, "nice": NICE[2] if NICE else 0,
            "max_other_load": opts.max_other_load, "attempts": opts.attempts,
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": "bench/run.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])}

    results: dict = {}
    for r in range(runs):
        order = servers[r % len(servers):] + servers[:r % len(servers)]
        for name, (args, per, _) in scenarios.items():
            for srv in order:
                if not takes_part(srv, per, name):
                    continue
                rep = None
                env = {**SERVER_ENV.get(srv, {}), **VARIANT_ENV.get(name, {})}
                for attempt in range(1, opts.attempts + 1):
                    log(f"[run {r + 1}/{runs}] {name} on {srv}" + (f" (attempt {attempt})" if attempt > 1 else ""))
                    try:
                        got = measure(cmds[srv], bench, args, env)
                    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, RuntimeError) as e:
                        log(f"  failed: {e}")
                        time.sleep(2)
                        continue
                    got["attempt"] = attempt
                    if rep is None or busy(got) < busy(rep):
                        rep = got
                    if busy(got) <= opts.max_other_load:
                        break
                    log(f"  other work kept CPU 0 / CPU 1 busy {got['other_load']['cpu0_pct']} % / "
                        f"{got['other_load']['cpu1_pct']} %: measuring again")
                    time.sleep(3)
                if rep is None:
                    continue
                results.setdefault(name, {}).setdefault(srv, []).append(rep)
                m = metric(rep, per)
                msgs = rep.get("messages") or {}
                log(f"  {'cpu µs/1000' if per else 'rss B/conn'} {fmt(m)}"
                    + (f", p99 {msgs['latency']['p99_us'] / 1000:.2f} ms, lost {msgs['lost']}" if msgs else "")
                    + f", failed {rep['connect']['failed']}, disconnects {rep['disconnects']}")

    for r in range(runs if pairs else 0):
        for pair in pairs[r % len(pairs):] + pairs[:r % len(pairs)]:
            rep = None
            for attempt in range(1, opts.attempts + 1):
                log(f"[run {r + 1}/{runs}] cluster on {pair}" + (f" (attempt {attempt})" if attempt > 1 else ""))
                try:
                    got = measure_cluster(CLUSTER_PAIRS[pair], cmds, bench, cluster_args)
                except (subprocess.CalledProcessError, subprocess.TimeoutExpired, RuntimeError) as e:
                    log(f"  failed: {e}")
                    time.sleep(2)
                    continue
                got["attempt"] = attempt
                if rep is None or busy(got) < busy(rep):
                    rep = got
                if busy(got) <= opts.max_other_load:
                    break
                log(f"  other work kept CPU 0 / CPU 1 busy {got['other_load']['cpu0_pct']} % / "
                    f"{got['other_load']['cpu1_pct']} %: measuring again")
                time.sleep(3)
            if rep is None:
                continue
            results.setdefault("cluster", {}).setdefault(pair, []).append(rep)
            nodes, redis, total = cluster_metrics(rep)
            msgs = rep.get("messages") or {}
            log(f"  cpu µs/1000 nodes {fmt(nodes)} + redis {fmt(redis)} = {fmt(total)}"
                + (f", p99 {msgs['latency']['p99_us'] / 1000:.2f} ms, lost {msgs['lost']}" if msgs else "")
                + f", failed {rep['connect']['failed']}, disconnects {rep['disconnects']}")

    info["load_after"] = loadavg()
    info["minutes"] = (time.monotonic() - started) / 60
    raw = target_dir() / "bench" / "results.json"
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(json.dumps({"info": info, "results": results}, indent=1))
    out.parent.mkdir(parents=True, exist_ok=True)
    if scenarios:
        # The other tables are written afresh; a cluster section of an earlier run stays.
        kept = out.read_text() if out.exists() and not pairs else ""
        table = summarize(results, scenarios, servers)
        write_markdown(out, table, scenarios, servers, info)
        if "<!-- cluster:begin -->" in kept and "<!-- cluster:end -->" in kept:
            section = kept.split("<!-- cluster:begin -->", 1)[1].split("<!-- cluster:end -->", 1)[0]
            out.write_text(out.read_text().rstrip("\n") + "\n\n<!-- cluster:begin -->" + section
                           + "<!-- cluster:end -->\n")
    if pairs:
        write_cluster(out, results, cluster_title, cluster_args, info)
    log(f"wrote {out} and {raw}")
    print(out.read_text())


if __name__ == "__main__":
    main()
