//! Identity resolution (O-2): who wrote. The sender's address, normalised as customer
//! fields are, is looked up among customers (e-mails, phones, messenger ids learnt
//! before), then among leads (following a converted lead to its customer); a sender
//! matching neither becomes a new lead when the account says so. A phone number a
//! messenger user shares as their own is a second address to match by, and the
//! messenger id is then remembered on whoever it matched.

use channels::Sender;
use domain::omnichannel::accounts::UnknownSender;
use domain::omnichannel::contacts::{ContactAddress, ContactKind};
use domain::sales::leads::LeadInput;
use persistence::db::DbConnection;
use uuid::Uuid;

use super::accounts::ChannelAccount;
use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;

/// Whom a message is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Customer(Uuid),
    Lead(Uuid),
    /// Nobody known, and the account keeps such senders unlinked.
    Unknown,
}

/// The stored form of a sender's address.
pub fn address_of(sender: &Sender) -> Option<ContactAddress> {
    match sender {
        Sender::Phone(raw) => ContactAddress::phone(raw),
        Sender::Email(raw) => ContactAddress::email(raw),
        Sender::Telegram { user_id, .. } => {
            ContactAddress::handle(ContactKind::Telegram, &user_id.to_string())
        }
        Sender::Instagram(id) => ContactAddress::handle(ContactKind::Instagram, id),
    }
}

/// Merges can chain (A into B, B into C): the customer that now holds `id`'s records.
fn surviving(conn: &mut DbConnection, mut id: Uuid) -> AppResult<Uuid> {
    // A chain is as long as the merges made; a bound keeps a corrupt cycle finite.
    for _ in 0..32 {
        match persistence::customers::find(conn, id)?.row.merged_into_id {
            Some(next) => id = next.0,
            None => return Ok(id),
        }
    }
    Err(AppError::Internal(format!(
        "merge chain from customer {id} does not end"
    )))
}

/// The customer or lead known by one of `addresses` (tried in order).
pub fn known(conn: &mut DbConnection, addresses: &[ContactAddress]) -> AppResult<Option<Party>> {
    Ok(known_by(conn, addresses)?.map(|(party, _)| party))
}

/// [`known`], and whether the party's own record holds the first address (found by
/// it, not through another address, a merge or a conversion): then there is nothing
/// to remember.
fn known_by(
    conn: &mut DbConnection,
    addresses: &[ContactAddress],
) -> AppResult<Option<(Party, bool)>> {
    for (position, address) in addresses.iter().enumerate() {
        let kind = address.kind.as_str();
        if let Some((id, merged_into)) =
            persistence::contact_points::customers_with(conn, kind, &address.value)?
                .into_iter()
                .next()
        {
            let holder = match merged_into {
                Some(next) => surviving(conn, next)?,
                None => id,
            };
            return Ok(Some((
                Party::Customer(holder),
                position == 0 && holder == id,
            )));
        }
    }
    for (position, address) in addresses.iter().enumerate() {
        let kind = address.kind.as_str();
        if let Some((lead, converted)) =
            persistence::contact_points::leads_with(conn, kind, &address.value)?
                .into_iter()
                .next()
        {
            return Ok(Some(match converted {
                Some(customer) => (Party::Customer(surviving(conn, customer)?), false),
                None => (Party::Lead(lead), position == 0),
            }));
        }
    }
    Ok(None)
}

/// Remembers a messenger id on the party it was matched to through another address;
/// e-mails and phones are the records' own fields and are not added behind the user's
/// back.
pub fn remember(conn: &mut DbConnection, party: Party, address: &ContactAddress) -> AppResult<()> {
    if matches!(address.kind, ContactKind::Email | ContactKind::Phone) {
        return Ok(());
    }
    match party {
        Party::Customer(customer) => persistence::contact_points::add_to_customer(
            conn,
            customer,
            address.kind.as_str(),
            &address.value,
        )?,
        Party::Lead(lead) => persistence::contact_points::add_to_lead(
            conn,
            lead,
            address.kind.as_str(),
            &address.value,
        )?,
        Party::Unknown => {}
    }
    Ok(())
}

/// Who wrote from `address` (and `also`, addresses they gave as theirs: a phone shared
/// on a messenger, what a web chat visitor typed in): a known customer or lead, else a
/// new lead named `name` when the account creates leads.
pub fn resolve(
    conn: &mut DbConnection,
    account: &ChannelAccount,
    address: &ContactAddress,
    also: &[ContactAddress],
    name: Option<&str>,
) -> AppResult<Party> {
    let mut addresses = vec![address.clone()];
    addresses.extend(also.iter().cloned());
    if let Some((party, holds_address)) = known_by(conn, &addresses)? {
        if !holds_address {
            remember(conn, party, address)?;
        }
        return Ok(party);
    }
    if account.settings.unknown_sender == UnknownSender::KeepUnlinked {
        return Ok(Party::Unknown);
    }
    // A lead the rules refuse (a required custom field, say) must not make the provider
    // retry the message forever: it is kept unlinked for an agent instead.
    let lead = match new_lead(conn, account, &addresses, name) {
        Ok(lead) => lead,
        Err(AppError::Invalid(violations)) => {
            tracing::warn!(
                account = %account.row.id.0,
                rules = violations.len(),
                "a lead for a new sender broke the lead rules; conversation kept unlinked"
            );
            return Ok(Party::Unknown);
        }
        Err(other) => return Err(other),
    };
    remember(conn, Party::Lead(lead), address)?;
    Ok(Party::Lead(lead))
}

/// A lead for a first-time sender: the name the channel gives (or the address), the
/// phone or e-mail it wrote from, the channel as its source; owner and team chosen by
/// the lead assignment rules.
fn new_lead(
    conn: &mut DbConnection,
    account: &ChannelAccount,
    addresses: &[ContactAddress],
    name: Option<&str>,
) -> AppResult<Uuid> {
    let phones: Vec<serde_json::Value> = addresses
        .iter()
        .filter(|address| address.kind == ContactKind::Phone)
        .map(|address| serde_json::json!({"number": address.value}))
        .collect();
    let emails: Vec<serde_json::Value> = addresses
        .iter()
        .filter(|address| address.kind == ContactKind::Email)
        .map(|address| serde_json::json!({"address": address.value}))
        .collect();
    let name = name
        .map(|name| domain::omnichannel::conversations::stored_text(name).replace('\n', " "))
        .filter(|name| !name.is_empty())
        .map(|name| name.chars().take(100).collect::<String>());
    // A web chat visitor's session id names nobody; an address they typed in does.
    let shown = addresses
        .iter()
        .find(|address| matches!(address.kind, ContactKind::Email | ContactKind::Phone))
        .unwrap_or(&addresses[0]);
    let fallback_name = format!("{} {}", account.kind.as_str(), shown.value);
    let input: LeadInput = serde_json::from_value(serde_json::json!({
        "first_name": name.unwrap_or(fallback_name),
        "phones": phones,
        "emails": emails,
        "source": account.kind.as_str(),
        "description": format!("First wrote through {}", account.row.name),
    }))
    .map_err(|err| AppError::Internal(format!("lead from a sender: {err}")))?;
    let definitions = crate::sales::leads::definitions(conn)?;
    let input = crate::sales::leads::checked(input, &definitions).map_err(AppError::Invalid)?;
    let row = crate::sales::leads::insert_checked(conn, &Acting::system(Lang::En), input)?;
    Ok(row.id.0)
}
