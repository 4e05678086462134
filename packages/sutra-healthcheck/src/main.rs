//! sutra-healthcheck URL [--timeout SECONDS]: std-only health probe for images without Python.
//! HTTP GET (plain http:// only); exit 0 on a 2xx answer, 1 otherwise with one line on stderr.
use std::env;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process;
use std::time::Duration;

fn fail(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::Other, msg.to_string())
}

fn parse_args() -> io::Result<(String, Duration)> {
    let (mut url, mut timeout) = (None, 2.0_f64);
    let mut args = env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = if arg == "--timeout" {
            Some(args.next().ok_or_else(|| fail("--timeout needs a value"))?)
        } else {
            arg.strip_prefix("--timeout=").map(str::to_string)
        };
        match value {
            Some(v) => timeout = v.parse().map_err(|_| fail("--timeout must be a number"))?,
            None if url.is_none() && !arg.starts_with('-') => url = Some(arg),
            None => return Err(fail("usage: sutra-healthcheck URL [--timeout SECONDS]")),
        }
    }
    let url = url.ok_or_else(|| fail("usage: sutra-healthcheck URL [--timeout SECONDS]"))?;
    if !(timeout > 0.0 && timeout < 86400.0) {
        return Err(fail("--timeout must be positive"));
    }
    Ok((url, Duration::from_secs_f64(timeout)))
}

/// Returns the HTTP status code of GET url.
fn probe(url: &str, timeout: Duration) -> io::Result<u16> {
    let rest = url.strip_prefix("http://").ok_or_else(|| fail("only http:// URLs are supported"))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = if host.rsplit(']').next().unwrap_or(host).contains(':') { host.to_string() } else { format!("{}:80", host) };
    let mut last_err = fail("host did not resolve");
    for sock in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&sock, timeout) {
            Ok(mut stream) => {
                stream.set_read_timeout(Some(timeout))?;
                stream.set_write_timeout(Some(timeout))?;
                write!(stream, "GET {} HTTP/1.0\r\nHost: {}\r\nConnection: close\r\n\r\n", path, host)?;
                let mut status = String::new();
                BufReader::new(stream).read_line(&mut status)?;
                let code = status.split_whitespace().nth(1).and_then(|c| c.parse().ok());
                return code.ok_or_else(|| fail("malformed HTTP response"));
            }
            Err(e) => last_err = e,
        }
    }
    Err(last_err)
}

fn main() {
    let (url, timeout) = parse_args().unwrap_or_else(|e| {
        eprintln!("sutra-healthcheck: {}", e);
        process::exit(1)
    });
    match probe(&url, timeout) {
        Ok(code) if (200..300).contains(&code) => process::exit(0),
        Ok(code) => eprintln!("sutra-healthcheck: {}: HTTP {}", url, code),
        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
            eprintln!("sutra-healthcheck: {}: timed out", url)
        }
        Err(e) => eprintln!("sutra-healthcheck: {}: {}", url, e),
    }
    process::exit(1);
}
