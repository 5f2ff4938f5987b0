//! The real binary in its own process, spoken to over plain HTTP/1.0 on loopback.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const BINARY: &str = env!("CARGO_BIN_EXE_handbook");

/// The binary with none of our settings inherited from the environment.
pub fn handbook(cwd: &Path) -> Command {
    let mut command = Command::new(BINARY);
    command.current_dir(cwd).env_remove("DATABASE_URL");
    for (key, _) in std::env::vars() {
        if key.starts_with("HANDBOOK_") {
            command.env_remove(key);
        }
    }
    command
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Sends a raw request; the whole answer, head and body.
pub fn http_request(port: u16, request: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    Some(answer)
}

pub fn get(port: u16, path: &str, token: Option<&str>, extra_headers: &str) -> String {
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    http_request(port, &format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n{auth}{extra_headers}\r\n")).unwrap()
}

pub fn post_json(port: u16, path: &str, body: &str, token: Option<&str>) -> String {
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    http_request(
        port,
        &format!(
            "POST {path} HTTP/1.0\r\nHost: localhost\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
    .unwrap()
}

pub fn status_of(answer: &str) -> u16 {
    answer.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

pub fn body_of(answer: &str) -> serde_json::Value {
    serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap_or_default()).unwrap_or_default()
}

/// Starts `serve` with extra arguments and environment; waits until `/healthz` answers.
pub fn serve(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> (Child, u16) {
    serve_logging_to(cwd, args, env, Stdio::null())
}

/// `serve`, its log (stderr) going to `log`.
pub fn serve_logging_to(cwd: &Path, args: &[&str], env: &[(&str, &str)], log: impl Into<Stdio>) -> (Child, u16) {
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let mut command = handbook(cwd);
    command.args(args).args(["serve", "--bind", &bind]).stdout(Stdio::null()).stderr(log);
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    let started = Instant::now();
    while http_request(port, "GET /healthz HTTP/1.0\r\n\r\n").is_none() {
        assert!(child.try_wait().unwrap().is_none(), "the server exited early");
        assert!(started.elapsed() < Duration::from_secs(30), "the server did not answer within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, port)
}

/// SIGTERM, then waits up to 10 s for a graceful exit.
pub fn stop(mut child: Child) -> ExitStatus {
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > Duration::from_secs(10) {
            child.kill().unwrap();
            panic!("no graceful stop within 10 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
