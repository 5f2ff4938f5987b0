//! The console in a real browser: the binary on its own data folder (SQLite, or a fresh PostgreSQL database),
//! headless Chromium driven through ChromeDriver's W3C WebDriver API, axe-core injected into every page checked,
//! and screenshots at 1280 and 360 px wide kept under `target/screenshots/`.
//!
//! Needs `/usr/bin/chromium`, `/usr/bin/chromedriver` and axe-core in `target/axe` (`tests/run.sh` brings them).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use super::databases::TestDatabase;
use super::process::{self, free_port};
use super::Backend;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// The officer the site creates in HK, and its password.
pub const OFFICER: (&str, &str) = ("officer.hk", "officer password");

/// Runs a command to its end with `stdin`; its stdout (it must succeed).
pub fn run(mut command: Command, stdin: &str) -> String {
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

/// A child process, ended when the test ends, passed or failed.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 exchange with 127.0.0.1. ChromeDriver keeps the connection open whatever we ask, so the answer
/// is read by its Content-Length (or chunks).
pub fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> Option<(u16, String)> {
    http_with(port, method, path, &[], body)
}

/// As [`http`], with extra request headers.
pub fn http_with(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(120))).ok()?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let extra: String = headers.iter().map(|(name, value)| format!("{name}: {value}\r\n")).collect();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n{extra}\
         Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut raw = Vec::new();
    let mut buffer = [0u8; 64 * 1024];
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let rest = &raw[end + 4..];
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            let chunked = head.lines().any(|l| l.starts_with("transfer-encoding:") && l.contains("chunked"));
            let complete = match length {
                Some(length) => rest.len() >= length,
                None if chunked => rest.windows(5).any(|w| w == b"0\r\n\r\n"),
                None => false,
            };
            if complete {
                let status = head.split(' ').nth(1)?.parse().ok()?;
                let rest = match length {
                    Some(length) => &rest[..length],
                    None => rest,
                };
                let text = String::from_utf8_lossy(rest).into_owned();
                return Some((status, if chunked { unchunk(&text) } else { text }));
            }
        }
        let read = stream.read(&mut buffer).ok()?;
        if read == 0 {
            let text = String::from_utf8_lossy(&raw).into_owned();
            let (head, rest) = text.split_once("\r\n\r\n")?;
            let status = head.split(' ').nth(1)?.parse().ok()?;
            return Some((status, rest.to_owned()));
        }
        raw.extend_from_slice(&buffer[..read]);
    }
}

fn unchunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap_or(0);
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

pub fn wait_until(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(started.elapsed() < limit, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The folder screenshots are kept in.
pub fn screenshots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots")
}

/// The service in its own process on a fresh database, with a first admin, demo data and an officer of HK.
pub struct Site {
    pub backend: Backend,
    pub base: String,
    pub port: u16,
    pub admin_password: String,
    pub dir: PathBuf,
    database_url: String,
    _server: Running,
    _database: TestDatabase,
    _data: tempfile::TempDir,
}

impl Site {
    /// `demo`: the arguments of `demo-data` (e.g. `["--members", "2000", "--documents", "20"]`).
    pub fn start(backend: Backend, demo: &[&str]) -> Site {
        for program in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(program).is_file(),
                "{program} is missing: the browser tests need it. Run the tests with tests/run.sh, or install with \
                 `apt-get install -y chromium chromium-driver`."
            );
        }
        let data = tempfile::tempdir().unwrap();
        let dir = data.path().to_owned();
        let database = TestDatabase::fresh(backend, &dir);
        let database_url = database.url().to_owned();

        // The first start creates the first admin and prints its password once.
        let port = free_port();
        let mut first = Self::command(&dir, &database_url);
        first.args(["serve", "--bind", &format!("127.0.0.1:{port}")]).stdout(Stdio::piped()).stderr(Stdio::null());
        let mut server = Running(first.spawn().unwrap());
        let mut stdout = server.0.stdout.take().unwrap();
        wait_until("the server answers", Duration::from_secs(60), || {
            http(port, "GET", "/healthz", None).is_some_and(|(status, _)| status == 200)
        });
        drop(server);
        let mut printed = String::new();
        stdout.read_to_string(&mut printed).unwrap();
        let admin_password = printed
            .lines()
            .find_map(|line| line.trim().strip_prefix("password:"))
            .map(|p| p.trim().to_owned())
            .unwrap_or_else(|| panic!("no admin password printed: {printed}"));

        let mut site = Site {
            backend,
            base: String::new(),
            port: 0,
            admin_password,
            dir: dir.clone(),
            database_url,
            _server: Running(Command::new("true").spawn().unwrap()),
            _database: database,
            _data: data,
        };
        let mut demo_data = site.cli();
        demo_data.arg("demo-data").args(demo);
        let loaded = run(demo_data, "");
        assert!(loaded.contains("48 committees"), "{loaded}");
        let mut officer = site.cli();
        officer.args(["admin", "create", "--login", OFFICER.0, "--role", "officer", "--committee", "HK"]);
        run(officer, &format!("{}\n", OFFICER.1));

        let port = free_port();
        let mut serve = site.cli();
        serve.args(["serve", "--bind", &format!("127.0.0.1:{port}")]).stdout(Stdio::null()).stderr(Stdio::null());
        site._server = Running(serve.spawn().unwrap());
        wait_until("the server answers", Duration::from_secs(60), || {
            http(port, "GET", "/healthz", None).is_some_and(|(status, _)| status == 200)
        });
        site.port = port;
        site.base = format!("http://127.0.0.1:{port}");
        site
    }

    fn command(dir: &Path, database_url: &str) -> Command {
        let mut command = process::handbook(dir);
        command.arg("--data-dir").arg(dir).arg("--database-url").arg(database_url);
        command
    }

    /// The binary's CLI on this site's data folder and database.
    pub fn cli(&self) -> Command {
        Self::command(&self.dir, &self.database_url)
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A file name for this backend: `sqlite-<name>`.
    pub fn named(&self, name: &str) -> String {
        let backend = match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        format!("{backend}-{name}")
    }

    /// An API call with a bearer token (and more headers): the status and the JSON answer (Null when none).
    pub fn api(
        &self,
        method: &str,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> (u16, Value) {
        let bearer = format!("Bearer {token}");
        let mut all = vec![("Authorization", bearer.as_str())];
        all.extend_from_slice(headers);
        let (status, text) = http_with(self.port, method, path, &all, body).expect("the service answers");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A member of `committee` activated through the API, with a registered device: (access token, device id).
    pub fn member_with_device(&self, admin: &str, committee: &str) -> (String, String) {
        let (status, list) = self.api(
            "GET",
            &format!("/api/v1/admin/members?committee={committee}&status=eligible&activated=false&limit=1"),
            admin,
            &[],
            None,
        );
        assert_eq!(status, 200, "{list}");
        let card = list["items"][0]["card_number"].as_str().expect("a member not yet activated").to_owned();
        let (status, code) =
            self.api("POST", &format!("/api/v1/admin/members/{card}/activation-code"), admin, &[], Some(&json!({})));
        assert_eq!(status, 201, "{code}");
        let device = uuid::Uuid::new_v4().to_string();
        let body = json!({"card_number": card, "activation_code": code["activation_code"], "new_password": "mật khẩu của đảng viên", "installation_id": device});
        let (status, tokens) =
            http(self.port, "POST", "/api/v1/auth/activate", Some(&body)).expect("the service answers");
        assert_eq!(status, 200, "{tokens}");
        let tokens: Value = serde_json::from_str(&tokens).unwrap();
        let token = tokens["access_token"].as_str().unwrap().to_owned();
        let install = json!({"installation_id": device, "platform": "android", "app_version": "2.0.0"});
        let (status, answer) = self.api("POST", "/api/v1/installations", &token, &[], Some(&install));
        assert_eq!(status, 201, "{answer}");
        (token, device)
    }

    /// A whole sync from scratch of a member's device: every change, and the last cursor.
    pub fn sync_all(&self, token: &str, device: &str) -> (Vec<Value>, String) {
        let mut changes = Vec::new();
        let mut cursor = String::new();
        loop {
            let path =
                if cursor.is_empty() { "/api/v1/sync".to_owned() } else { format!("/api/v1/sync?cursor={cursor}") };
            let (status, page) = self.api("GET", &path, token, &[("X-Installation-Id", device)], None);
            assert_eq!(status, 200, "{page}");
            changes.extend(page["changes"].as_array().unwrap().iter().cloned());
            cursor = page["cursor"].as_str().unwrap().to_owned();
            if !page["has_more"].as_bool().unwrap() {
                return (changes, cursor);
            }
        }
    }

    /// Signs in with the API; the access token.
    pub fn token(&self, login: &str, password: &str) -> String {
        let body = json!({"login": login, "password": password});
        let (status, text) = http(self.port, "POST", "/api/v1/auth/login", Some(&body)).expect("the service answers");
        assert_eq!(status, 200, "{text}");
        let tokens: Value = serde_json::from_str(&text).unwrap();
        tokens["access_token"].as_str().unwrap().to_owned()
    }
}

/// Headless Chromium, driven through ChromeDriver.
pub struct Browser {
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
    _driver: Running,
}

/// Ends the browser too: ChromeDriver killed with a session open leaves Chromium running.
impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(self.port, "DELETE", &format!("/session/{}", self.session), None);
    }
}

/// What axe-core found on a page that is serious or critical: (rule, impact, help, first elements).
#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)] // shown by Debug in the failure message
pub struct Violation {
    pub id: String,
    pub impact: Option<String>,
    pub help: String,
    pub nodes: Vec<String>,
}

impl Browser {
    pub fn start() -> Browser {
        let driver_port = free_port();
        let driver = Running(
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={driver_port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        wait_until("ChromeDriver answers", Duration::from_secs(30), || {
            http(driver_port, "GET", "/status", None)
                .is_some_and(|(status, body)| status == 200 && body.contains("ready"))
        });
        let profile = tempfile::tempdir().unwrap();
        let downloads = profile.path().join("downloads");
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "unhandledPromptBehavior": "accept",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                    "--disable-features=Translate,OptimizationHints,MediaRouter",
                    "--window-size=1280,1000", "--lang=vi",
                    format!("--user-data-dir={}", profile.path().display())],
                "prefs": {"download.default_directory": downloads.display().to_string()},
            }
        }}});
        let (status, created) =
            http(driver_port, "POST", "/session", Some(&capabilities)).expect("ChromeDriver creates a session");
        let created: Value = serde_json::from_str(&created).unwrap();
        assert_eq!(status, 200, "{created}");
        let browser = Browser {
            port: driver_port,
            session: created["value"]["sessionId"].as_str().unwrap().to_owned(),
            _profile: profile,
            _driver: driver,
        };
        browser.call("POST", "/timeouts", Some(json!({"script": 60_000, "pageLoad": 120_000})));
        browser
    }

    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        let (status, text) = http(self.port, method, &path, body.as_ref())
            .unwrap_or_else(|| panic!("ChromeDriver did not answer {method} {path}"));
        let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: {e}: {text}"));
        assert_eq!(status, 200, "{method} {path}: {value}");
        value["value"].clone()
    }

    pub fn go(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    pub fn url(&self) -> String {
        self.call("GET", "/url", None).as_str().unwrap().to_owned()
    }

    pub fn path(&self) -> String {
        url::Url::parse(&self.url()).map(|u| u.path().to_owned()).unwrap_or_default()
    }

    pub fn source(&self) -> String {
        self.call("GET", "/source", None).as_str().unwrap().to_owned()
    }

    /// The page's visible text.
    pub fn text(&self) -> String {
        self.execute("return document.body ? document.body.innerText : '';", json!([]))
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    pub fn find_all(&self, css: &str) -> Vec<String> {
        let found = self.call("POST", "/elements", Some(json!({"using": "css selector", "value": css})));
        found.as_array().unwrap().iter().map(|e| e[ELEMENT].as_str().unwrap().to_owned()).collect()
    }

    pub fn find(&self, css: &str) -> String {
        let found = self.find_all(css);
        assert!(!found.is_empty(), "no element {css} on {}: {}", self.url(), self.source());
        found[0].clone()
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.call("POST", &format!("/element/{element}/clear"), Some(json!({})));
        self.call("POST", &format!("/element/{element}/value"), Some(json!({ "text": text })));
    }

    /// Chooses a file in an `<input type=file>`.
    pub fn choose_file(&self, css: &str, file: &Path) {
        let element = self.find(css);
        self.call("POST", &format!("/element/{element}/value"), Some(json!({ "text": file.display().to_string() })));
    }

    /// Selects the `<option>` of a `<select>` with this value.
    pub fn select(&self, css: &str, value: &str) {
        self.click(&format!("{css} option[value='{value}']"));
    }

    pub fn click(&self, css: &str) {
        let element = self.find(css);
        self.call("POST", &format!("/element/{element}/click"), Some(json!({})));
    }

    /// Runs a script in the page (not subject to the page's CSP); its return value.
    pub fn execute(&self, script: &str, args: Value) -> Value {
        self.call("POST", "/execute/sync", Some(json!({"script": script, "args": args})))
    }

    /// Waits until the browser shows `path` (and a page is loaded there).
    pub fn wait_for_path(&self, path: &str) {
        let started = Instant::now();
        while self.path() != path || self.find_all("body").len() != 1 {
            if started.elapsed() > Duration::from_secs(60) {
                panic!("the browser did not reach {path}; it shows {}: {}", self.url(), self.source());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the page's text contains `text`.
    pub fn wait_for_text(&self, text: &str) {
        let started = Instant::now();
        while !self.text().contains(text) {
            if started.elapsed() > Duration::from_secs(120) {
                panic!("{text:?} did not appear on {}: {}", self.url(), self.text());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn set_size(&self, width: u32, height: u32) {
        self.call("POST", "/window/rect", Some(json!({"width": width, "height": height})));
    }

    /// A screenshot of the whole page (beyond the window), as PNG.
    pub fn screenshot(&self, file: &Path) {
        let shot = self.call(
            "POST",
            "/goog/cdp/execute",
            Some(json!({"cmd": "Page.captureScreenshot", "params": {"format": "png", "captureBeyondViewport": true}})),
        );
        let bytes = base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().unwrap()).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "a PNG screenshot");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, bytes).unwrap();
    }

    /// The page printed to PDF (A4, backgrounds), as Chromium's "Save as PDF" would.
    pub fn print_pdf(&self) -> Vec<u8> {
        let pdf = self.call(
            "POST",
            "/print",
            Some(json!({"page": {"width": 21.0, "height": 29.7}, "background": true, "shrinkToFit": false})),
        );
        base64::engine::general_purpose::STANDARD.decode(pdf.as_str().unwrap()).unwrap()
    }

    /// The serious and critical accessibility violations axe-core finds on the current page.
    pub fn accessibility_violations(&self) -> Vec<Violation> {
        let axe = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/axe/node_modules/axe-core/axe.min.js");
        let source = std::fs::read_to_string(&axe).unwrap_or_else(|e| {
            panic!(
                "{}: {e}. tests/run.sh installs axe-core there (npm install --prefix target/axe axe-core@4)",
                axe.display()
            )
        });
        self.execute(&format!("{source}\nreturn true;"), json!([]));
        let found = self.call(
            "POST",
            "/execute/async",
            Some(json!({"script": "const done = arguments[arguments.length - 1];\
                axe.run(document, {resultTypes: ['violations']}).then(r => done(JSON.stringify(r.violations.map(v => \
                ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))))) \
                .catch(e => done('error: ' + e));", "args": []})),
        );
        let text = found.as_str().unwrap();
        let all: Vec<Violation> = serde_json::from_str(text).unwrap_or_else(|e| panic!("axe-core: {e}: {text}"));
        all.into_iter().filter(|v| matches!(v.impact.as_deref(), Some("serious" | "critical"))).collect()
    }

    /// The checks every console page passes: no serious or critical axe-core violation, no horizontal scrolling
    /// of the page at 360 px (wide tables scroll in their own box), and screenshots at 1280 and 360 px wide
    /// (`target/screenshots/<name>-1280.png`, `-360.png`).
    pub fn check_page(&self, name: &str) {
        let violations = self.accessibility_violations();
        assert!(violations.is_empty(), "{name} ({}): accessibility violations: {violations:#?}", self.url());
        self.screenshot(&screenshots().join(format!("{name}-1280.png")));
        self.set_size(360, 800);
        let overflow = self
            .execute("return document.documentElement.scrollWidth - document.documentElement.clientWidth;", json!([]));
        let overflow = overflow.as_i64().unwrap_or(0);
        self.screenshot(&screenshots().join(format!("{name}-360.png")));
        let violations = self.accessibility_violations();
        self.set_size(1280, 1000);
        assert!(overflow <= 0, "{name} ({}) scrolls sideways by {overflow} px at 360 px wide", self.url());
        assert!(violations.is_empty(), "{name} at 360 px: accessibility violations: {violations:#?}");
    }

    pub fn sign_in(&self, site: &Site, login: &str, password: &str) {
        self.go(&site.url("/dashboard"));
        self.wait_for_path("/dashboard/login");
        self.type_into("input[name=login]", login);
        self.type_into("input[name=password]", password);
        self.click("form.login button[type=submit]");
        self.wait_for_path("/dashboard");
    }

    pub fn sign_out(&self) {
        self.click("button[data-action=sign-out]");
        self.wait_for_path("/dashboard/login");
    }
}
