//! The telephony provider's webhook: `POST /api/v1/voicemails`.
//!
//! A provider posts each voicemail as it arrives (multipart: `audio`,
//! `caller`, `received_at`, `message_id`), authenticated by its own API key
//! (`Authorization: Bearer …`). It is a machine API: no session, no CSRF.
//!
//! # Decisions
//! - **Keys are stored as SHA-256 digests** and compared in constant time
//!   (`subtle`), every configured key each time, so neither the timing nor a
//!   log nor a memory dump of the configuration gives a key away. A key is
//!   random and long, so a plain hash (no salt, no slow KDF) is enough.
//! - **The caller's number becomes the keyed reference at the door**, as
//!   `recueil ingest voicemail --caller` does: the number is never stored nor
//!   logged. A number without a configured caller key is refused (422)
//!   rather than dropped, so a misconfiguration is seen at once.
//! - **Idempotent on the provider's message id**: providers retry on
//!   timeouts. The id is kept in the source's `batch` field as
//!   `provider:message_id` (as the Asterisk intake keeps its msg_id) and
//!   looked up before ingesting; the same bytes under another id are already
//!   a duplicate at intake. Two concurrent first deliveries of one id with
//!   different bytes could both be taken: providers retry sequentially, and
//!   the worst case is one message transcribed twice.
//! - **Limits on the server**: the whole body is capped
//!   ([`MAX_BODY_BYTES`]), and the audio must sniff as audio, whatever the
//!   provider calls it; nothing is stored otherwise.

use crate::AppState;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use recueil_core::Channel;
use recueil_pipeline::intake::{channel_of, new_source, sniff, Arrival};
use recueil_store::Intake;
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

/// The largest request the webhook reads: a 10-minute WAV at 16 kHz 16-bit
/// is about 20 MB; telephony recordings are 8 kHz and shorter.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// The longest provider message id kept (it is stored and compared).
const MAX_MESSAGE_ID: usize = 200;

/// One provider's API key, as its SHA-256 (hex). `Debug` shows the provider
/// only.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub provider: String,
    pub key_sha256: String,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({})", self.provider)
    }
}

/// The shortest key accepted: keys are meant to be random (`openssl rand
/// -hex 32`), a short one is guessable.
pub const MIN_KEY_LEN: usize = 24;

/// Why a line of an API keys file was refused. The key itself is never in
/// the message.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ApiKeyError {
    pub line: usize,
    pub reason: String,
}

impl ApiKey {
    /// The entry for `provider` whose key is `key` (kept as its digest).
    pub fn new(provider: &str, key: &str) -> ApiKey {
        ApiKey {
            provider: provider.to_owned(),
            key_sha256: hex::encode(Sha256::digest(key.as_bytes())),
        }
    }

    /// Parses an API keys file: one `provider:key` a line; blank lines and
    /// lines starting with `#` are skipped. A provider name is letters,
    /// digits, `-`, `_` or `.`, and appears once; a key is at least
    /// `MIN_KEY_LEN` (24) characters without spaces.
    pub fn parse_file(text: &str) -> Result<Vec<ApiKey>, ApiKeyError> {
        let mut keys: Vec<ApiKey> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line_no = n + 1;
            let err = |reason: &str| ApiKeyError {
                line: line_no,
                reason: reason.to_owned(),
            };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (provider, key) = line
                .split_once(':')
                .ok_or_else(|| err("expected `provider:key`"))?;
            if provider.is_empty()
                || !provider
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                return Err(err(
                    "the provider name must be letters, digits, '-', '_' or '.'",
                ));
            }
            if key.chars().count() < MIN_KEY_LEN || key.chars().any(char::is_whitespace) {
                return Err(err(&format!(
                    "the key of {provider:?} must be at least {MIN_KEY_LEN} characters without spaces"
                )));
            }
            if keys.iter().any(|k| k.provider == provider) {
                return Err(err(&format!("provider {provider:?} appears twice")));
            }
            keys.push(ApiKey::new(provider, key));
        }
        Ok(keys)
    }
}

/// The provider whose key the request carries, checked against every key.
fn authenticate<'a>(keys: &'a [ApiKey], headers: &HeaderMap) -> Option<&'a str> {
    let given = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?
        .trim();
    let digest = Sha256::digest(given.as_bytes());
    let mut found = None;
    for key in keys {
        let Ok(expected) = hex::decode(&key.key_sha256) else {
            continue;
        };
        if bool::from(expected.ct_eq(digest.as_slice())) && found.is_none() {
            found = Some(key.provider.as_str());
        }
    }
    found
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({"error": message.into()}))).into_response()
}

fn unauthorized() -> Response {
    let mut r = error(
        StatusCode::UNAUTHORIZED,
        "clé d'API absente ou invalide (Authorization: Bearer <clé>)",
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    r
}

/// What the provider sent, before it is checked.
#[derive(Default)]
struct Form {
    audio: Option<Vec<u8>>,
    caller: Option<String>,
    received_at: Option<String>,
    message_id: Option<String>,
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> Response {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("audio : la requête dépasse la limite de {MAX_BODY_BYTES} octets"),
        );
    }
    error(
        StatusCode::BAD_REQUEST,
        format!("corps multipart illisible : {}", e.body_text()),
    )
}

async fn read_form(mut multipart: Multipart) -> Result<Form, Response> {
    let mut form = Form::default();
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        let slot_taken = match name.as_str() {
            "audio" => form.audio.is_some(),
            "caller" => form.caller.is_some(),
            "received_at" => form.received_at.is_some(),
            "message_id" => form.message_id.is_some(),
            other => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    format!(
                    "champ inconnu {other:?} (attendus : audio, caller, received_at, message_id)"
                ),
                ))
            }
        };
        if slot_taken {
            return Err(error(
                StatusCode::BAD_REQUEST,
                format!("{name} : champ présent deux fois"),
            ));
        }
        if name == "audio" {
            form.audio = Some(field.bytes().await.map_err(multipart_error)?.to_vec());
            continue;
        }
        let text = field.text().await.map_err(multipart_error)?;
        match name.as_str() {
            "caller" => form.caller = Some(text),
            "received_at" => form.received_at = Some(text),
            _ => form.message_id = Some(text),
        }
    }
    Ok(form)
}

/// `POST /api/v1/voicemails`.
pub(crate) async fn voicemail(
    State(state): State<AppState>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let Some(provider) = authenticate(&state.config.api_keys, &headers) else {
        return unauthorized();
    };
    let multipart = match multipart {
        Ok(m) => m,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("multipart/form-data attendu : {}", e.body_text()),
            )
        }
    };
    let form = match read_form(multipart).await {
        Ok(f) => f,
        Err(r) => return r,
    };

    let message_id = form.message_id.as_deref().map(str::trim).unwrap_or("");
    if message_id.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "message_id : champ obligatoire (l'identifiant du message chez l'opérateur)",
        );
    }
    if message_id.chars().count() > MAX_MESSAGE_ID || message_id.chars().any(char::is_control) {
        return error(
            StatusCode::BAD_REQUEST,
            format!("message_id : au plus {MAX_MESSAGE_ID} caractères, sans caractère de contrôle"),
        );
    }
    let Some(audio) = form.audio.filter(|a| !a.is_empty()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "audio : champ obligatoire (l'enregistrement), absent ou vide",
        );
    };
    if channel_of(&audio) != Some(Channel::Voicemail) {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "audio : le fichier n'est pas un enregistrement audio (contenu reconnu : {})",
                sniff(&audio)
            ),
        );
    }
    let received_at = match form.received_at.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(t) => match DateTime::parse_from_rfc3339(t) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("received_at : date RFC 3339 attendue ({e})"),
                )
            }
        },
    };
    let caller_ref = match form.caller.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(number) => {
            let Some(key) = state.caller_key.as_deref() else {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "caller : aucune clé d'appelant n'est configurée (RECUEIL_CALLER_KEY) ; \
                     le numéro n'est jamais conservé, il ne peut donc pas être reçu",
                );
            };
            match key.reference(number) {
                Ok(r) => Some(r),
                // The error masks the number; say only what is wrong.
                Err(_) => {
                    return error(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "caller : ce n'est pas un numéro de téléphone (aucun chiffre)",
                    )
                }
            }
        }
    };

    let batch = format!("{provider}:{message_id}");
    match state
        .store
        .source_by_batch(Channel::Voicemail, &batch)
        .await
    {
        Ok(Some(id)) => {
            tracing::info!(provider, message_id, source = %id, "webhook: message already taken");
            return accepted(StatusCode::OK, id, "duplicate");
        }
        Ok(None) => {}
        Err(e) => return crate::ConsoleError::from(e).into_response(),
    }
    let mut arrival = Arrival::new(Channel::Voicemail);
    arrival.received_at = received_at;
    arrival.caller_ref = caller_ref;
    arrival.batch = Some(batch);
    // The provider's file name may hold the caller's number: the stored name
    // is built from the message id instead.
    let media_type = sniff(&audio);
    let extension = media_type
        .rsplit('/')
        .next()
        .unwrap_or(media_type)
        .trim_start_matches("x-");
    let name = format!("{provider}-{message_id}.{extension}");
    let source = new_source(&name, &audio, &arrival);
    match state.store.ingest(&source, &audio).await {
        Ok(Intake::Accepted(id)) => {
            tracing::info!(provider, message_id, source = %id, "webhook: voicemail accepted");
            accepted(StatusCode::CREATED, id, "accepted")
        }
        Ok(Intake::Duplicate(id)) => {
            tracing::info!(provider, message_id, source = %id, "webhook: same recording already taken");
            accepted(StatusCode::OK, id, "duplicate")
        }
        Err(e) => crate::ConsoleError::from(e).into_response(),
    }
}

fn accepted(status: StatusCode, id: recueil_core::SourceId, what: &str) -> Response {
    (
        status,
        Json(serde_json::json!({"id": id.to_string(), "status": what})),
    )
        .into_response()
}

/// `GET /api/v1/openapi.yaml`: the webhook's description, for the provider.
pub(crate) async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/yaml; charset=utf-8")],
        include_str!("../openapi.yaml"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keys_file_is_parsed_and_its_errors_name_the_line() {
        let keys =
            ApiKey::parse_file("# providers\n\nophone:0123456789abcdef0123456789abcdef\n").unwrap();
        assert_eq!(
            keys,
            vec![ApiKey::new("ophone", "0123456789abcdef0123456789abcdef")]
        );
        let e = ApiKey::parse_file("a:0123456789abcdef0123456789\nb-no-colon\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = ApiKey::parse_file("a:short\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(!e.to_string().contains("short"), "{e}");
        let twice = "a:0123456789abcdef0123456789\na:abcdef0123456789abcdef0123\n";
        assert_eq!(ApiKey::parse_file(twice).unwrap_err().line, 2);
    }

    #[test]
    fn only_a_configured_key_authenticates() {
        let keys = vec![
            ApiKey::new("a", "0123456789abcdef0123456789"),
            ApiKey::new("b", "abcdef0123456789abcdef0123"),
        ];
        let mut h = HeaderMap::new();
        assert_eq!(authenticate(&keys, &h), None);
        h.insert(
            header::AUTHORIZATION,
            "Bearer abcdef0123456789abcdef0123".parse().unwrap(),
        );
        assert_eq!(authenticate(&keys, &h), Some("b"));
        h.insert(
            header::AUTHORIZATION,
            "Bearer abcdef0123456789abcdef0124".parse().unwrap(),
        );
        assert_eq!(authenticate(&keys, &h), None);
        h.insert(
            header::AUTHORIZATION,
            "Basic abcdef0123456789abcdef0123".parse().unwrap(),
        );
        assert_eq!(authenticate(&keys, &h), None);
    }
}
