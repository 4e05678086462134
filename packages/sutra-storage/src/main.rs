//! sutra-storage: in-memory key-value store with an append-only log in $DATA_DIR/storage.log.
use std::collections::HashMap;
use std::env;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

struct Store {
    map: HashMap<String, Vec<u8>>,
    log: Option<File>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{:02x}", b)).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// Replay the log (one `hex(key) TAB hex(value)` line per PUT), then open it for appending.
fn open_store() -> Store {
    let dir = PathBuf::from(env::var("DATA_DIR").unwrap_or_else(|_| "/data".to_string()));
    let path = dir.join("storage.log");
    let mut map = HashMap::new();
    let data = fs::read(&path).unwrap_or_default();
    let complete = data.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    for line in String::from_utf8_lossy(&data[..complete]).lines() {
        let mut fields = line.split('\t');
        if let (Some(k), Some(v)) = (fields.next().and_then(unhex), fields.next().and_then(unhex)) {
            if let Ok(k) = String::from_utf8(k) {
                map.insert(k, v);
            }
        }
    }
    eprintln!("replayed {} keys from {}", map.len(), path.display());
    let opened = fs::create_dir_all(&dir)
        .and_then(|_| OpenOptions::new().create(true).append(true).open(&path))
        .and_then(|f| if complete < data.len() { f.set_len(complete as u64).map(|_| f) } else { Ok(f) });
    // (set_len drops a torn last line left by a crash mid-append)
    let log = match opened {
        Ok(f) => Some(f),
        Err(e) => {
            eprintln!("warning: cannot write {} ({}); serving from memory only", path.display(), e);
            None
        }
    };
    Store { map, log }
}

fn main() {
    let store = Arc::new(Mutex::new(open_store()));
    serve("50051", move |req| {
        let mut s = store.lock().unwrap_or_else(|e| e.into_inner());
        let key = req.path.strip_prefix("/kv/").filter(|k| !k.is_empty()).map(str::to_string);
        match (req.method.as_str(), req.path.as_str(), key) {
            ("GET", "/health", _) => json(
                "200 OK",
                format!(
                    "{{\"status\":\"ok\",\"service\":\"sutra-storage\",\"keys\":{},\"persistent\":{}}}",
                    s.map.len(),
                    s.log.is_some()
                ),
            ),
            ("GET", _, Some(key)) => match s.map.get(&key) {
                Some(value) => ("200 OK", "application/octet-stream", value.clone()),
                None => json("404 Not Found", "{\"error\":\"no such key\"}".to_string()),
            },
            ("PUT", _, Some(key)) => {
                let line = format!("{}\t{}\n", hex(key.as_bytes()), hex(&req.body));
                if let Some(log) = s.log.as_mut() {
                    if let Err(e) = log.write_all(line.as_bytes()) {
                        eprintln!("warning: log append failed: {}", e);
                    }
                }
                let reply = format!("{{\"key\":{},\"bytes\":{}}}", json_str(&key), req.body.len());
                s.map.insert(key, req.body);
                json("200 OK", reply)
            }
            (_, _, Some(_)) => json("405 Method Not Allowed", "{\"error\":\"use GET or PUT\"}".to_string()),
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
