//! The batching execution writer (group commit).
//!
//! Every invocation produces an execution record; committing each in its own transaction would make
//! the database's fsync the server's throughput limit. Instead callers send records to one background
//! thread, which takes whatever is queued (up to [`WriterConfig::max_batch`]), writes it all in one
//! transaction, commits once, and only then acknowledges each caller. So an acknowledged record is
//! durable, and under load many records share one fsync.
//!
//! The queue is bounded ([`WriterConfig::queue_capacity`]): when the database cannot keep up, callers
//! wait in `write` (back-pressure) instead of memory growing without bound.

use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::error::{Result, StoreError};
use crate::models::Execution;

/// One record for the writer: an insert-or-update ("upsert") of a whole execution. On update, every
/// field but `created_at` is replaced.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionWrite {
    /// The whole record to insert or update.
    pub execution: Execution,
}

impl From<Execution> for ExecutionWrite {
    fn from(execution: Execution) -> Self {
        ExecutionWrite { execution }
    }
}

/// A backend's blocking batch commit. Implemented by each store backend; the writer thread calls it.
pub trait ExecutionSink: Send + 'static {
    /// Writes all records in one transaction and commits it. `Ok` holds each record's own outcome (a
    /// record that fails, e.g. because its function was deleted, is rolled back alone and the rest
    /// still commit); `Err` means nothing was committed.
    fn commit_batch(&mut self, batch: &[ExecutionWrite]) -> Result<Vec<Result<()>>>;
}

/// Hears every group commit, for metrics. Called on the writer thread after each commit: it
/// must be quick and never block.
pub trait WriterObserver: Send + Sync {
    /// A batch of `records` was committed (or failed to be) in `duration`.
    fn committed(&self, records: usize, duration: Duration) {
        let _ = (records, duration);
    }
}

/// Who hears the commits, once someone asks to ([`ExecutionWriter::observe`]).
type SharedObserver = Arc<OnceLock<Arc<dyn WriterObserver>>>;

/// Tuning of the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterConfig {
    /// Records that may wait for the writer before `write` callers have to wait too.
    pub queue_capacity: usize,
    /// Most records committed in one transaction.
    pub max_batch: usize,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            queue_capacity: 4096,
            max_batch: 512,
        }
    }
}

struct Job {
    record: ExecutionWrite,
    /// `None` for a record nobody waits on: its failure is logged instead.
    ack: Option<oneshot::Sender<Result<()>>>,
}

/// What the writer thread receives: a record, or a request to say when everything sent before
/// it has been committed.
#[expect(
    clippy::large_enum_variant,
    reason = "records travel by value as they did before flushes existed: boxing each would \
              add an allocation per execution for a message sent once per shutdown"
)]
enum Message {
    Write(Job),
    Flush(oneshot::Sender<()>),
}

/// Handle to the batching writer. Cheap to clone; the background thread stops when the last clone is
/// dropped, after committing what is still queued.
#[derive(Clone)]
pub struct ExecutionWriter {
    jobs: mpsc::Sender<Message>,
    observer: SharedObserver,
}

impl std::fmt::Debug for ExecutionWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecutionWriter").finish_non_exhaustive()
    }
}

impl ExecutionWriter {
    /// Starts the background thread over `sink`. Backends wrap this (see
    /// [`MetadataStore::spawn_execution_writer`](crate::MetadataStore::spawn_execution_writer)).
    pub fn spawn(sink: Box<dyn ExecutionSink>, config: WriterConfig) -> Result<Self> {
        let (jobs, queue) = mpsc::channel(config.queue_capacity.max(1));
        let max_batch = config.max_batch.max(1);
        let observer = SharedObserver::default();
        let thread_observer = observer.clone();
        // A plain thread, not a tokio task: the commit blocks on disk I/O, and a dedicated thread
        // keeps that off the async workers without occupying the blocking pool forever.
        thread::Builder::new()
            .name("wafer-exec-writer".into())
            .spawn(move || run(sink, queue, max_batch, &thread_observer))
            .map_err(StoreError::backend)?;
        Ok(ExecutionWriter { jobs, observer })
    }

    /// Tells `observer` of every commit from now on. The first observer stays; later calls are
    /// ignored.
    pub fn observe(&self, observer: Arc<dyn WriterObserver>) {
        let _ = self.observer.set(observer);
    }

    /// Queues one record and resolves once it is committed (or failed). Waits while the queue is full.
    pub async fn write(&self, record: impl Into<ExecutionWrite>) -> Result<()> {
        let (ack, done) = oneshot::channel();
        let job = Job {
            record: record.into(),
            ack: Some(ack),
        };
        self.jobs
            .send(Message::Write(job))
            .await
            .map_err(|_| StoreError::Closed)?;
        done.await.map_err(|_| StoreError::Closed)?
    }

    /// Queues one record without waiting for its commit (which follows within one group commit,
    /// typically milliseconds); a failure to store it is logged. Waits while the queue is full,
    /// so a slow database still slows callers down rather than letting memory grow.
    pub async fn enqueue(&self, record: impl Into<ExecutionWrite>) -> Result<()> {
        let job = Job {
            record: record.into(),
            ack: None,
        };
        self.jobs
            .send(Message::Write(job))
            .await
            .map_err(|_| StoreError::Closed)
    }

    /// Resolves once every record queued before this call (with [`write`](Self::write) or
    /// [`enqueue`](Self::enqueue)) has been committed or has failed: what a server stopping
    /// calls, so no record it took on is lost with the process.
    pub async fn flush(&self) -> Result<()> {
        let (done, flushed) = oneshot::channel();
        self.jobs
            .send(Message::Flush(done))
            .await
            .map_err(|_| StoreError::Closed)?;
        flushed.await.map_err(|_| StoreError::Closed)
    }
}

fn run(
    mut sink: Box<dyn ExecutionSink>,
    mut queue: mpsc::Receiver<Message>,
    max_batch: usize,
    observer: &SharedObserver,
) {
    tracing::debug!("execution writer started");
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    while let Some(message) = queue.blocking_recv() {
        let flushed = match message {
            Message::Write(job) => {
                batch.push(job);
                // Everything already queued joins this commit: that is the group in group
                // commit. A flush request ends the group, and is answered after its commit.
                collect_batch(&mut queue, &mut batch, max_batch)
            }
            Message::Flush(done) => Some(done),
        };
        if !batch.is_empty() {
            let (records, started) = (batch.len(), Instant::now());
            commit(sink.as_mut(), &mut batch);
            if let Some(observer) = observer.get() {
                observer.committed(records, started.elapsed());
            }
        }
        if let Some(done) = flushed {
            let _ = done.send(());
        }
    }
    tracing::debug!("execution writer stopped");
}

/// Adds what is already queued to `batch`, up to `max_batch`, stopping at a flush request,
/// which it returns.
fn collect_batch(
    queue: &mut mpsc::Receiver<Message>,
    batch: &mut Vec<Job>,
    max_batch: usize,
) -> Option<oneshot::Sender<()>> {
    while batch.len() < max_batch {
        match queue.try_recv() {
            Ok(Message::Write(job)) => batch.push(job),
            Ok(Message::Flush(done)) => return Some(done),
            Err(_) => break,
        }
    }
    None
}

fn commit(sink: &mut dyn ExecutionSink, batch: &mut Vec<Job>) {
    let (records, acks): (Vec<ExecutionWrite>, Vec<_>) =
        batch.drain(..).map(|job| (job.record, job.ack)).unzip();
    let outcomes = match sink.commit_batch(&records) {
        Ok(outcomes) if outcomes.len() == records.len() => outcomes,
        Ok(outcomes) => {
            let err = StoreError::backend_msg(format!(
                "execution sink returned {} outcomes for {} records",
                outcomes.len(),
                records.len()
            ));
            vec![Err(err); records.len()]
        }
        Err(err) => {
            tracing::error!(%err, records = records.len(), "execution batch commit failed");
            vec![Err(err); records.len()]
        }
    };
    tracing::trace!(records = records.len(), "execution batch committed");
    for ((ack, outcome), record) in acks.into_iter().zip(outcomes).zip(&records) {
        match ack {
            // A caller that stopped waiting (its request was cancelled) no longer needs the answer.
            Some(ack) => drop(ack.send(outcome)),
            None => {
                if let Err(err) = outcome {
                    let execution = &record.execution;
                    tracing::error!(%err, execution = %execution.id, function = %execution.function_id, "execution record not stored");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;

    /// Records batch sizes; the first commit is slow so later writes pile up behind it.
    struct SlowSink {
        batches: Arc<Mutex<Vec<usize>>>,
    }

    impl ExecutionSink for SlowSink {
        fn commit_batch(&mut self, batch: &[ExecutionWrite]) -> Result<Vec<Result<()>>> {
            let mut batches = self.batches.lock().unwrap();
            if batches.is_empty() {
                thread::sleep(Duration::from_millis(100));
            }
            batches.push(batch.len());
            Ok(batch
                .iter()
                .map(|w| match w.execution.id.as_str() {
                    "bad" => Err(StoreError::InvalidArgument("bad record".into())),
                    _ => Ok(()),
                })
                .collect())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_writes_share_a_commit_and_get_their_own_outcome() {
        let batches = Arc::new(Mutex::new(Vec::new()));
        let sink = SlowSink {
            batches: Arc::clone(&batches),
        };
        let config = WriterConfig {
            queue_capacity: 1000,
            max_batch: 64,
        };
        let writer = ExecutionWriter::spawn(Box::new(sink), config).unwrap();
        let mut tasks = Vec::new();
        for i in 0..200 {
            let writer = writer.clone();
            let id = if i == 150 {
                "bad".to_owned()
            } else {
                i.to_string()
            };
            let record = Execution {
                id,
                ..Execution::default()
            };
            tasks.push(tokio::spawn(async move { writer.write(record).await }));
        }
        let mut failures = 0;
        for task in tasks {
            if task.await.unwrap().is_err() {
                failures += 1;
            }
        }
        assert_eq!(failures, 1);
        let batches = batches.lock().unwrap().clone();
        assert_eq!(batches.iter().sum::<usize>(), 200);
        assert!(batches.iter().all(|n| *n <= 64), "{batches:?}");
        assert!(batches.len() < 200, "writes were grouped: {batches:?}");
    }

    struct FailingSink;

    impl ExecutionSink for FailingSink {
        fn commit_batch(&mut self, _batch: &[ExecutionWrite]) -> Result<Vec<Result<()>>> {
            Err(StoreError::backend_msg("disk full"))
        }
    }

    /// Commits nothing until the test opens its gate.
    struct GatedSink {
        gate: std::sync::mpsc::Receiver<()>,
        committed: Arc<Mutex<usize>>,
    }

    impl ExecutionSink for GatedSink {
        fn commit_batch(&mut self, batch: &[ExecutionWrite]) -> Result<Vec<Result<()>>> {
            let _ = self.gate.recv();
            *self.committed.lock().unwrap() += batch.len();
            Ok(batch.iter().map(|_| Ok(())).collect())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn enqueued_records_are_committed_without_their_callers_waiting() {
        let (open, gate) = std::sync::mpsc::sync_channel(0);
        let committed = Arc::new(Mutex::new(0));
        let sink = GatedSink {
            gate,
            committed: Arc::clone(&committed),
        };
        let writer = ExecutionWriter::spawn(Box::new(sink), WriterConfig::default()).unwrap();
        for i in 0..10 {
            let record = Execution {
                id: i.to_string(),
                ..Execution::default()
            };
            // Returns although no commit can happen yet.
            writer.enqueue(record).await.unwrap();
        }
        assert_eq!(*committed.lock().unwrap(), 0);
        // Open the gate for every batch from now on (each send waits for a commit to take it);
        // a waiting write queued behind the enqueued records resolves once all are committed.
        std::thread::spawn(move || while open.send(()).is_ok() {});
        writer.write(Execution::default()).await.unwrap();
        assert_eq!(*committed.lock().unwrap(), 11);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flush_resolves_only_once_every_enqueued_record_is_committed() {
        let (open, gate) = std::sync::mpsc::sync_channel(0);
        let committed = Arc::new(Mutex::new(0));
        let sink = GatedSink {
            gate,
            committed: Arc::clone(&committed),
        };
        let config = WriterConfig {
            queue_capacity: 100,
            max_batch: 4,
        };
        let writer = ExecutionWriter::spawn(Box::new(sink), config).unwrap();
        for i in 0..10 {
            let record = Execution {
                id: i.to_string(),
                ..Execution::default()
            };
            writer.enqueue(record).await.unwrap();
        }
        let flush = tokio::spawn({
            let writer = writer.clone();
            async move { writer.flush().await }
        });
        // Let the first batch through: the flush still waits for the others.
        open.send(()).unwrap();
        assert!(!flush.is_finished());
        std::thread::spawn(move || while open.send(()).is_ok() {});
        flush.await.unwrap().unwrap();
        assert_eq!(*committed.lock().unwrap(), 10);
    }

    #[tokio::test]
    async fn a_failed_commit_fails_every_caller_of_the_batch() {
        let writer =
            ExecutionWriter::spawn(Box::new(FailingSink), WriterConfig::default()).unwrap();
        let err = writer.write(Execution::default()).await.unwrap_err();
        assert!(err.to_string().contains("disk full"), "{err}");
    }
}
