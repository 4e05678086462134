//! sutra-grid-master: registry of grid agents (agents POST /agents/<id> as a heartbeat).
use std::collections::BTreeMap;
use std::env;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

fn main() {
    // agent id -> (first registered, last seen), unix seconds
    let agents: Arc<Mutex<BTreeMap<String, (u64, u64)>>> = Arc::new(Mutex::new(BTreeMap::new()));
    serve("7001", move |req| {
        let mut agents = agents.lock().unwrap_or_else(|e| e.into_inner());
        match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/health") => json("200 OK", "{\"status\":\"ok\",\"service\":\"sutra-grid-master\"}".to_string()),
            ("GET", "/agents") => {
                let list: Vec<String> = agents
                    .iter()
                    .map(|(id, (first, last))| {
                        format!("{{\"id\":{},\"registered_at\":{},\"last_seen\":{}}}", json_str(id), first, last)
                    })
                    .collect();
                json("200 OK", format!("{{\"agents\":[{}]}}", list.join(",")))
            }
            ("POST", path) if path.starts_with("/agents/") => {
                let id = &path["/agents/".len()..];
                if !valid_id(id) {
                    return json("400 Bad Request", "{\"error\":\"agent id must match [A-Za-z0-9._-]{1,128}\"}".to_string());
                }
                let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
                let entry = agents.entry(id.to_string()).or_insert((now, now));
                entry.1 = now;
                json("200 OK", format!("{{\"id\":{},\"registered\":true,\"agents\":{}}}", json_str(id), agents.len()))
            }
            _ => json("404 Not Found", "{\"error\":\"not found\"}".to_string()),
        }
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
