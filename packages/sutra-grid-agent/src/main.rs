//! sutra-grid-agent: worker node that reports its identity and heartbeats to sutra-grid-master.
use std::env;
use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

fn agent_id() -> String {
    let from_file = fs::read_to_string("/etc/hostname").ok();
    let candidates = [env::var("AGENT_ID").ok(), env::var("HOSTNAME").ok(), from_file];
    let id = candidates.iter().flatten().map(|s| s.trim()).find(|s| !s.is_empty());
    id.unwrap_or("agent-1").to_string()
}

/// POST /agents/<id> to the master (plain http://host[:port] only); true on a 200 answer.
fn register(master: &str, id: &str) -> io::Result<bool> {
    let err = |msg: &str| io::Error::new(io::ErrorKind::InvalidInput, msg.to_string());
    let rest = master.strip_prefix("http://").ok_or_else(|| err("GRID_MASTER_URL must start with http://"))?;
    let host = rest.split('/').next().unwrap_or(rest);
    let addr = if host.contains(':') { host.to_string() } else { format!("{}:80", host) };
    let sock = addr.to_socket_addrs()?.next().ok_or_else(|| err("master address did not resolve"))?;
    let mut stream = TcpStream::connect_timeout(&sock, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "POST /agents/{} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", id, host)?;
    let mut status = String::new();
    BufReader::new(stream).read_line(&mut status)?;
    Ok(status.split_whitespace().nth(1) == Some("200"))
}

fn main() {
    let id = agent_id();
    let master = env::var("GRID_MASTER_URL").unwrap_or_else(|_| "http://sutra-grid-master:7001".to_string());
    let registered = Arc::new(AtomicBool::new(false));
    if !master.is_empty() {
        let (id, master, registered) = (id.clone(), master.clone(), registered.clone());
        thread::spawn(move || loop {
            let ok = register(&master, &id).unwrap_or_else(|e| {
                eprintln!("heartbeat to {} failed: {}", master, e);
                false
            });
            if ok != registered.swap(ok, Ordering::Relaxed) {
                eprintln!("agent {} registered with {}: {}", id, master, ok);
            }
            thread::sleep(Duration::from_secs(10));
        });
    }
    serve("8003", move |req| match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/health") => json("200 OK", "{\"status\":\"ok\",\"service\":\"sutra-grid-agent\"}".to_string()),
        ("GET", "/info") => json(
            "200 OK",
            format!(
                "{{\"agent_id\":{},\"master_url\":{},\"registered\":{}}}",
                json_str(&id),
                json_str(&master),
                registered.load(Ordering::Relaxed)
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
