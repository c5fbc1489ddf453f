//! `recueil users add` and `recueil serve`, the binary itself: an account
//! made on the command line logs in to the console it serves.
//! (The console's behaviour is tested in crates/console/tests.)

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn recueil(db: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_recueil"));
    c.env("RECUEIL_DATABASE_URL", db)
        .env_remove("RECUEIL_AMQP_URL");
    c
}

/// One plain HTTP/1.1 request (Connection: close); the whole response.
fn http(port: u16, request: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn an_account_added_on_the_command_line_logs_in_to_the_served_console() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("r.db").display());
    let add = |name: &str, role: &str, password: &str| {
        let mut child = recueil(&db)
            .args(["users", "add", name, "--role", role])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };
    let out = add("marie", "reviewer", "un mot de passe assez long");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = add("paul", "reviewer", "court");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 10 characters"));
    let out = add("paul", "chef", "un mot de passe assez long");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown role \"chef\""));

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = Killed(
        recueil(&db)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "recueil serve did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let r = http(
        port,
        "GET /revue HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(r.starts_with("HTTP/1.1 303"), "{r}");
    let page = http(
        port,
        "GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    let token = &page[at..at + 64];
    let body = format!("name=marie&password=un+mot+de+passe+assez+long&csrf={token}&next=%2Frevue");
    let r = http(
        port,
        &format!(
            "POST /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: recueil_login={token}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(r.starts_with("HTTP/1.1 303"), "{r}");
    assert!(r.contains("location: /revue"), "{r}");
    let session = r
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: recueil_session="))
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let r = http(
        port,
        &format!("GET /revue HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: recueil_session={session}\r\n\r\n"),
    );
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert!(r.contains("Rien à relire"));
}
