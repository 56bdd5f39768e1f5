//! Unsubscribing (X-4, O-3): every e-mail to a customer carries a link that withdraws
//! their consent to the channel at one click (RFC 8058), and an opt-out word by SMS
//! does the same. The link's token names the customer and the channel and is signed
//! with the credential keys, so it cannot be made up for another customer; it does not
//! expire, as a recipient may act on an old message.

use channels::secrets::CredentialCipher;
use domain::customers::{ConsentChannel, ConsentPurpose};
use persistence::db::DbConnection;
use uuid::Uuid;

use crate::acting::Acting;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::transaction;

fn signed_text(customer: Uuid, channel: ConsentChannel) -> String {
    format!("unsubscribe:{customer}:{}", channel.as_str())
}

/// The token of the unsubscribe link of `customer` on `channel`:
/// `<customer>.<channel>.<signature>`.
pub fn token(cipher: &CredentialCipher, customer: Uuid, channel: ConsentChannel) -> String {
    format!(
        "{}.{}.{}",
        customer.simple(),
        channel.as_str(),
        cipher.sign_link(&signed_text(customer, channel))
    )
}

/// The customer and channel of a genuine token; anything else is not found, so that
/// tokens cannot be probed.
pub fn read_token(cipher: &CredentialCipher, token: &str) -> AppResult<(Uuid, ConsentChannel)> {
    let mut parts = token.split('.');
    let (Some(customer), Some(channel), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AppError::NotFound);
    };
    let customer = Uuid::try_parse(customer).map_err(|_| AppError::NotFound)?;
    let channel = ConsentChannel::parse(channel).ok_or(AppError::NotFound)?;
    if cipher.verify_link(&signed_text(customer, channel), signature) {
        Ok((customer, channel))
    } else {
        Err(AppError::NotFound)
    }
}

/// Withdraws every purpose the customer had granted on `channel`, and those of
/// `always` in any case, recorded in the consent ledger with `source` and `evidence`.
pub fn withdraw_channel(
    conn: &mut DbConnection,
    customer: Uuid,
    channel: ConsentChannel,
    always: &[ConsentPurpose],
    source: &str,
    evidence: &str,
) -> AppResult<()> {
    let mut purposes = always.to_vec();
    for state in persistence::consents::current(conn, customer)? {
        if state.channel == channel.as_str() && state.granted {
            if let Some(purpose) = ConsentPurpose::parse(&state.purpose) {
                if !purposes.contains(&purpose) {
                    purposes.push(purpose);
                }
            }
        }
    }
    let system = Acting::system(Lang::Fa);
    for purpose in purposes {
        crate::customers::privacy::record_consent(
            conn,
            &system,
            customer,
            crate::customers::privacy::ConsentInput {
                channel,
                purpose,
                granted: false,
                source: source.to_string(),
                evidence: Some(evidence.to_string()),
            },
        )?;
    }
    Ok(())
}

/// The one-click unsubscribe of `token`: the customer's consent to the channel is
/// withdrawn for marketing and service alike — whoever unsubscribes wants no more mail
/// there, and a later reply is refused rather than sent. Unsubscribing twice is no
/// error; a customer erased since is not found.
pub fn unsubscribe(
    conn: &mut DbConnection,
    cipher: &CredentialCipher,
    token: &str,
) -> AppResult<ConsentChannel> {
    let (customer, channel) = read_token(cipher, token)?;
    transaction(conn, |conn| {
        let record = persistence::customers::find(conn, customer)?;
        if record.row.erased_at.is_some() {
            return Err(AppError::NotFound);
        }
        withdraw_channel(
            conn,
            customer,
            channel,
            &[ConsentPurpose::Marketing, ConsentPurpose::Service],
            "unsubscribe_link",
            "one-click unsubscribe link",
        )?;
        Ok(channel)
    })
}

/// Checks a token before the unsubscribe page offers its button.
pub fn check(cipher: &CredentialCipher, token: &str) -> AppResult<ConsentChannel> {
    read_token(cipher, token).map(|(_, channel)| channel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_their_customer_and_cannot_be_forged() {
        let cipher =
            CredentialCipher::from_hex_list(&channels::secrets::generate_hex_key()).unwrap();
        let customer = Uuid::now_v7();
        let token = token(&cipher, customer, ConsentChannel::Email);
        assert_eq!(
            read_token(&cipher, &token).unwrap(),
            (customer, ConsentChannel::Email)
        );
        let other = Uuid::now_v7();
        let forged = token.replacen(
            &customer.simple().to_string(),
            &other.simple().to_string(),
            1,
        );
        assert!(matches!(
            read_token(&cipher, &forged),
            Err(AppError::NotFound)
        ));
        let rechannelled = token.replacen(".email.", ".sms.", 1);
        assert!(matches!(
            read_token(&cipher, &rechannelled),
            Err(AppError::NotFound)
        ));
        for junk in [
            "",
            "a.b",
            "x.email.y.z",
            &format!("{}.email.", customer.simple()),
        ] {
            assert!(
                matches!(read_token(&cipher, junk), Err(AppError::NotFound)),
                "{junk}"
            );
        }
        let stranger =
            CredentialCipher::from_hex_list(&channels::secrets::generate_hex_key()).unwrap();
        assert!(matches!(
            read_token(&stranger, &token),
            Err(AppError::NotFound)
        ));
    }
}
