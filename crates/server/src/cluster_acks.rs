//! Gathering the acknowledgements of a broadcast across the nodes of a cluster.

use ferrio_proto::socketio::{Args, Payload};
use tokio::sync::mpsc;

use crate::AckResponses;
use crate::adapter::{AdapterError, LocalAcks};

/// What another node says about a broadcast with acks this node asked for.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RemoteAck {
    /// How many of its sockets it sent the packet to (`BROADCAST_CLIENT_COUNT`),
    /// sent once, first, even when 0.
    ClientCount(usize),
    /// One socket's answer: its first argument (`BROADCAST_ACK`).
    Answer(Payload),
}

/// The bookkeeping of a broadcast with acks across a cluster, as Node's
/// adapters keep it: done once every server reported its client count and
/// every counted client answered.
///
/// ```text
/// servers_reported = 1 (this node), clients_expected = local count
/// on ClientCount(n): servers_reported += 1, clients_expected += n
/// on an answer:      responses.push(answer)
/// done ⇔ servers_reported == server_count && responses.len() == clients_expected
/// ```
#[derive(Debug)]
pub struct ClusterAckCollector {
    responses: Vec<Args>,
    server_count: Option<usize>,
    servers_reported: usize,
    clients_expected: usize,
}

impl ClusterAckCollector {
    /// A collector for a broadcast this node sent to `local_clients` of its
    /// own sockets. The server count may be learned later
    /// ([`set_server_count`](Self::set_server_count)); until then it is not done.
    pub fn new(local_clients: usize) -> Self {
        Self {
            responses: Vec::new(),
            server_count: None,
            servers_reported: 1,
            clients_expected: local_clients,
        }
    }

    /// The number of servers in the cluster, this one included.
    pub fn set_server_count(&mut self, servers: usize) {
        self.server_count = Some(servers);
    }

    /// Takes what another node said.
    pub fn remote(&mut self, ack: RemoteAck) {
        match ack {
            RemoteAck::ClientCount(n) => {
                self.servers_reported += 1;
                self.clients_expected = self.clients_expected.saturating_add(n);
            }
            RemoteAck::Answer(first) => self.responses.push(Args::from(vec![first])),
        }
    }

    /// Takes the answer of one of this node's sockets.
    pub fn local(&mut self, args: Args) {
        self.responses.push(args);
    }

    /// Whether every server reported and every client answered.
    pub fn is_done(&self) -> bool {
        self.server_count
            .is_some_and(|servers| self.servers_reported >= servers)
            && self.responses.len() >= self.clients_expected
    }

    /// The answers so far.
    pub fn finish(self) -> AckResponses {
        let mut answers = AckResponses::new(self.responses, self.clients_expected);
        answers.servers_missing = self
            .server_count
            .map_or(0, |servers| servers.saturating_sub(self.servers_reported));
        answers
    }

    /// Runs the whole wait: this node's answers from `local`, the server
    /// count from `server_count` (computed while the answers come, as Node
    /// does), the other nodes' reports from `remote`; until done or the
    /// deadline of `local`. A failed server count ends the wait with the
    /// answers so far.
    pub async fn run(
        mut self,
        mut local: LocalAcks,
        server_count: impl Future<Output = Result<usize, AdapterError>>,
        mut remote: mpsc::UnboundedReceiver<RemoteAck>,
    ) -> AckResponses {
        let deadline = local.deadline();
        let mut server_count = std::pin::pin!(server_count);
        let mut count_pending = true;
        let mut local_open = true;
        let mut remote_open = true;
        while !self.is_done() {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => break,
                count = &mut server_count, if count_pending => {
                    count_pending = false;
                    match count {
                        Ok(n) => self.set_server_count(n),
                        Err(e) => {
                            tracing::warn!(error = %e, "server count failed: acks not awaited");
                            break;
                        }
                    }
                }
                answer = local.next(), if local_open => match answer {
                    Some(args) => self.local(args),
                    None => local_open = false,
                },
                report = remote.recv(), if remote_open => match report {
                    Some(report) => self.remote(report),
                    None => remote_open = false,
                },
            }
            if !local_open && !remote_open && !count_pending && !self.is_done() {
                // Nothing more can come.
                break;
            }
        }
        self.finish()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;
    use tokio::time::Instant;

    use super::*;

    fn local(expected: usize) -> (mpsc::UnboundedSender<Args>, LocalAcks) {
        let (tx, rx) = mpsc::unbounded_channel();
        let deadline = Instant::now() + Duration::from_secs(5);
        (tx, LocalAcks::new(rx, expected, deadline, None))
    }

    fn args(v: serde_json::Value) -> Args {
        Args::from(vec![Payload::from(v)])
    }

    #[tokio::test(start_paused = true)]
    async fn done_once_every_server_reported_and_every_client_answered() {
        let (local_tx, acks) = local(1);
        let (remote_tx, remote_rx) = mpsc::unbounded_channel();
        local_tx.send(args(json!("local"))).unwrap();
        remote_tx
            .send(RemoteAck::Answer(Payload::from(json!("early"))))
            .unwrap();
        remote_tx.send(RemoteAck::ClientCount(2)).unwrap();
        remote_tx.send(RemoteAck::ClientCount(0)).unwrap();
        remote_tx
            .send(RemoteAck::Answer(Payload::from(json!("late"))))
            .unwrap();
        let started = Instant::now();
        let answers = ClusterAckCollector::new(acks.expected())
            .run(acks, async { Ok(3) }, remote_rx)
            .await;
        assert_eq!(Instant::now(), started, "no wait for the deadline");
        assert_eq!(answers.expected, 3);
        assert_eq!(answers.servers_missing, 0);
        assert!(!answers.timed_out());
        let mut texts: Vec<String> = answers
            .responses
            .iter()
            .map(|a| a.get::<String>(0).unwrap())
            .collect();
        texts.sort();
        assert_eq!(texts, ["early", "late", "local"]);
        assert!(
            answers.responses.iter().all(|a| a.len() == 1),
            "first argument only"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_server_ends_the_wait_at_the_deadline_with_what_came() {
        let (_local_tx, acks) = local(0);
        let (remote_tx, remote_rx) = mpsc::unbounded_channel();
        remote_tx.send(RemoteAck::ClientCount(1)).unwrap();
        let started = Instant::now();
        let answers = ClusterAckCollector::new(acks.expected())
            .run(acks, async { Ok(3) }, remote_rx)
            .await;
        assert_eq!(Instant::now() - started, Duration::from_secs(5));
        assert_eq!(answers.expected, 1);
        assert_eq!(answers.servers_missing, 1);
        assert!(answers.timed_out());
    }

    #[tokio::test(start_paused = true)]
    async fn the_server_count_must_be_known_to_be_done_and_its_failure_ends_the_wait() {
        let mut collector = ClusterAckCollector::new(0);
        assert!(!collector.is_done(), "servers unknown");
        collector.set_server_count(1);
        assert!(collector.is_done());

        let (_local_tx, acks) = local(0);
        let (_remote_tx, remote_rx) = mpsc::unbounded_channel();
        let started = Instant::now();
        let failed = async { Err(AdapterError::Other("no broker".into())) };
        let answers = ClusterAckCollector::new(0)
            .run(acks, failed, remote_rx)
            .await;
        assert_eq!(Instant::now(), started);
        assert!(answers.responses.is_empty());
    }
}
