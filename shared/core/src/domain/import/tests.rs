//! Tests of reading CSV rows: amounts, headers, customer and purchase cells, and how bad rows are reported.

use super::*;
use super::test_rows::*;


#[test]
fn amounts_are_read_exactly_into_minor_units() {
    for (text, minor) in [
        ("1234.50", 123_450),
        ("12.5", 1250),
        ("12", 1200),
        ("0.01", 1),
        ("007.10", 710),
        // A decimal comma, as Excel writes amounts in a Russian locale.
        ("1234,50", 123_450),
        ("1,50", 150),
        ("12,5", 1250),
        ("0,01", 1),
    ] {
        assert_eq!(parse_amount_minor(text), Ok(minor), "{text}");
    }
    // At most what the API takes: 10^11 minor units.
    assert_eq!(parse_amount_minor("1000000000.00"), Ok(MAX_AMOUNT_MINOR));
    let e = parse_amount_minor("1000000000.01").unwrap_err();
    assert_eq!(e.0, "amount 1000000000.01 is too large: at most 1000000000.00, as the API takes");
    for text in [
        "1000000000.01",
        "184467440737095516.15",
        "1.234",
        "-1",
        "0",
        "0.00",
        "1e3",
        "abc",
        "",
        ".5",
        "1.",
        "+1",
        "1 000",
        "1,000.50",
        "1.000,50",
        "1,234,50",
        "1,234",
        ",5",
        "1,",
        "0,00",
        "1.2.3",
        "184467440737095516.16",
    ] {
        assert!(parse_amount_minor(text).is_err(), "{text:?} was accepted");
    }
    let grouped = parse_amount_minor("1,234").unwrap_err().0;
    assert!(grouped.contains("digit grouping is not accepted"), "{grouped}");
    assert_eq!(parse_purchase_row(&purchase_row(2, "r1", "1234,50", "")).unwrap().amount_minor, 123_450);
}

#[test]
fn a_bad_amount_names_its_line_and_column() {
    for bad in ["1.234", "-1", "0", "1e3", "abc"] {
        let rows = [purchase_row(2, "r1", "10", ""), purchase_row(3, "r2", bad, "")];
        let e = parse_purchases(&rows).unwrap_err();
        assert_eq!(e.total(), 1, "{e}");
        let e = e.first();
        assert_eq!((e.line, e.column.as_deref()), (3, Some("amount")), "{bad}: {e}");
        assert!(e.to_string().starts_with("line 3, column amount: "), "{e}");
    }
}

#[test]
fn a_purchase_row_becomes_the_request_the_pos_would_send() {
    let req = parse_purchase_row(&purchase_row(2, "r1", "1234.50", "")).unwrap();
    assert_eq!((req.amount_minor, req.redeem_points), (123_450, 0));
    assert_eq!(req.occurred_at.to_rfc3339(), "2026-11-24T09:00:00+03:00");
    assert_eq!(parse_purchase_row(&purchase_row(2, "r1", " 12 ", "30")).unwrap().redeem_points, 30);
    assert_eq!(parse_purchase_row(&purchase_row(2, "r1", "12", "100000000000")).unwrap().redeem_points, MAX_AMOUNT_MINOR);
    for (column, value) in [
        ("redeem_points", "+5"),
        ("redeem_points", "-5"),
        ("redeem_points", "1.5"),
        ("redeem_points", "100000000001"),
        ("redeem_points", "18446744073709551615"),
        ("currency", "rub"),
        ("occurred_at", "2026-11-24 09:00"),
        ("occurred_at", "2026-11-24T09:00:00"),
        ("receipt_id", ""),
        ("store_id", "a b"),
    ] {
        let mut r = purchase_row(5, "r1", "10", "");
        r.fields.insert(column.into(), value.into());
        let e = parse_purchase_row(&r).unwrap_err();
        assert_eq!((e.line, e.column.as_deref()), (5, Some(column)), "{column}={value:?}: {e}");
    }
}

#[test]
fn headers_must_be_known_complete_and_unique() {
    check_headers(ImportKind::Purchases, &PURCHASE_COLUMNS).unwrap();
    check_headers(ImportKind::Customers, &["customer_id"]).unwrap();
    let e = check_headers(ImportKind::Purchases, &["receipt_id", "customer_id", "amount", "currency", "store_id"])
        .unwrap_err();
    assert_eq!((e.line, e.column.as_deref()), (1, Some("occurred_at")), "{e}");
    assert!(e.message.contains("missing"), "{e}");
    let e = check_headers(ImportKind::Customers, &["customer_id", "phone", "fax"]).unwrap_err();
    assert_eq!((e.line, e.column.as_deref()), (1, Some("fax")), "{e}");
    assert!(e.message.contains("unknown"), "{e}");
    let e = check_headers(ImportKind::Customers, &["customer_id", "phone", "phone"]).unwrap_err();
    assert_eq!(e.column.as_deref(), Some("phone"));
}

#[test]
fn rows_carry_the_header_check() {
    let mut r = purchase_row(2, "r1", "10", "");
    r.fields.remove("amount");
    assert_eq!(parse_purchases(&[r]).unwrap_err().first().column.as_deref(), Some("amount"));
    let mut r = customer_row(2, "c1", "", "");
    r.fields.insert("fax".into(), "1".into());
    let e = parse_customers(&[r.clone(), r], today()).unwrap_err();
    assert_eq!((e.first().line, e.total()), (1, 1), "a bad header is the one error: {e}");
    // A later row that does not match the header is named by its own line.
    let mut odd = purchase_row(3, "r2", "10", "");
    odd.fields.remove("redeem_points");
    assert_eq!(parse_purchases(&[purchase_row(2, "r1", "10", ""), odd]).unwrap_err().first().line, 3);
    assert_eq!(parse_purchases(&[]).unwrap(), vec![]);
}

#[test]
fn a_customer_row_becomes_a_patch_and_empty_cells_leave_fields_alone() {
    let (id, patch) = parse_customer_row(&customer_row(2, "c1", "+79161234567", "YES"), today()).unwrap();
    assert_eq!(id.as_str(), "c1");
    assert_eq!(patch.phone, Some(Some(Phone::parse("+79161234567").unwrap())));
    assert_eq!(patch.email, None);
    assert_eq!(patch.name, Some(Some("Anna".into())));
    assert_eq!(patch.birthday, Some(Some("1990-05-17".parse().unwrap())));
    assert_eq!((patch.consent_email, patch.consent_sms), (Some(true), None));
    assert_eq!(patch.preferred_channel, Some(Some(Channel::Sms)));
    assert_eq!(patch.locale, Some(Some(Locale::Ru)));
    for (text, value) in [("true", true), ("1", true), ("no", false), ("False", false), ("0", false)] {
        assert_eq!(parse_consent(text), Ok(value));
    }
    assert!(parse_consent("y").is_err());
}

#[test]
fn a_bad_customer_cell_names_its_line() {
    let rows = [customer_row(2, "c1", "+79161234567", ""), customer_row(3, "c2", "8916123", "")];
    let e = parse_customers(&rows, today()).unwrap_err();
    assert_eq!(e.total(), 1, "{e}");
    let e = e.first();
    assert_eq!((e.line, e.column.as_deref()), (3, Some("phone")), "{e}");
    assert!(e.to_string().starts_with("line 3, column phone: phone must be in E.164"), "{e}");
    for (column, value) in [
        ("birthday", "17.05.1990"),
        ("birthday", "2030-01-01"),
        ("email", "anna"),
        ("email_consent", "maybe"),
        ("preferred_channel", "pigeon"),
        ("locale", "de"),
        ("customer_id", ""),
    ] {
        let mut r = customer_row(4, "c1", "", "");
        r.fields.insert(column.into(), value.into());
        let e = parse_customer_row(&r, today()).unwrap_err();
        assert_eq!((e.line, e.column.as_deref()), (4, Some(column)), "{column}={value:?}: {e}");
    }
}

#[test]
fn a_customer_twice_in_one_file_is_refused() {
    let rows = [
        customer_row(2, "c1", "", ""),
        customer_row(3, "c2", "", ""),
        customer_row(4, "c1", "", ""),
        customer_row(5, "c1", "", ""),
    ];
    let e = parse_customers(&rows, today()).unwrap_err();
    assert_eq!(e.total(), 2, "{e}");
    for (e, line) in e.errors.iter().zip([4, 5]) {
        assert_eq!((e.line, e.column.as_deref()), (line, Some("customer_id")));
        assert!(e.message.contains("already appears on line 2"), "{e}");
    }
}

#[test]
fn every_bad_row_is_reported_not_only_the_first() {
    let mut rows: Vec<CsvRow> = (2..=8).map(|line| purchase_row(line, &format!("r{line}"), "10", "")).collect();
    rows[1].fields.insert("amount".into(), "ten".into()); // line 3
    rows[5].fields.insert("occurred_at".into(), "yesterday".into()); // line 7
    let e = parse_purchases(&rows).unwrap_err();
    let named: Vec<(usize, Option<&str>)> = e.errors.iter().map(|e| (e.line, e.column.as_deref())).collect();
    assert_eq!(named, vec![(3, Some("amount")), (7, Some("occurred_at"))]);
    assert_eq!(e.more, 0);
    let text = e.to_string();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.starts_with("line 3, column amount: ") && text.contains("\nline 7, column occurred_at: "), "{text}");

    let mut customers: Vec<CsvRow> = (2..=8).map(|line| customer_row(line, &format!("c{line}"), "", "")).collect();
    customers[1].fields.insert("birthday".into(), "1990-02-30".into()); // line 3
    customers[5].fields.insert("birthday".into(), "14.03.1990".into()); // line 7
    let e = parse_customers(&customers, today()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 3, column birthday: birthday 1990-02-30 is not a date: February 1990 has days 01 to 28\n\
         line 7, column birthday: birthday must be a date as YYYY-MM-DD, e.g. 1990-03-14; got \"14.03.1990\""
    );
}

#[test]
fn at_most_twenty_bad_rows_are_listed_and_the_rest_counted() {
    let rows: Vec<CsvRow> = (2..=26).map(|line| purchase_row(line, &format!("r{line}"), "-1", "")).collect();
    let e = parse_purchases(&rows).unwrap_err();
    assert_eq!((e.errors.len(), e.more, e.total()), (MAX_REPORTED_ERRORS, 5, 25));
    assert_eq!(e.errors.iter().map(|e| e.line).collect::<Vec<_>>(), (2..=21).collect::<Vec<_>>());
    let text = e.to_string();
    assert_eq!(text.lines().count(), 21, "{text}");
    assert!(text.ends_with("\nand 5 more rows"), "{text}");
    let one_more: Vec<CsvRow> = rows[..21].to_vec();
    assert!(parse_purchases(&one_more).unwrap_err().to_string().ends_with("\nand 1 more row"));
}

#[test]
fn a_birthday_that_is_not_a_date_says_why() {
    let cases = [
        ("1990-02-30", "birthday 1990-02-30 is not a date: February 1990 has days 01 to 28"),
        ("1990-13-01", "birthday 1990-13-01 is not a date: there is no month 13 (months are 01 to 12)"),
        ("14.03.1990", "birthday must be a date as YYYY-MM-DD, e.g. 1990-03-14; got \"14.03.1990\""),
        ("1899-12-31", "birthday must be between 1900-01-01 and today"),
    ];
    for (text, message) in cases {
        assert_eq!(customer::parse_birthday(text, today()).unwrap_err().0, message, "{text}");
    }
    assert_eq!(customer::parse_birthday("1992-02-29", today()), Ok("1992-02-29".parse().unwrap()));
}

#[test]
fn an_unsupported_locale_lists_the_supported_ones() {
    let mut r = customer_row(4, "c1", "", "");
    r.fields.insert("locale".into(), "fr".into());
    let e = parse_customer_row(&r, today()).unwrap_err();
    assert_eq!(e.to_string(), "line 4, column locale: \"fr\" is not a supported locale; the supported ones are ru, en");
}
