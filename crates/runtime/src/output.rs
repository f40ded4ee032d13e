//! Bounded capture of what a guest writes: `context.log`/`context.error` and stdout/stderr.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// The notice that opens a log or error text whose beginning was cut.
pub fn truncation_notice(max_chars: usize) -> String {
    format!("[WARNING] Logs truncated. The output exceeded {max_chars} characters.\n")
}

/// Keeps the last `max_chars` characters written to it, and whether anything was dropped.
///
/// Memory stays bounded however much a guest writes: the buffer is trimmed back to its last
/// `max_chars` characters whenever it grows to twice what it held after the previous trim.
#[derive(Debug)]
pub struct OutputBuffer {
    bytes: Vec<u8>,
    max_chars: usize,
    trim_at: usize,
    truncated: bool,
}

impl OutputBuffer {
    pub fn new(max_chars: usize) -> Self {
        Self {
            bytes: Vec::new(),
            max_chars,
            trim_at: max_chars.saturating_mul(2).max(64),
            truncated: false,
        }
    }

    pub fn push(&mut self, data: &[u8]) {
        self.bytes.extend_from_slice(data);
        if self.bytes.len() > self.trim_at {
            self.trim();
        }
    }

    /// Appends `line` and a newline.
    pub fn push_line(&mut self, line: &str) {
        self.push(line.as_bytes());
        self.push(b"\n");
    }

    fn trim(&mut self) {
        let keep_from = start_of_last_chars(&self.bytes, self.max_chars);
        if keep_from > 0 {
            self.bytes.drain(..keep_from);
            self.truncated = true;
        }
        self.trim_at = self.bytes.len().saturating_mul(2).max(self.trim_at);
    }

    /// The captured text: the last `max_chars` characters (invalid UTF-8 replaced), prefixed by
    /// the truncation notice when anything was dropped.
    pub fn into_text(mut self) -> String {
        // Fewer bytes than `max_chars` are fewer characters too: nothing to cut.
        if self.bytes.len() > self.max_chars {
            self.trim();
        }
        let text = utf8_lossy(self.bytes);
        if !self.truncated {
            return text;
        }
        let mut out = truncation_notice(self.max_chars);
        out.push_str(&text);
        out
    }
}

/// The bytes as text, reusing their buffer when they are valid UTF-8 (the usual case).
fn utf8_lossy(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes)
        .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned())
}

/// Byte offset at which the last `max_chars` characters of `bytes` begin. Counts UTF-8
/// sequence starts, so invalid bytes count as one character each, as lossy decoding does.
fn start_of_last_chars(bytes: &[u8], max_chars: usize) -> usize {
    let mut chars = 0;
    for (index, byte) in bytes.iter().enumerate().rev() {
        let is_continuation = byte & 0b1100_0000 == 0b1000_0000;
        if is_continuation {
            continue;
        }
        chars += 1;
        if chars == max_chars {
            return index;
        }
    }
    0
}

/// An [`OutputBuffer`] shared between the store's host state and the guest's stdio streams.
#[derive(Clone, Debug)]
pub struct SharedOutput(Arc<Mutex<OutputBuffer>>);

impl SharedOutput {
    pub fn new(max_chars: usize) -> Self {
        Self(Arc::new(Mutex::new(OutputBuffer::new(max_chars))))
    }

    pub fn lock(&self) -> MutexGuard<'_, OutputBuffer> {
        // A poisoned lock only means another writer panicked mid-push; the buffer is still valid.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes the captured text, leaving an empty buffer behind.
    pub fn take_text(&self) -> String {
        let mut buffer = self.lock();
        let max_chars = buffer.max_chars;
        std::mem::replace(&mut *buffer, OutputBuffer::new(max_chars)).into_text()
    }
}

impl IsTerminal for SharedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for SharedOutput {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for SharedOutput {
    async fn ready(&mut self) {}
}

/// How much a guest may write in one `write` call; the buffer itself never refuses bytes.
const WRITE_PERMIT: usize = 1 << 20;

#[wasmtime_wasi::async_trait]
impl OutputStream for SharedOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.lock().push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_PERMIT)
    }
}

impl tokio::io::AsyncWrite for SharedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.lock().push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_output_is_kept_whole_without_notice() {
        let mut buffer = OutputBuffer::new(100);
        buffer.push_line("Hello, Logs!");
        assert_eq!(buffer.into_text(), "Hello, Logs!\n");
    }

    #[test]
    fn long_output_keeps_the_last_characters_behind_the_notice() {
        let mut buffer = OutputBuffer::new(10);
        for digit in 0..100 {
            buffer.push(format!("{}", digit % 10).as_bytes());
        }
        let text = buffer.into_text();
        assert_eq!(text, format!("{}0123456789", truncation_notice(10)));
    }

    #[test]
    fn multibyte_characters_are_counted_as_characters() {
        let mut buffer = OutputBuffer::new(3);
        buffer.push("ééééé".as_bytes());
        let text = buffer.into_text();
        assert!(text.ends_with("ééé"));
        assert!(!text.ends_with("éééé"));
    }

    #[test]
    fn more_bytes_than_max_chars_are_kept_when_the_characters_fit() {
        let mut buffer = OutputBuffer::new(5);
        buffer.push("ééé".as_bytes());
        assert_eq!(buffer.into_text(), "ééé");
    }

    #[test]
    fn invalid_utf8_is_replaced_not_dropped() {
        let mut buffer = OutputBuffer::new(100);
        buffer.push(b"ok \xff\xfe end");
        assert_eq!(buffer.into_text(), "ok \u{fffd}\u{fffd} end");
    }

    #[test]
    fn memory_stays_bounded_under_a_flood() {
        let mut buffer = OutputBuffer::new(1000);
        for _ in 0..100_000 {
            buffer.push(b"0123456789");
            assert!(buffer.bytes.len() <= 2 * 1000 + 10);
        }
    }
}
