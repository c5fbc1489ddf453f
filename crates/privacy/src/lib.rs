//! Personal data rules.
//!
//! - [`CallerKey`]: a caller's phone number is never stored nor logged in
//!   clear. It becomes a keyed HMAC-SHA-256 reference, so operators can see
//!   "this caller left 3 messages" without knowing who called.

mod caller;

pub use caller::{CallerKey, CallerKeyError};
