//! Keys and secrets: how API key secrets are made and hashed, the checkpoint signing key, viewer
//! tokens and the sealing of log stream secrets. Pure cryptography: nothing here reads the
//! database or speaks HTTP; [`crate::state`] loads the keys kept in the database.

pub mod sealed;
pub mod secret;
pub mod signing_key;
pub mod viewer_token;
