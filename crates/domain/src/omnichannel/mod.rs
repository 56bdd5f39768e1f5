//! Omnichannel (O-1..O-5): the channel accounts a business talks to customers through,
//! the contact points that recognise a sender, and the conversations messages thread
//! into.

pub mod accounts;
pub mod analytics;
pub mod auto_reply;
pub mod contacts;
pub mod conversations;
pub mod templates;
pub mod web_chat;
