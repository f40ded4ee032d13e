//! Upstream servers on the loopback interface, for functions that make outbound requests.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The request heads an upstream received (request line and headers, as sent).
#[derive(Clone, Default)]
pub struct Heads(Arc<Mutex<Vec<String>>>);

impl Heads {
    pub fn all(&self) -> Vec<String> {
        self.0.lock().expect("heads lock").clone()
    }
}

/// Starts a loopback HTTP server that answers every request with `200 OK` and `body` as
/// `text/plain`, and returns its port. It serves until the test's runtime ends.
pub async fn answering(body: &'static str) -> u16 {
    recording(body).await.0
}

/// Like [`answering`], and also keeps the head of every request it receives.
pub async fn recording(body: &'static str) -> (u16, Heads) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("loopback listener");
    let port = listener.local_addr().expect("local address").port();
    let heads = Heads::default();
    let kept = heads.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let kept = kept.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&request).into_owned();
                kept.0.lock().expect("heads lock").push(head);
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\
                     connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (port, heads)
}
