//! A customer record as the stores held it before consent changes were recorded: JSON
//! without `consent_details`. Every store must still read such a record (the fields default)
//! and the use cases must work on it. The stores' own tests put it in raw (an SQL row, a
//! DynamoDB item) and run [`a_record_stored_before_consent_details_still_loads`].

use std::sync::Arc;

use boomerang_core::Boomerang;
use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::customer::{ConsentSource, CustomerRecord};
use boomerang_core::domain::ids::CustomerId;
use boomerang_core::domain::kinds::Channel;
use boomerang_core::ports::Store;

/// The customer id of the record.
pub const CUSTOMER_ID: &str = "legacy-anna";
/// The version the record was stored at.
pub const VERSION: u64 = 3;
/// The local date of the last purchase and the birthday, for stores that index them.
pub const LAST_PURCHASE_ON: &str = "2026-01-01";
pub const BIRTHDAY_MM_DD: &str = "05-17";

/// The record's JSON exactly as the stores wrote it before `consent_details` existed.
pub const RECORD_JSON: &str = r#"{"customer":{"customer_id":"legacy-anna","phone":"+79161234567","email":"anna@example.ru","name":"Anna","birthday":"1990-05-17","consent":{"email":true,"sms":false},"preferred_channel":"email","locale":"ru","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-02T00:00:00Z","erased_at":null,"email_undeliverable_at":null},"account":{"lots":{"2027-01-01":120},"last_purchase_on":"2026-01-01","totals":{"earned":120,"gifted":0,"restored":0,"spent":0,"clawed_back":0,"expired":0}},"version":3}"#;

/// Reads the record `store` holds raw, checks it loaded with no consent change on record,
/// and that the customer's unsubscribe is then recorded and written in the new form.
pub async fn a_record_stored_before_consent_details_still_loads(store: Arc<dyn Store>) {
    let id = CustomerId::parse(CUSTOMER_ID).expect("an id");
    let record: CustomerRecord = store.customer(&id).await.expect("the old record loads").expect("it is there");
    assert_eq!(record.version, VERSION);
    let c = &record.customer;
    assert_eq!((c.consent.email, c.consent.sms), (true, false), "the flags as stored");
    assert_eq!((&c.consent_details.email, &c.consent_details.sms), (&None, &None), "no change on record");
    assert_eq!(c.email.as_ref().map(|e| e.as_str()), Some("anna@example.ru"));
    assert_eq!(record.account.totals.earned, 120);

    let app = Boomerang::new(store.clone(), Arc::new(ProgramConfig::defaults()));
    let token = app.unsubscribe_token(&id).await.expect("a token");
    let now = "2026-11-24T07:00:00Z".parse().expect("an instant");
    app.unsubscribe(&token, now).await.expect("the unsubscribe is written");
    let after = store.customer(&id).await.expect("read").expect("there");
    assert_eq!(after.version, VERSION + 1);
    let withdrawal = after.customer.withdrawal(Channel::Email).expect("recorded as the customer's");
    assert_eq!((withdrawal.at, &withdrawal.source), (now, &ConsentSource::UnsubscribeLink));
}
