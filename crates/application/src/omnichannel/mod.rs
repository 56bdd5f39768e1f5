//! Omnichannel (O-1..O-4): the channel accounts the business configures, what their
//! webhooks and the web chat widget deliver (verified, recognised, threaded) and the
//! conversations agents read.

pub mod accounts;
pub mod conversations;
pub mod identity;
pub mod inbound;
pub mod mailbox;
pub mod outbound;
pub mod templates;
pub mod unsubscribe;
pub mod web_chat;
