//! Messaging channels as their providers speak them: Telegram's bot updates, Meta's
//! WhatsApp Cloud API and Instagram messaging webhooks, the SMS provider's callbacks,
//! e-mail sent over SMTP and fetched from a mailbox over IMAP, how each proves a
//! request is its own, and how the credentials the business stores for them are
//! encrypted at rest. No database and no HTTP server here: the application decides what
//! an inbound message means for the CRM.

pub mod email;
pub mod email_inbound;
pub mod imap;
pub mod inbound;
pub mod meta;
pub mod outbound;
pub mod secrets;
pub mod sms;
pub mod telegram;
pub mod webhooks;

pub use inbound::{DeliveryState, DeliveryUpdate, Inbound, InboundMessage, PayloadError, Sender};
