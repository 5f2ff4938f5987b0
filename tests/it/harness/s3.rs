//! A real S3 API on loopback for the attachment store's tests: moto's server (`moto[server]` from PyPI, installed by
//! tests/run.sh), started once per test process on a free port, with a bucket of its own for each test.
//!
//! The service reads the standard `AWS_*` variables; a test never sets them in its own process (other threads read
//! the environment), it hands `env()` to `BlobStore::from_settings_and_env` or to the real binary's environment.

use std::os::unix::process::CommandExt as _;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::process::{free_port, http_request, status_of};

/// The port of this test process's moto server, started on first use.
fn port() -> u16 {
    static PORT: OnceLock<u16> = OnceLock::new();
    *PORT.get_or_init(start)
}

/// Starts moto's server from a thread that lives as long as the test process: the server is asked to die with the
/// thread that started it (PR_SET_PDEATHSIG), so it goes when the tests end, however they end.
fn start() -> u16 {
    let port = free_port();
    let (started, outcome) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut command = if Command::new("moto_server").arg("--help").output().is_ok_and(|o| o.status.success()) {
            Command::new("moto_server")
        } else {
            let mut python = Command::new("python3");
            python.args(["-m", "moto.server"]);
            python
        };
        command.args(["-H", "127.0.0.1", "-p", &port.to_string()]).stdout(Stdio::null()).stderr(Stdio::null());
        // SAFETY: prctl is async-signal-safe and touches nothing of the parent's.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let spawned = command.spawn();
        let failed = spawned.as_ref().err().map(|e| e.to_string());
        started.send(failed).unwrap();
        let _keep = spawned;
        loop {
            std::thread::park();
        }
    });
    if let Some(error) = outcome.recv().unwrap() {
        panic!("cannot start moto's S3 server ({error}): install it with python3 -m pip install 'moto[server]'");
    }
    let begun = Instant::now();
    while http_request(port, "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n").is_none() {
        assert!(begun.elapsed() < Duration::from_secs(60), "moto's S3 server did not answer within 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    port
}

/// The `AWS_*` variables that point the service at the local server.
pub fn env() -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{}", port())),
        ("AWS_ALLOW_HTTP", "true".to_owned()),
        ("AWS_ACCESS_KEY_ID", "handbook-tests".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "handbook-tests".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect()
}

/// A new empty bucket.
pub fn bucket() -> String {
    let name = format!("hb-{}", uuid::Uuid::new_v4().simple());
    let answer = http_request(port(), &format!("PUT /{name} HTTP/1.0\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n"))
        .expect("moto answers");
    assert_eq!(status_of(&answer), 200, "create bucket {name}: {answer}");
    name
}

/// The keys of every object in `bucket`, sorted.
pub fn keys(bucket: &str) -> Vec<String> {
    let answer = http_request(port(), &format!("GET /{bucket}?list-type=2 HTTP/1.0\r\nHost: localhost\r\n\r\n"))
        .expect("moto answers");
    assert_eq!(status_of(&answer), 200, "list bucket {bucket}: {answer}");
    let mut keys: Vec<String> =
        answer.split("<Key>").skip(1).map(|rest| rest.split("</Key>").next().unwrap_or_default().to_owned()).collect();
    keys.sort();
    keys
}

/// Unfinished multipart uploads in `bucket` (none once an upload completed or was aborted).
pub fn pending_uploads(bucket: &str) -> usize {
    let answer = http_request(port(), &format!("GET /{bucket}?uploads HTTP/1.0\r\nHost: localhost\r\n\r\n"))
        .expect("moto answers");
    assert_eq!(status_of(&answer), 200, "list uploads of {bucket}: {answer}");
    answer.matches("<UploadId>").count()
}
