//! Personal data rules.
//!
//! - [`CallerKey`]: a caller's phone number is never stored nor logged in
//!   clear. It becomes a keyed HMAC-SHA-256 reference, so operators can see
//!   "this caller left 3 messages" without knowing who called.
//! - [`redact`]: phone numbers, e-mail and postal addresses and self-given
//!   names are masked in the text that may be published; what was masked
//!   is described with the domain's `recueil_core::{Masked, MaskKind}`.

mod caller;
pub mod redact;

pub use caller::{CallerKey, CallerKeyError};
pub use redact::{redact, Redacted};
