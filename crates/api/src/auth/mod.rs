//! Authentication as HTTP sees it: access tokens, the signing key, and the
//! request principal with its permission check. Accounts, passwords, sessions and API
//! keys themselves are `application::accounts`.

pub mod jwt;
pub mod principal;
pub mod principal_cache;
pub mod signing_key;

pub use principal::Principal;
