//! Disconnect handlers never run on another socket's stack (security review
//! finding 8): a broadcast that finds a recipient's outbox full closes it from
//! a task of its own, so the recipient's handlers run neither inside the
//! broadcast (no recursion through a room of slow clients) nor under the
//! broadcaster's locks.
//!
//! Each test builds its own runtime: small worker stacks for the first, and a
//! shutdown that does not wait for a deadlocked worker for the second.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrio::engine::EngineConfig;
use ferrio::{SocketIo, SocketIoConfig};
use support::{TestServer, eventually};

/// The outbox limit of these tests: small, so filling it is cheap.
const LIMIT: usize = 4096;

fn server_io() -> SocketIo {
    let engine = EngineConfig::default().max_buffered_bytes(LIMIT);
    SocketIo::with_config(SocketIoConfig::default().with_engine(|_| engine.path("/socket.io/")))
}

/// Connects `n` long-polling clients to `/` that never poll: whatever is sent
/// to them stays in their outbox.
async fn silent_clients(server: &TestServer, n: usize) {
    for _ in 0..n {
        let client = server.polling().await;
        let reply = server.post(&client, "40").await;
        assert_eq!(reply.status, http::StatusCode::OK);
    }
    eventually("every client is connected", || {
        server.io.sockets().socket_count() == n
    })
    .await;
}

/// Fills every socket's outbox to just under the limit.
fn fill_outboxes(io: &SocketIo) {
    let filler = "x".repeat(LIMIT - 600);
    for socket in io.sockets().local_sockets() {
        socket
            .emit("fill", &filler)
            .expect("room left in the outbox");
    }
}

fn runtime(stack: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(stack)
        .enable_all()
        .build()
        .unwrap()
}

/// 500 clients in a room, each with a disconnect handler that broadcasts to
/// the room, none reading, every outbox nearly full; then one broadcast. Run
/// inline, each close would broadcast and close the next: 500 nested levels,
/// far more than a 256 KiB stack holds. The process survives and every
/// disconnect handler runs exactly once.
#[test]
fn a_room_of_full_clients_closes_without_recursion() {
    const CLIENTS: usize = 500;
    let rt = runtime(256 * 1024);
    let left = Arc::new(AtomicUsize::new(0));
    let io = server_io();
    let counter = left.clone();
    io.on_connection(move |socket| {
        socket.join("room");
        let counter = counter.clone();
        socket.on_disconnect(move |socket, _| {
            counter.fetch_add(1, Ordering::SeqCst);
            let _ = socket.to("room").emit("left", &"y".repeat(1000));
            async {}
        });
        async {}
    });
    rt.block_on(async {
        let server = TestServer::start(io.clone()).await;
        silent_clients(&server, CLIENTS).await;
        fill_outboxes(&io);
        // On a worker thread, with its small stack.
        let broadcaster = io.clone();
        tokio::spawn(async move {
            broadcaster
                .to("room")
                .emit("boom", &"z".repeat(1000))
                .unwrap()
        })
        .await
        .expect("the broadcast returns");
        eventually("every socket is gone", || io.sockets().socket_count() == 0).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            left.load(Ordering::SeqCst),
            CLIENTS,
            "each handler ran once"
        );
    });
    rt.shutdown_background();
}

/// An application that emits while holding a lock its disconnect handler also
/// takes: the emit that finds a full client returns (within 1 s), and the
/// handler runs once the lock is released.
#[test]
fn emitting_under_a_lock_the_disconnect_handler_takes_does_not_deadlock() {
    let rt = runtime(2 << 20);
    let lock = Arc::new(Mutex::new(()));
    let left = Arc::new(AtomicUsize::new(0));
    let io = server_io();
    let (handler_lock, counter) = (lock.clone(), left.clone());
    io.on_connection(move |socket| {
        socket.join("room");
        let (lock, counter) = (handler_lock.clone(), counter.clone());
        socket.on_disconnect(move |_, _| {
            let _guard = lock.lock().unwrap_or_else(|e| e.into_inner());
            counter.fetch_add(1, Ordering::SeqCst);
            async {}
        });
        async {}
    });
    let finished = rt.block_on(async {
        let server = TestServer::start(io.clone()).await;
        silent_clients(&server, 1).await;
        fill_outboxes(&io);
        let emitter = io.clone();
        let emit = tokio::spawn(async move {
            let _guard = lock.lock().unwrap_or_else(|e| e.into_inner());
            let _ = emitter.to("room").emit("boom", &"z".repeat(1000));
        });
        let finished = tokio::time::timeout(Duration::from_secs(1), emit)
            .await
            .is_ok();
        if finished {
            eventually("the handler ran", || left.load(Ordering::SeqCst) == 1).await;
        }
        finished
    });
    // A deadlocked worker never ends: do not wait for it.
    rt.shutdown_background();
    assert!(finished, "the emit deadlocked");
}
