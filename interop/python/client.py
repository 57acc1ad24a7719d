#!/usr/bin/env python3
"""python-socketio's (sync) client against a Socket.IO server running the
conformance handlers (crates/server/examples/conformance/handlers.rs).

Usage:
    python client.py --url http://127.0.0.1:PORT --transport websocket|polling \
        --scenario NAME [--timeout SECONDS] [--serializer default|msgpack]

--serializer msgpack is python-socketio's msgpack packet format (the msgpack
package), which socket.io-msgpack-parser servers speak.

Prints one JSON object per line ({"event": "...", ...}) and, last, a result line
{"event":"result","ok":true|false,...}. Exits 0 on success, 1 on failure,
including the overall timeout (--timeout, default 30 s). Bytes are printed as
{"$bytes": "<hex>"}. Needs the packages of requirements.txt (the virtualenv
.venv beside this file).

Scenarios: see SCENARIOS at the bottom.
"""

import argparse
import importlib.metadata
import json
import os
import queue
import sys
import threading
import time
import traceback

import socketio

# How long to wait for any single expected event. Generous: the server shares
# the machine with a cargo build. Only ever waited for in full on a failure.
WAIT = 10.0
# python-engineio's client refuses a long-polling response holding more than
# `engineio.payload.Payload.max_decode_packets` (16) packets and drops the
# connection ("Unexpected packet from server"): a known limitation of that client
# (python-engineio issue #142), which the Node.js server would hit just the same.
# The scenarios keep every burst of server packets below it (a binary event is
# 1 + one packet per attachment) rather than raise the limit, so that they test
# the client as its users get it.
BURST = 10
# How long the client sits on a question it must answer too late: the server
# waits 1000 ms for that ack. Only the margin over that matters.
SLOW_ACK = 3.0
# How long to keep listening for an event that must NOT arrive, after a round
# trip that proves it would have arrived already. Shortening this can only hide
# a bug, never make a correct server fail.
QUIET = 0.3

_print_lock = threading.Lock()


def jsonable(value):
    """Makes a value printable as JSON (bytes as {"$bytes": hex})."""
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": bytes(value).hex()}
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def out(event, **fields):
    line = json.dumps({"event": event, **jsonable(fields)}, separators=(",", ":"))
    with _print_lock:
        print(line, flush=True)


class Failure(Exception):
    pass


def check(cond, what, **details):
    if not cond:
        raise Failure(what + (": " + json.dumps(jsonable(details)) if details else ""))
    out("check", ok=True, what=what)


class Peer:
    """A python-socketio client that records every event it gets in a queue."""

    def __init__(self, name, args):
        self.name = name
        self.url = args.url
        self.transports = [args.transport]
        self.sio = socketio.Client(reconnection=False, serializer=args.serializer)
        self.events = queue.Queue()
        self.emit_lock = threading.Lock()  # emit() is not thread safe
        self.backlog = []  # events expect() passed over, oldest first
        self.sio.on("*", self._any, namespace="*")
        # python-socketio runs the handler of each Engine.IO message on a thread
        # of its own, so handlers may see messages out of order. Record the order
        # in which the messages came off the wire (the read loop is one thread).
        self.wire = []
        receive = self.sio.eio._receive_packet

        msgpack_wire = args.serializer == "msgpack"

        def record(pkt):
            if isinstance(pkt.data, str):
                self.wire.append(pkt.data)
            elif msgpack_wire and isinstance(pkt.data, (bytes, bytearray)):
                # The same text the default parser would have sent (main
                # namespace, no id): {type: 2, data: [...]} as 2[...].
                import msgpack

                try:
                    decoded = msgpack.loads(pkt.data)
                    data = json.dumps(decoded.get("data"), separators=(",", ":"), ensure_ascii=False)
                    self.wire.append(f"{decoded.get('type')}{data}")
                except Exception:  # noqa: BLE001 - not ours to judge here
                    pass
            receive(pkt)

        self.sio.eio._receive_packet = record

    def _any(self, event, namespace, *args):
        out("received", peer=self.name, nsp=namespace, name=event, args=list(args))
        self.events.put((namespace, event, list(args)))

    def on(self, event, handler, namespace="/"):
        self.sio.on(event, handler, namespace=namespace)
        # Once a namespace has a handler of its own, python-socketio no longer
        # falls back to the "*" namespace's catch-all for it: add one there.
        if "*" not in self.sio.handlers.get(namespace, {}):
            self.sio.on(
                "*",
                lambda event, *args: self._any(event, namespace, *args),
                namespace=namespace,
            )

    def connect(self, auth=None, namespaces=("/",)):
        self.sio.connect(
            self.url,
            auth=auth,
            transports=self.transports,
            namespaces=list(namespaces),
            socketio_path="socket.io",
            wait_timeout=WAIT,
        )
        out(
            "connected",
            peer=self.name,
            sid=self.sio.get_sid(namespaces[0]),
            transport=self.sio.transport(),
            namespaces=list(namespaces),
        )
        check(
            self.sio.transport() == self.transports[0],
            f"{self.name} uses the {self.transports[0]} transport",
            actual=self.sio.transport(),
        )

    def emit(self, event, data=None, namespace="/"):
        with self.emit_lock:
            out("emit", peer=self.name, nsp=namespace, name=event, data=data)
            self.sio.emit(event, data, namespace=namespace)

    def call(self, event, data=None, namespace="/"):
        out("call", peer=self.name, nsp=namespace, name=event, data=data)
        reply = self.sio.call(event, data, namespace=namespace, timeout=WAIT)
        out("ack", peer=self.name, nsp=namespace, name=event, reply=reply)
        return reply

    def expect(self, event, namespace="/", timeout=WAIT):
        """Waits for `event` on `namespace`, skipping (and logging) others."""
        for i, (nsp, name, args) in enumerate(self.backlog):
            if nsp == namespace and name == event:
                del self.backlog[i]
                return args
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure(f"{self.name}: no {event!r} on {namespace} within {timeout}s")
            try:
                nsp, name, args = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if nsp == namespace and name == event:
                return args
            self.backlog.append((nsp, name, args))

    def expect_none(self, event, namespace="/", timeout=QUIET):
        """Fails if `event` arrives on `namespace` within `timeout`."""
        for nsp, name, args in self.backlog:
            if nsp == namespace and name == event:
                raise Failure(f"{self.name}: unexpected {event!r} on {namespace}: {args!r}")
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                nsp, name, args = self.events.get(timeout=left)
            except queue.Empty:
                return
            if nsp == namespace and name == event:
                raise Failure(f"{self.name}: unexpected {event!r} on {namespace}: {args!r}")
            self.backlog.append((nsp, name, args))

    def disconnect(self):
        try:
            self.sio.disconnect()
        except Exception as e:  # noqa: BLE001 - best effort
            out("disconnect-error", peer=self.name, error=repr(e))


# --- scenarios ---------------------------------------------------------------


def scenario_auth(args, peers):
    auth = {"token": "abc", "n": 42, "nested": {"list": [1, "two", None, True]}}
    a = peers.new("a")
    a.connect(auth=auth)
    got = a.expect("auth")
    check(got == [auth], "the server saw the auth dict", got=got, sent=auth)
    # No auth at all: the client sends {} and the server echoes it.
    b = peers.new("b")
    b.connect()
    got = b.expect("auth")
    check(got == [{}], "no auth is an empty dict", got=got)
    # Another static namespace gets the same auth.
    c = peers.new("c")
    c.connect(auth={"k": "v"}, namespaces=("/custom",))
    got = c.expect("auth", namespace="/custom")
    check(got == [{"k": "v"}], "auth on /custom", got=got)


def scenario_events(args, peers):
    a = peers.new("a")
    a.connect()
    a.expect("auth")
    sent = (1, "two", {"three": [3, 3.5]}, [4, {"five": None}], None, True, "üñï©ødé ✓")
    a.emit("message", sent)
    got = a.expect("message-back")
    check(got == list(sent), "message-back has every argument", got=got, sent=sent)
    # One argument that is a list stays one argument.
    a.emit("message", [[1, 2], "x"])
    got = a.expect("message-back")
    check(got == [[[1, 2], "x"]], "a list argument stays one argument", got=got)
    # No arguments at all.
    a.emit("message")
    got = a.expect("message-back")
    check(got == [], "an event without arguments", got=got)
    # A burst of events: each answered once, in order on the wire (handlers
    # run on threads of their own, see Peer.wire).
    a.wire.clear()
    for i in range(BURST):
        a.emit("message", (i,))
    got = sorted(a.expect("message-back")[0] for _ in range(BURST))
    check(got == list(range(BURST)), f"{BURST} events answered", got=got)
    order = [m for m in a.wire if m.startswith('2["message-back"')]
    want = [f'2["message-back",{i}]' for i in range(BURST)]
    check(order == want, f"{BURST} events in order", got=order)


def scenario_ack(args, peers):
    a = peers.new("a")
    a.connect()
    a.expect("auth")
    sent = ("x", 2, {"y": [True, None]})
    reply = a.call("message-with-ack", sent)
    check(list(reply) == list(sent), "the server acks with every argument", got=reply)
    reply = a.call("message-with-ack", "single")
    check(reply == "single", "single-argument ack", got=reply)
    reply = a.call("echo", ({"a": 1}, [1, 2]))
    check(list(reply) == [{"a": 1}, [1, 2]], "echo with ack", got=reply)
    # Without ack, echo comes back as an event.
    a.emit("echo", "no-ack")
    got = a.expect("echo")
    check(got == ["no-ack"], "echo without ack is an event", got=got)
    # Several acks in flight at once, answered to the right callback.
    results = {}
    done = threading.Event()
    lock = threading.Lock()

    def make_cb(i):
        def cb(*reply):
            with lock:
                results[i] = list(reply)
                if len(results) == BURST:
                    done.set()

        return cb

    with a.emit_lock:
        for i in range(BURST):
            a.sio.emit("message-with-ack", (i, f"n{i}"), callback=make_cb(i))
    check(done.wait(WAIT), f"{BURST} concurrent acks answered", got=results)
    check(
        all(results[i] == [i, f"n{i}"] for i in range(BURST)),
        "each ack reached its own callback",
        got=results,
    )


def scenario_server_ack(args, peers):
    a = peers.new("a")
    questions = []
    late_ack_sent = threading.Event()

    def on_question(*qargs):
        questions.append(list(qargs))
        value = qargs[0] if qargs else None
        if value == "slow":
            # Answer well after the server's 1000 ms ack timeout (each handler
            # runs on a thread of its own, so this blocks nothing else).
            time.sleep(SLOW_ACK)
            late_ack_sent.set()
            return "too-late"
        if value == "two":
            return ("first", {"second": 2})  # a tuple: several ack arguments
        if value == "silent":
            return None  # acks with no argument
        return {"you-asked": value}

    a.on("question", on_question)
    a.connect()
    a.expect("auth")
    a.emit("ask", "what?")
    got = a.expect("answer")
    check(got == [{"you-asked": "what?"}], "answer carries the client's ack", got=got)
    a.emit("ask", {"deep": [1, {"x": None}]})
    got = a.expect("answer")
    check(got == [{"you-asked": {"deep": [1, {"x": None}]}}], "structured question", got=got)
    a.emit("ask", "two")
    got = a.expect("answer")
    check(got == ["first", {"second": 2}], "multi-argument client ack", got=got)
    a.emit("ask", "silent")
    got = a.expect("answer")
    check(got == [], "empty client ack", got=got)
    check(len(questions) == 4, "four questions handled", got=questions)
    # No ack within the server's timeout: it gives up ("answer-timeout"), then
    # ignores the late ack, and the connection goes on.
    a.emit("ask", "slow")
    got = a.expect("answer-timeout", timeout=WAIT + SLOW_ACK)
    check(got == [], "the server timed out waiting for the ack", got=got)
    a.emit("ask", "after-slow")
    got = a.expect("answer")
    check(got == [{"you-asked": "after-slow"}], "a new question after the timeout", got=got)
    check(late_ack_sent.wait(WAIT + SLOW_ACK), "the late ack was returned")
    time.sleep(QUIET)  # let python-socketio put it on the wire
    check(a.call("message-with-ack", "alive") == "alive", "alive after the late ack")
    a.expect_none("answer")
    a.expect_none("answer-timeout")
    out("check", ok=True, what="the late ack was ignored")


def scenario_binary(args, peers):
    a = peers.new("a")

    def on_question(*qargs):
        # A binary ack from the client.
        return (b"\x00\x01\xfe\xff", {"also": b"\x10\x20"})

    a.on("question", on_question)
    a.connect()
    a.expect("auth")
    blob = bytes(range(256))
    sent = ("text", blob, {"nested": b"\xff\x00\xfe", "list": [b"", b"\x01"]}, 7)
    a.emit("message", sent)
    got = a.expect("message-back")
    check(got == list(sent), "binary event round trip (message-back)", got=got)
    # A lone bytes argument.
    a.emit("echo", b"\x00only-bytes\xff")
    got = a.expect("echo")
    check(got == [b"\x00only-bytes\xff"], "echo event with bytes", got=got)
    # Binary in a client->server ack request and in the server's ack.
    reply = a.call("echo", (b"\xde\xad\xbe\xef", "x"))
    check(list(reply) == [b"\xde\xad\xbe\xef", "x"], "binary ack from the server", got=reply)
    reply = a.call("message-with-ack", {"k": b"\x00" * 1000})
    check(reply == {"k": b"\x00" * 1000}, "1000 zero bytes in an ack", got=reply)
    # A larger attachment.
    big = os.urandom(200_000)
    reply = a.call("echo", big)
    check(reply == big, "200 kB attachment echoed", got_len=len(reply or b""))
    # Binary ack from the client to the server.
    a.emit("ask", "bin")
    got = a.expect("answer")
    check(got == [b"\x00\x01\xfe\xff", {"also": b"\x10\x20"}], "binary ack from the client", got=got)
    # Text still works after binary.
    a.emit("message", "after")
    check(a.expect("message-back") == ["after"], "text after binary")


def scenario_rooms(args, peers):
    a = peers.new("a")
    b = peers.new("b")
    a.connect()
    a.expect("auth")
    b.connect()
    b.expect("auth")
    a.emit("join", "r1")
    b.emit("join", "r1")
    # A round trip per peer proves each join was handled (a socket's packets are
    # handled in order).
    a.call("message-with-ack", "sync")
    b.call("message-with-ack", "sync")
    a.emit("room", ("r1", {"hello": "r1"}))
    check(a.expect("room") == [{"hello": "r1"}], "a gets the room message")
    check(b.expect("room") == [{"hello": "r1"}], "b gets the room message")
    # Binary to a room.
    b.emit("room", ("r1", b"\x00\xff"))
    check(a.expect("room") == [b"\x00\xff"], "a gets binary room message")
    check(b.expect("room") == [b"\x00\xff"], "b gets binary room message")
    # Another room: only its members.
    b.emit("join", "r2")
    b.call("message-with-ack", "sync")
    a.emit("room", ("r2", "only-b"))
    check(b.expect("room") == ["only-b"], "b gets the r2 message")
    # a leaves r1: b still gets r1 messages, a does not.
    a.emit("leave", "r1")
    a.call("message-with-ack", "sync")
    b.emit("room", ("r1", "after-leave"))
    check(b.expect("room") == ["after-leave"], "b still gets r1 messages")
    # Anything the server sent a before this ack would be queued before it.
    a.call("message-with-ack", "sync")
    a.expect_none("room")
    out("check", ok=True, what="a gets no room message after leaving")
    # A broadcast from a reaches b.
    a.emit("broadcast", ("to-all", 1))
    check(b.expect("broadcast") == ["to-all", 1], "b gets a's broadcast")


def scenario_private(args, peers):
    # Rejected by the namespace middleware.
    bad = peers.new("bad")
    errors = []

    def on_connect_error(*data):
        out("connect_error", peer="bad", data=list(data))
        errors.append(list(data))

    bad.on("connect_error", on_connect_error, namespace="/private")
    try:
        bad.connect(auth={"token": "wrong"}, namespaces=("/private",))
    except socketio.exceptions.ConnectionError as e:
        out("connection-error", peer="bad", error=str(e))
        check("/private" in str(e), "ConnectionError names /private", error=str(e))
    else:
        raise Failure("connecting to /private with a bad token succeeded")
    check(len(errors) == 1, "one connect_error", got=errors)
    # python-socketio passes the CONNECT_ERROR payload through as it came:
    # {"message": ..., "data": ...}.
    check(
        errors[0] == [{"message": "unauthorized", "data": {"reason": "bad token"}}],
        "connect_error carries message and data",
        got=errors[0],
    )
    # No auth at all: rejected too.
    none = peers.new("none")
    none_errors = []
    none.on("connect_error", lambda *d: none_errors.append(list(d)), namespace="/private")
    try:
        none.connect(namespaces=("/private",))
    except socketio.exceptions.ConnectionError as e:
        out("connection-error", peer="none", error=str(e))
    else:
        raise Failure("connecting to /private without auth succeeded")
    check(
        none_errors and none_errors[0][0].get("message") == "unauthorized",
        "no auth: unauthorized",
        got=none_errors,
    )
    # Accepted with the right token.
    good = peers.new("good")
    good.connect(auth={"token": "secret"}, namespaces=("/private",))
    check(good.expect("welcome", namespace="/private") == [], "welcome on /private")
    # Both "/" and "/private" on one connection (multiplexed), the bad token
    # rejects only /private.
    mixed = peers.new("mixed")
    mixed_errors = []
    mixed.on("connect_error", lambda *d: mixed_errors.append(list(d)), namespace="/private")
    try:
        mixed.connect(auth={"token": "nope"}, namespaces=("/", "/private"))
    except socketio.exceptions.ConnectionError as e:
        out("connection-error", peer="mixed", error=str(e))
    else:
        raise Failure("connecting to / and /private with a bad token succeeded")
    check(
        mixed_errors and mixed_errors[0][0].get("message") == "unauthorized",
        "multiplexed: /private rejected",
        got=mixed_errors,
    )
    # Multiplexed with the right token: both namespaces on one Engine.IO session.
    both = peers.new("both")
    both.connect(auth={"token": "secret"}, namespaces=("/", "/private"))
    check(both.expect("welcome", namespace="/private") == [], "multiplexed: welcome")
    check(both.expect("auth") == [{"token": "secret"}], "multiplexed: auth on /")
    both.emit("message", "on-main")
    check(both.expect("message-back") == ["on-main"], "multiplexed: / still works")


def scenario_dynamic(args, peers):
    a = peers.new("a")
    a.connect(namespaces=("/dyn-7",))
    check(a.expect("nsp", namespace="/dyn-7") == ["/dyn-7"], "nsp names /dyn-7")
    b = peers.new("b")
    b.connect(namespaces=("/dyn-123", "/"))
    check(b.expect("nsp", namespace="/dyn-123") == ["/dyn-123"], "nsp names /dyn-123")
    # A name the pattern does not match is refused.
    c = peers.new("c")
    errors = []
    c.on("connect_error", lambda *d: errors.append(list(d)), namespace="/dyn-x")
    try:
        c.connect(namespaces=("/dyn-x",))
    except socketio.exceptions.ConnectionError as e:
        out("connection-error", peer="c", error=str(e))
    else:
        raise Failure("connecting to /dyn-x succeeded")
    check(
        errors and errors[0][0].get("message") == "Invalid namespace",
        "unknown namespace: Invalid namespace",
        got=errors,
    )


def scenario_server_disconnect(args, peers):
    a = peers.new("a")
    reasons = []
    gone = threading.Event()

    def on_disconnect(reason=None):
        out("disconnect", peer="a", reason=reason)
        reasons.append(reason)
        gone.set()

    a.on("disconnect", on_disconnect)
    a.connect()
    a.expect("auth")
    a.emit("disconnect-me")
    check(gone.wait(WAIT), "the client saw the server's disconnect")
    check(
        reasons == [socketio.Client.reason.SERVER_DISCONNECT],
        "reason is server disconnect",
        got=reasons,
    )


SCENARIOS = {
    "auth": scenario_auth,
    "events": scenario_events,
    "ack": scenario_ack,
    "server-ack": scenario_server_ack,
    "binary": scenario_binary,
    "rooms": scenario_rooms,
    "private": scenario_private,
    "dynamic": scenario_dynamic,
    "server-disconnect": scenario_server_disconnect,
}


class Peers:
    def __init__(self, args):
        self.args = args
        self.all = []

    def new(self, name):
        p = Peer(name, self.args)
        self.all.append(p)
        return p

    def close(self):
        for p in self.all:
            p.disconnect()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--transport", choices=["websocket", "polling"], required=True)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), required=True)
    parser.add_argument("--timeout", type=float, default=30.0, help="overall timeout (s)")
    parser.add_argument("--serializer", choices=["default", "msgpack"], default="default")
    args = parser.parse_args()

    def on_timeout():
        out("result", ok=False, scenario=args.scenario, error=f"timed out after {args.timeout}s")
        os._exit(1)

    timer = threading.Timer(args.timeout, on_timeout)
    timer.daemon = True
    timer.start()

    out("start", scenario=args.scenario, transport=args.transport, url=args.url,
        python_socketio=importlib.metadata.version("python-socketio"),
        python_engineio=importlib.metadata.version("python-engineio"))
    peers = Peers(args)
    ok, error = True, None
    try:
        SCENARIOS[args.scenario](args, peers)
    except Exception as e:  # noqa: BLE001 - report every failure as a result line
        ok, error = False, f"{type(e).__name__}: {e}"
        traceback.print_exc()
    finally:
        peers.close()
    timer.cancel()
    out("result", ok=ok, scenario=args.scenario, transport=args.transport, error=error)
    sys.stdout.flush()
    # Background threads of the clients must not keep the process alive.
    os._exit(0 if ok else 1)


if __name__ == "__main__":
    main()
