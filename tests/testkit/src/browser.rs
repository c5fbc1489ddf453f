//! Headless Chromium driven over WebDriver, for the console's browser tests:
//! Debian's `chromium` and `chromium-driver` (installed by
//! `scripts/install-deps.sh --services`), a fresh profile per session, no
//! network but loopback.

use fantoccini::{Client, ClientBuilder, Locator};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed when the test ends, however it ends.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port nobody listens on (yet).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Waits until something listens on `port` (30 s at most).
pub async fn wait_for_port(port: u16, what: &str) {
    let start = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{what} did not listen on port {port}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A Chromium session and what keeps it alive.
pub struct Browser {
    pub client: Client,
    _driver: Running,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile.
    pub async fn start() -> Browser {
        for exe in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            assert!(
                Path::new(exe).exists(),
                "{exe} is missing: run scripts/install-deps.sh --services"
            );
        }
        let driver_port = free_port();
        let profile = tempfile::tempdir().expect("profile");
        let driver = Running(
            Command::new("/usr/bin/chromedriver")
                .arg(format!("--port={driver_port}"))
                .stdout(Stdio::null())
                .spawn()
                .expect("chromedriver"),
        );
        wait_for_port(driver_port, "chromedriver").await;
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--window-size=1366,900",
                    "--autoplay-policy=no-user-gesture-required",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{driver_port}"))
            .await
            .expect("a Chromium session");
        Browser {
            client,
            _driver: driver,
            _profile: profile,
        }
    }
}

impl Drop for Browser {
    /// Chromium outlives a killed chromedriver: a test that panics before
    /// closing its session would leave it running. Its processes are the
    /// ones started with this session's profile folder.
    fn drop(&mut self) {
        let _ = Command::new("pkill")
            .arg("-f")
            .arg(format!(
                "--user-data-dir={}",
                self._profile.path().display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Numbered screenshots of a test's steps, in `target/console-screenshots/`.
pub struct Shots {
    dir: PathBuf,
    prefix: String,
    n: usize,
}

impl Shots {
    /// `workspace` is the repository root; `prefix` names the test.
    pub fn new(workspace: &Path, prefix: &str) -> Shots {
        let dir = workspace.join("target/console-screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        Shots {
            dir,
            prefix: prefix.to_owned(),
            n: 0,
        }
    }

    pub async fn take(&mut self, c: &Client, name: &str) {
        self.n += 1;
        let png = c.screenshot().await.expect("screenshot");
        let path = self
            .dir
            .join(format!("{}{:02}-{name}.png", self.prefix, self.n));
        std::fs::write(&path, png).expect("write screenshot");
    }
}

/// Waits until the page's URL satisfies `want` (a form was submitted and
/// its redirect followed), and returns it.
pub async fn wait_url(c: &Client, what: &str, want: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let now = c.current_url().await.expect("url").to_string();
        if want(&now) {
            return now;
        }
        if start.elapsed() > Duration::from_secs(15) {
            let _ = std::fs::write(
                std::env::temp_dir().join("console-browser-failure.png"),
                c.screenshot().await.unwrap_or_default(),
            );
            panic!("still on {now}, waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The text of the first element matching `css`.
pub async fn text_of(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .expect("text")
}

/// Waits until the text of `css` satisfies `want` (the page may reload
/// itself meanwhile); returns it.
pub async fn wait_text(
    c: &Client,
    css: &str,
    timeout: Duration,
    want: impl Fn(&str) -> bool,
) -> String {
    let start = Instant::now();
    loop {
        if let Ok(el) = c.find(Locator::Css(css)).await {
            if let Ok(text) = el.text().await {
                if want(&text) {
                    return text;
                }
            }
        }
        if start.elapsed() > timeout {
            let _ = std::fs::write(
                std::env::temp_dir().join("console-browser-failure.png"),
                c.screenshot().await.unwrap_or_default(),
            );
            let now = c.find(Locator::Css(css)).await;
            let text = match now {
                Ok(el) => el.text().await.unwrap_or_default(),
                Err(e) => format!("({e})"),
            };
            panic!("{css} still reads {text:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Types `name` and `password` into the console's login form (on screen).
pub async fn fill_login(c: &Client, name: &str, password: &str) {
    for (field, value) in [("#name", name), ("#password", password)] {
        c.find(Locator::Css(field))
            .await
            .unwrap_or_else(|e| panic!("{field}: {e}"))
            .send_keys(value)
            .await
            .expect("typed");
    }
}

/// Submits the login form filled by [`fill_login`].
pub async fn submit_login(c: &Client) {
    c.find(Locator::Css("#login-form button"))
        .await
        .expect("the login button")
        .click()
        .await
        .expect("clicked");
}
