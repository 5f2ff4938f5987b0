//! The real binary: its start on no configuration, its one-line errors, and its graceful stop.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::harness;
use crate::harness::process::{body_of, free_port, handbook, http_request, post_json, stop};

fn run_within(mut command: Command, limit: Duration) -> (Output, Duration) {
    let started = Instant::now();
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start handbook");
    while child.try_wait().unwrap().is_none() {
        assert!(started.elapsed() < limit, "handbook did not exit within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    (child.wait_with_output().unwrap(), started.elapsed())
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    Some(answer)
}

fn wait_for_http(child: &mut Child, port: u16, path: &str) -> String {
    let started = Instant::now();
    loop {
        if let Some(answer) = http_get(port, path) {
            return answer;
        }
        assert!(child.try_wait().unwrap().is_none(), "the server exited early");
        assert!(started.elapsed() < Duration::from_secs(20), "the server did not answer within 20 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `serve` in `cwd`; returns the child, its port, and what it printed to standard output.
fn start_server(cwd: &Path) -> (Child, u16, std::sync::mpsc::Receiver<String>) {
    let port = free_port();
    let mut child = handbook(cwd)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        let _ = send.send(text);
    });
    wait_for_http(&mut child, port, "/healthz");
    (child, port, receive)
}

#[test]
fn serve_with_no_configuration_creates_the_sqlite_database_and_answers() {
    let cwd = tempfile::tempdir().unwrap();
    let (child, port, printed) = start_server(cwd.path());
    let health = http_get(port, "/healthz").unwrap();
    let database_created = cwd.path().join("data/handbook.db").is_file();
    let status = stop(child);
    let printed = printed.recv_timeout(Duration::from_secs(5)).unwrap();

    assert!(health.starts_with("HTTP/1.0 200") && health.contains(r#"{"status":"ok"}"#), "{health}");
    assert!(database_created, "./data/handbook.db was not created");
    assert!(status.success(), "exit status after SIGTERM: {status}");

    // The first start printed the first admin's password, once; it signs in and sees the committees.
    let password = printed
        .lines()
        .find_map(|line| line.trim().strip_prefix("password:"))
        .map(|p| p.trim().to_owned())
        .unwrap_or_else(|| panic!("no admin password printed: {printed}"));
    let (child, port, printed_again) = start_server(cwd.path());
    let body = format!(r#"{{"login":"admin","password":"{password}"}}"#);
    let login = http_request(
        port,
        &format!(
            "POST /api/v1/auth/login HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
    .unwrap();
    let token = body_of(&login)["access_token"].as_str().map(str::to_owned).unwrap_or_else(|| panic!("{login}"));
    let committees =
        http_request(port, &format!("GET /api/v1/committees HTTP/1.0\r\nAuthorization: Bearer {token}\r\n\r\n"))
            .unwrap();
    stop(child);
    assert!(committees.starts_with("HTTP/1.0 200") && committees.contains(r#""items""#), "{committees}");
    let printed_again = printed_again.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(!printed_again.contains("password"), "the password was shown again: {printed_again}");
}

#[test]
fn an_unsupported_database_scheme_exits_1_with_one_clear_line() {
    let cwd = tempfile::tempdir().unwrap();
    let mut command = handbook(cwd.path());
    command.args(["serve"]).env("DATABASE_URL", "mysql://root:hunter2@localhost/handbook");
    let (output, took) = run_within(command, Duration::from_secs(10));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("unsupported scheme") && stderr.contains("mysql://root:***@localhost/handbook"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "the password leaked: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(took < Duration::from_secs(5));
}

#[test]
fn an_unreachable_postgres_exits_1_naming_the_url_and_the_cause() {
    let cwd = tempfile::tempdir().unwrap();
    let port = free_port(); // nothing listens there
    let url = format!("postgres://handbook:hunter2@127.0.0.1:{port}/handbook");
    let mut command = handbook(cwd.path());
    command.args(["migrate", "--database-url", &url]);
    let (output, took) = run_within(command, Duration::from_secs(15));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("postgres://handbook:***@127.0.0.1:{port}/handbook")), "{stderr}");
    assert!(stderr.to_lowercase().contains("connection refused"), "the real cause is missing: {stderr}");
    assert!(!stderr.contains("hunter2"), "the password leaked: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn migrate_creates_the_schema_and_is_idempotent() {
    let cwd = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let mut command = handbook(cwd.path());
        command.args(["migrate", "--data-dir", "state"]);
        let (output, _) = run_within(command, Duration::from_secs(20));
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        assert!(String::from_utf8_lossy(&output.stdout).contains("up to date"));
    }
    assert!(cwd.path().join("state/handbook.db").is_file());
}

#[test]
fn help_lists_the_commands_and_settings() {
    let cwd = tempfile::tempdir().unwrap();
    let mut command = handbook(cwd.path());
    command.arg("--help");
    let (output, _) = run_within(command, Duration::from_secs(10));
    let help = String::from_utf8_lossy(&output.stdout);
    for word in ["serve", "migrate", "DATABASE_URL", "HANDBOOK_DATA_DIR", "HANDBOOK_LOG"] {
        assert!(help.contains(word), "--help does not mention {word}:\n{help}");
    }
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Everything secret that a whole sign-in story handles must stay out of the logs, even at trace level.
#[test]
fn no_secret_reaches_the_logs() {
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(cwd.path().join("committees.csv"), "code,name\nHK,Quận ủy Hoàn Kiếm\n").unwrap();
    std::fs::write(
        cwd.path().join("members.csv"),
        "card_number,full_name,committee_code,unit,cell,status\n100000001,Nguyễn Văn A,HK,U,C,eligible\n",
    )
    .unwrap();
    for args in [&["committees", "import", "committees.csv"][..], &["import-members", "members.csv"][..]] {
        let mut command = handbook(cwd.path());
        command.args(args);
        let (output, _) = run_within(command, Duration::from_secs(20));
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    let log_path = cwd.path().join("server.log");
    let port = free_port();
    let mut child = handbook(cwd.path())
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("HANDBOOK_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    wait_for_http(&mut child, port, "/healthz");

    let mut secrets: Vec<String> = Vec::new();
    let mut printed = [0u8; 4096];
    let n = stdout.read(&mut printed).unwrap();
    let printed = String::from_utf8_lossy(&printed[..n]).to_string();
    let admin_password = printed.lines().find_map(|l| l.trim().strip_prefix("password:")).unwrap().trim().to_owned();
    secrets.push(admin_password.clone());

    let login =
        post_json(port, "/api/v1/auth/login", &format!(r#"{{"login":"admin","password":"{admin_password}"}}"#), None);
    let tokens = body_of(&login);
    let admin_token = tokens["access_token"].as_str().unwrap().to_owned();
    secrets.push(admin_token.clone());
    secrets.push(tokens["refresh_token"].as_str().unwrap().to_owned());
    let wrong = post_json(port, "/api/v1/auth/login", r#"{"login":"admin","password":"a wrong guess 123"}"#, None);
    assert!(wrong.starts_with("HTTP/1.0 401"));
    secrets.push("a wrong guess 123".into());

    let issued = post_json(port, "/api/v1/admin/members/100000001/activation-code", "{}", Some(&admin_token));
    let code = body_of(&issued)["activation_code"].as_str().unwrap().to_owned();
    secrets.push(code.clone());
    let member_password = "mật khẩu bí mật 42";
    let activated = post_json(
        port,
        "/api/v1/auth/activate",
        &format!(r#"{{"card_number":"100000001","activation_code":"{code}","new_password":"{member_password}"}}"#),
        None,
    );
    let member = body_of(&activated);
    secrets.push(member_password.into());
    let refresh_token = member["refresh_token"].as_str().unwrap().to_owned();
    secrets.push(member["access_token"].as_str().unwrap().to_owned());
    secrets.push(refresh_token.clone());
    let rotated = post_json(port, "/api/v1/auth/refresh", &format!(r#"{{"refresh_token":"{refresh_token}"}}"#), None);
    secrets.push(body_of(&rotated)["refresh_token"].as_str().unwrap().to_owned());
    // Reuse: revokes the family and logs a warning, which must not name the token either.
    post_json(port, "/api/v1/auth/refresh", &format!(r#"{{"refresh_token":"{refresh_token}"}}"#), None);
    stop(child);

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("/api/v1/auth/refresh"), "the log was captured: {log}");
    let hashes: Vec<String> = secrets.iter().map(|s| sha256_hex(s)).collect();
    for secret in secrets.iter().chain(hashes.iter()) {
        assert!(!log.contains(secret.as_str()), "a secret reached the log: {secret}");
    }
    let compact_code = code.replace('-', "");
    assert!(!log.contains(&compact_code));
}

#[test]
fn demo_data_then_a_coverage_snapshot_twice() {
    let cwd = tempfile::tempdir().unwrap();
    let mut command = handbook(cwd.path());
    command.args(["demo-data", "--members", "500", "--documents", "10"]);
    let (output, _) = run_within(command, Duration::from_secs(60));
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success() && printed.contains("10 documents published"), "{printed}");
    for _ in 0..2 {
        let mut command = handbook(cwd.path());
        command.args(["coverage", "snapshot"]);
        let (output, _) = run_within(command, Duration::from_secs(30));
        assert!(String::from_utf8_lossy(&output.stdout).contains("stored for 48 committees"));
    }
}

#[test]
fn a_backup_restores_into_a_server_with_the_same_data() {
    let cwd = tempfile::tempdir().unwrap();
    let mut command = handbook(cwd.path());
    command.args(["demo-data", "--members", "400", "--documents", "8"]);
    assert!(run_within(command, Duration::from_secs(60)).0.status.success());
    let mut command = handbook(cwd.path());
    command.args(["backup", "--to", "copy.db"]);
    let (output, _) = run_within(command, Duration::from_secs(30));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let mut again = handbook(cwd.path());
    again.args(["backup", "--to", "copy.db"]);
    assert_eq!(run_within(again, Duration::from_secs(30)).0.status.code(), Some(1), "never overwrites");

    // Restore: serve the copy, and it holds the same members and documents.
    let restored = cwd.path().join("restored");
    std::fs::create_dir(&restored).unwrap();
    std::fs::copy(cwd.path().join("copy.db"), restored.join("handbook.db")).unwrap();
    let (server, port) = harness::process::serve(&restored, &[], &[]);
    assert!(harness::process::get(port, "/readyz", None, "").starts_with("HTTP/1.0 200"));
    harness::process::stop(server);
    let count = |dir: &Path, table: &str| {
        let db = handbook::db::open(&format!("sqlite://{}", dir.join("handbook.db").display()), 1).unwrap();
        let mut conn = db.pool().get().unwrap();
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        use diesel::RunQueryDsl;
        diesel::sql_query(format!("SELECT count(*) AS n FROM {table}")).get_result::<N>(&mut *conn).unwrap().n
    };
    for table in ["members", "documents", "committees", "coverage_counts"] {
        assert_eq!(count(&cwd.path().join("data"), table), count(&restored, table), "{table}");
    }
    assert!(count(&restored, "members") > 400);
}

#[test]
fn a_body_dripped_a_byte_at_a_time_is_cut_off_with_408() {
    let cwd = tempfile::tempdir().unwrap();
    let (server, port) = harness::process::serve(cwd.path(), &[], &[("HANDBOOK_BODY_TIMEOUT", "1")]);
    let body = r#"{"login":"nobody.here","password":"not the password"}"#;
    let head = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );

    // Sent at once, the same request is an ordinary failed sign-in.
    let prompt = http_request(port, &format!("{head}{body}").replace("HTTP/1.1", "HTTP/1.0")).unwrap();
    assert_eq!(harness::process::status_of(&prompt), 401, "{prompt}");

    // Dripped a byte every 200 ms, it runs out of time after about a second (1 s + 1 s per 500 bytes).
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    let started = Instant::now();
    let dripping = stream.try_clone().unwrap();
    let drip = std::thread::spawn(move || {
        let mut dripping = dripping;
        for byte in body.bytes() {
            if dripping.write_all(&[byte]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("the server closes the connection");
    let waited = started.elapsed();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("/problems/request-timeout"), "{answer}");
    assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(5), "cut off after {waited:?}");
    drip.join().unwrap();
    stop(server);
}

/// Mode bits of a file or folder.
fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

/// Every file under a folder.
fn files_under(folder: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[test]
fn the_data_folder_and_everything_in_it_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let cwd = tempfile::tempdir().unwrap();
    let data = cwd.path().join("data");
    let private_files = |what: &str| {
        let files = files_under(&data);
        assert!(
            files.iter().any(|f| f.ends_with("handbook.db"))
                && files.iter().any(|f| f.ends_with("jwt-signing-keys.pem"))
        );
        for file in files {
            assert_eq!(mode_of(&file), 0o600, "{what}: {}", file.display());
        }
        assert_eq!(mode_of(&data), 0o700, "{what}: the data folder");
    };

    // Demo data brings attachments (blobs in data/attachments); the server its signing key and a WAL.
    let mut command = handbook(cwd.path());
    command.args(["demo-data", "--members", "200", "--documents", "20"]);
    assert!(run_within(command, Duration::from_secs(60)).0.status.success());
    let (child, port, _) = start_server(cwd.path());
    assert!(http_get(port, "/metrics").unwrap().starts_with("HTTP/1.0 200"), "metrics from loopback");
    let attachments = files_under(&data.join("attachments"));
    assert!(!attachments.is_empty(), "the demo data stored attachments");
    assert!(data.join("handbook.db-wal").exists(), "the server keeps a WAL");
    private_files("while serving");
    stop(child);

    let mut command = handbook(cwd.path());
    command.args(["backup", "--to", "copy.db"]);
    assert!(run_within(command, Duration::from_secs(30)).0.status.success());
    assert_eq!(mode_of(&cwd.path().join("copy.db")), 0o600, "the backup");

    // What an older version left readable to all is made private at the next start.
    for path in [data.clone(), data.join("handbook.db"), data.join("jwt-signing-keys.pem")] {
        let mode = if path.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let (child, _, _) = start_server(cwd.path());
    private_files("after an upgrade");
    stop(child);
}

#[test]
fn admin_create_refuses_a_piped_password_the_api_would_refuse() {
    let cwd = tempfile::tempdir().unwrap();
    let create = |login: &str, password: &str| {
        let mut child = handbook(cwd.path())
            .args(["admin", "create", "--login", login])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(password.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    for (login, password) in
        [("weak.admin", "password1\n"), ("weak.admin", "Weak.Admin\n"), ("weak.admin", "        \n")]
    {
        let refused = create(login, password);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success(), "{password:?} was accepted");
        assert!(stderr.starts_with("error: password must") || stderr.starts_with("error: password is"), "{stderr}");
    }
    let created = create("weak.admin", "a sound admin passphrase\n");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
}
