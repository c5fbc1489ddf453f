//! Accounts, roles, sessions, CSRF tokens and login throttling.

use crate::{render, AppState, ConsoleError};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{ConnectInfo, Form, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use rand::RngCore;
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

pub const SESSION_COOKIE: &str = "recueil_session";
pub const LOGIN_COOKIE: &str = "recueil_login";
/// Failed logins (per account name and address) allowed before the wait.
pub const FREE_FAILURES: u32 = 5;
/// Failures count within this window.
const FAILURE_WINDOW_S: i64 = 15 * 60;
/// The first wait after [`FREE_FAILURES`]; it doubles with each failure.
const FIRST_WAIT_S: i64 = 30;

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Reviews contributions: sees the originals and the raw text.
    Reviewer,
    /// Scanning staff: brings batches in.
    Staff,
    /// Watches the pipeline; replays failures.
    Operator,
    /// Everything.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Reviewer, Role::Staff, Role::Operator, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reviewer => "reviewer",
            Role::Staff => "staff",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// The French name shown in the console.
    pub fn label(self) -> &'static str {
        match self {
            Role::Reviewer => "relecture",
            Role::Staff => "numérisation",
            Role::Operator => "exploitation",
            Role::Admin => "administration",
        }
    }

    /// Review decisions, the originals, the raw (unmasked) text and the
    /// caller reference.
    pub fn can_review(self) -> bool {
        matches!(self, Role::Reviewer | Role::Admin)
    }

    /// The pipeline's counts and failures.
    pub fn can_operate(self) -> bool {
        matches!(self, Role::Operator | Role::Admin)
    }

    /// Bringing scanned batches in, and following what became of them.
    pub fn can_scan(self) -> bool {
        matches!(self, Role::Staff | Role::Admin)
    }

    /// The contributions browser and its exports: the publishable (masked)
    /// text only, so every role but scanning staff.
    pub fn can_browse(self) -> bool {
        !matches!(self, Role::Staff)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?}: reviewer, staff, operator or admin"))
    }
}

/// Why an account name or password is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AccountError {
    #[error("invalid account name {0:?}: 1 to 64 characters among a-z, 0-9, '.', '_' and '-'")]
    Name(String),
    #[error("the password is too short: at least {MIN_PASSWORD} characters")]
    ShortPassword,
}

pub const MIN_PASSWORD: usize = 10;

pub fn check_name(name: &str) -> Result<(), AccountError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(AccountError::Name(name.to_owned()))
    }
}

/// An argon2id hash (PHC string) of `password`, with a fresh salt.
pub fn hash_password(password: &str) -> Result<String, ConsoleError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(ConsoleError::Password(
            AccountError::ShortPassword.to_string(),
        ));
    }
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| ConsoleError::Password(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ConsoleError::Password(e.to_string()))
}

/// Whether `password` matches the stored hash (false for a corrupt hash).
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// 32 random bytes, hex: session tokens and CSRF tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Equality that takes as long whatever the first differing byte, so a
/// token cannot be guessed byte by byte from response times (written here:
/// three lines do not justify a dependency).
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && !a.is_empty()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A cookie's value from the request headers. Written by hand: the console
/// sets two cookies of its own, hex tokens that need no decoding.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn set_cookie(name: &str, value: &str, max_age_s: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}"
    ))
    .expect("cookie header is ASCII")
}

fn token_digest(token: &str) -> String {
    recueil_core::sha256_hex(token.as_bytes())
}

/// The person behind a request. Extracting it refuses anonymous requests:
/// a page redirects to the login form, the API answers 401.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub name: String,
    pub role: Role,
    /// The session's CSRF token, to put in forms and check on POST.
    pub csrf: String,
    token_digest: String,
}

impl CurrentUser {
    /// Whether a submitted token is this session's.
    pub fn csrf_ok(&self, given: &str) -> bool {
        same_token(&self.csrf, given)
    }
}

fn refuse_anonymous(parts: &Parts) -> Response {
    let path = parts.uri.path();
    if path.starts_with("/api/") {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({"error": "authentification requise"})),
        )
            .into_response();
    }
    let next = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let target = format!("/login?next={}", encode_component(next));
    Redirect::to(&target).into_response()
}

/// Percent-encodes a query component (only what a local path can hold).
fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_./~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(refuse_anonymous(parts));
        };
        let digest = token_digest(token);
        let session = match state.store.session(&digest).await {
            Ok(Some(s)) => s,
            Ok(None) => return Err(refuse_anonymous(parts)),
            Err(e) => return Err(ConsoleError::from(e).into_response()),
        };
        let Ok(role) = session.role.parse() else {
            return Err(refuse_anonymous(parts));
        };
        Ok(CurrentUser {
            name: session.user_name,
            role,
            csrf: session.csrf,
            token_digest: digest,
        })
    }
}

/// The client's address, for login throttling ("unknown" when the server
/// was not started with connection info, as in tests without a socket).
pub struct ClientAddress(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_else(|| "unknown".into()),
        ))
    }
}

#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    next: String,
    name: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// Only local paths: never redirect a person to another site after login.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

fn login_form(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    next: String,
    name: String,
    error: Option<String>,
) -> Result<Response, ConsoleError> {
    // The same token for every login form of this browser: another tab, or
    // the browser's own requests (a favicon sent to the login page), must
    // not invalidate the form being filled in.
    let csrf = cookie(headers, LOGIN_COOKIE)
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .map_or_else(random_token, str::to_owned);
    let mut response = render(&LoginPage {
        csrf: csrf.clone(),
        next,
        name,
        error,
    })?;
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(LOGIN_COOKIE, &csrf, 3600, state.config.secure_cookies),
    );
    Ok(response)
}

pub async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Result<Response, ConsoleError> {
    login_form(
        &state,
        &headers,
        StatusCode::OK,
        safe_next(q.next.as_deref()),
        String::new(),
        None,
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    name: String,
    password: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
}

/// How long this name and address must still wait, in seconds (0: may try).
async fn throttle_wait(state: &AppState, name: &str, address: &str) -> Result<i64, ConsoleError> {
    let now = Utc::now();
    let (failures, last) = state
        .store
        .login_failures(
            name,
            address,
            now - chrono::Duration::seconds(FAILURE_WINDOW_S),
        )
        .await?;
    let (Some(last), true) = (last, failures >= FREE_FAILURES) else {
        return Ok(0);
    };
    let doublings = (failures - FREE_FAILURES).min(5);
    let wait = (FIRST_WAIT_S << doublings).min(FAILURE_WINDOW_S);
    Ok((wait - (now - last).num_seconds()).max(0))
}

pub async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, ConsoleError> {
    let next = safe_next(Some(&form.next));
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if !same_token(expected, &form.csrf) {
        return login_form(
            &state,
            &headers,
            StatusCode::FORBIDDEN,
            next,
            form.name,
            Some("Formulaire expiré : saisissez à nouveau vos identifiants.".into()),
        );
    }
    let wait = throttle_wait(&state, &form.name, &address).await?;
    if wait > 0 {
        tracing::warn!(account = %form.name, %address, "login refused: too many failures");
        return login_form(
            &state,
            &headers,
            StatusCode::TOO_MANY_REQUESTS,
            next,
            form.name,
            Some(format!(
                "Trop d'essais infructueux : réessayez dans {wait} secondes."
            )),
        );
    }
    let user = state.store.user(&form.name).await?;
    let password = form.password;
    let ok = match &user {
        Some(u) => {
            let hash = u.password_hash.clone();
            // argon2 takes tens of milliseconds of CPU: off the async threads.
            tokio::task::spawn_blocking(move || verify_password(&hash, &password))
                .await
                .unwrap_or(false)
        }
        None => false,
    };
    let Some(user) = user.filter(|_| ok) else {
        state
            .store
            .record_login_failure(&form.name, &address)
            .await?;
        tracing::info!(account = %form.name, %address, "login failed");
        return login_form(
            &state,
            &headers,
            StatusCode::UNAUTHORIZED,
            next,
            form.name,
            Some("Nom ou mot de passe incorrect.".into()),
        );
    };
    state
        .store
        .clear_login_failures(&user.name, &address)
        .await?;
    let token = random_token();
    let ttl = state.config.session_ttl;
    state
        .store
        .create_session(
            &token_digest(&token),
            &user.name,
            &random_token(),
            Utc::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(12)),
        )
        .await?;
    tracing::info!(account = %user.name, role = %user.role, "login");
    let mut response = Redirect::to(&next).into_response();
    let h = response.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(
            SESSION_COOKIE,
            &token,
            ttl.as_secs(),
            state.config.secure_cookies,
        ),
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(LOGIN_COOKIE, "", 0, state.config.secure_cookies),
    );
    Ok(response)
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    if !user.csrf_ok(&form.csrf) {
        return Ok(csrf_refused());
    }
    state.store.delete_session(&user.token_digest).await?;
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, state.config.secure_cookies),
    );
    Ok(response)
}

/// A POST without this session's token.
pub fn csrf_refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        axum::response::Html(
            "<!doctype html><meta charset=utf-8><title>Refusé</title>\
             <p>Jeton de formulaire absent ou invalide : rechargez la page et recommencez.</p>",
        ),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_against_their_hash_only() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "correct horse batterie"));
        assert!(!verify_password("not a hash", "correct horse battery"));
        assert!(hash_password("short").is_err());
    }

    #[test]
    fn names_roles_and_tokens() {
        assert!(check_name("marie.dupont").is_ok());
        assert_eq!(check_name("Marie"), Err(AccountError::Name("Marie".into())));
        assert!(check_name("").is_err());
        assert_eq!("staff".parse::<Role>(), Ok(Role::Staff));
        assert!("chef".parse::<Role>().unwrap_err().contains("reviewer"));
        assert!(!Role::Staff.can_review() && Role::Admin.can_review());
        let t = random_token();
        assert_eq!(t.len(), 64);
        assert!(same_token(&t, &t.clone()));
        assert!(!same_token(&t, &random_token()));
        assert!(!same_token("", ""));
    }

    #[test]
    fn cookies_and_redirects() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; recueil_session=abc"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, LOGIN_COOKIE), None);
        assert_eq!(
            safe_next(Some("/revue?canal=ballot")),
            "/revue?canal=ballot"
        );
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
    }
}
