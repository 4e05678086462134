//! sutra-bulk-ingester: accepts newline-separated records and counts what it ingested.
use std::env;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

fn main() {
    let totals = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
    serve("8005", move |req| match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/health") => json("200 OK", "{\"status\":\"ok\",\"service\":\"sutra-bulk-ingester\"}".to_string()),
        ("POST", "/ingest") => {
            let lines = req.body.split(|b| *b == b'\n').filter(|l| !l.iter().all(u8::is_ascii_whitespace)).count() as u64;
            let bytes = req.body.len() as u64;
            let total_lines = totals.0.fetch_add(lines, Ordering::Relaxed) + lines;
            let total_bytes = totals.1.fetch_add(bytes, Ordering::Relaxed) + bytes;
            json(
                "200 OK",
                format!(
                    "{{\"lines\":{},\"bytes\":{},\"total_lines\":{},\"total_bytes\":{}}}",
                    lines, bytes, total_lines, total_bytes
                ),
            )
        }
        ("GET", "/stats") => json(
            "200 OK",
            format!(
                "{{\"total_lines\":{},\"total_bytes\":{}}}",
                totals.0.load(Ordering::Relaxed),
                totals.1.load(Ordering::Relaxed)
            ),
        ),
        _ => json("404 Not Found", "{\"error\":\"not found\"}".to_string()),
    });
}

// ---- minimal HTTP/1.1 plumbing (same shape in every Sutra Rust service; std only) ----
#[allow(dead_code)] // not every service reads every field
struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
}

type Reply = (&'static str, &'static str, Vec<u8>);

const MAX_BODY: usize = 16 << 20;

fn read_request(stream: &TcpStream) -> io::Result<Request> {
    let bad = |msg: &str| io::Error::new(io::ErrorKind::InvalidData, msg.to_string());
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().ok_or_else(|| bad("empty request"))?.to_string();
    let path = parts.next().unwrap_or("/").split('?').next().unwrap_or("/").to_string();
    let mut len = 0;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                len = value.trim().parse().map_err(|_| bad("bad content-length"))?;
            }
        }
    }
    if len > MAX_BODY {
        return Err(bad("body too large"));
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    Ok(Request { method, path, body })
}

fn json(status: &'static str, body: String) -> Reply {
    (status, "application/json", body.into_bytes())
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn serve<F: Fn(Request) -> Reply + Send + Sync + 'static>(default_port: &str, handler: F) {
    let port = env::var("PORT").unwrap_or_else(|_| default_port.to_string());
    let port: u16 = port.trim().parse().expect("PORT must be a port number");
    let listener = TcpListener::bind(("0.0.0.0", port)).expect("cannot bind port");
    eprintln!("{} listening on 0.0.0.0:{}", env!("CARGO_PKG_NAME"), port);
    let handler = Arc::new(handler);
    for mut stream in listener.incoming().flatten() {
        let handler = handler.clone();
        thread::spawn(move || {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let (status, content_type, body) = match read_request(&stream) {
                Ok(req) => handler(req),
                Err(e) => json("400 Bad Request", format!("{{\"error\":{}}}", json_str(&e.to_string()))),
            };
            let head = format!(
                "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                status, content_type, body.len()
            );
            let _ = stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(&body));
        });
    }
}
