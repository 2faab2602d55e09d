//! `boomerang-bench`: the figures behind docs/performance.md, measured by counting what the
//! DynamoDB store sends (requests per operation, request bytes of writes) against the
//! emulator at AWS_ENDPOINT_URL, plus the release sizes of the Lambda binaries.
//! Run it with `bash scripts/bench`.

use std::sync::Arc;

use boomerang_core::Boomerang;
use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::customer::CustomerRecord;
use boomerang_core::domain::ids::{Currency, CustomerId, ReceiptId, RefundId, StoreId};
use boomerang_core::domain::purchase::{decide_purchase, Backdating, PurchaseRequest, RefundRequest};
use boomerang_core::ports::{CustomerWriter, Expected};
use boomerang_dynamodb::{items, DynamoStore, RequestMetrics};
use chrono::{DateTime, Duration, FixedOffset, Utc};

fn now() -> DateTime<Utc> {
    "2026-11-24T09:00:00Z".parse().expect("a valid instant")
}

fn purchase(receipt: &str, customer: &str, at: DateTime<FixedOffset>, amount: u64, redeem: u64) -> PurchaseRequest {
    PurchaseRequest {
        receipt_id: ReceiptId::parse(receipt).expect("receipt id"),
        customer_id: CustomerId::parse(customer).expect("customer id"),
        amount_minor: amount,
        currency: Currency::parse("RUB").expect("currency"),
        occurred_at: at,
        store_id: StoreId::parse("store-1").expect("store id"),
        redeem_points: redeem,
    }
}

fn moscow(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&FixedOffset::east_opt(3 * 3600).expect("offset"))
}

/// A customer with `n` past purchases spread evenly from `from_days_ago` to `to_days_ago`,
/// loaded directly (record computed by the domain, receipts batch-written) so seeding is not
/// what we measure.
async fn seed_history(
    store: &DynamoStore,
    config: &ProgramConfig,
    customer: &str,
    n: usize,
    (from_days_ago, to_days_ago): (i64, i64),
) -> Result<(), Box<dyn std::error::Error>> {
    let mut record = CustomerRecord::new(CustomerId::parse(customer)?, now());
    let mut receipts = Vec::with_capacity(n);
    let span_minutes = (from_days_ago - to_days_ago) * 24 * 60;
    for i in 0..n {
        let ago = Duration::days(to_days_ago) + Duration::minutes(span_minutes - (span_minutes * i as i64) / n as i64);
        let at = now() - ago;
        let req = purchase(&format!("{customer}-h{i}"), customer, moscow(at), 150_000, 0);
        let decision = decide_purchase(config, &record.account, &req, at, Backdating::AnyAge)?;
        record.account = decision.account;
        receipts.push(decision.receipt);
    }
    // The daily sweep would have burned what expired before today.
    record.account.burn_expired(config.local_date(now()), "burn");
    record.version = 1;
    store.put_customer(&record, Expected::Absent).await?;
    store.bulk_put(receipts.iter().map(items::receipt_item).collect::<Result<_, _>>()?).await?;
    Ok(())
}

fn delta(store: &DynamoStore) -> RequestMetrics {
    let m = store.metrics();
    store.reset_metrics();
    m
}

fn describe(m: &RequestMetrics) -> String {
    let ops: Vec<String> = m.requests.iter().map(|(op, n)| format!("{n} {op}")).collect();
    format!(
        "{:>2} requests ({}), {:>5} bytes written, {:>2} write units",
        m.total_requests(),
        ops.join(" + "),
        m.total_write_bytes(),
        m.total_write_units()
    )
}

/// On-demand prices, us-east-1 (USD per million): DynamoDB write and read request units
/// (since November 2024), API Gateway HTTP API requests, Lambda arm64 requests; Lambda arm64
/// compute per GB-second.
const PRICE_WRU: f64 = 0.625;
const PRICE_RRU: f64 = 0.125;
const PRICE_HTTP_API: f64 = 1.00;
const PRICE_LAMBDA_REQUESTS: f64 = 0.20;
const PRICE_LAMBDA_GB_S: f64 = 0.000_013_333_4;

/// What one million purchases cost, each as measured (`write_units`), read with one
/// strongly consistent BatchGetItem of two items under 4 KB (2 read units), served by a
/// 128 MB function in `ms` milliseconds; the authorizer's answer is cached per key.
fn million_purchases(write_units: u64, ms: f64) -> String {
    let dynamodb = write_units as f64 * PRICE_WRU + 2.0 * PRICE_RRU;
    let lambda = PRICE_LAMBDA_REQUESTS + 1_000_000.0 * 0.125 * ms / 1000.0 * PRICE_LAMBDA_GB_S;
    format!(
        "${:.2} (DynamoDB ${dynamodb:.2}: {write_units} WRU x ${PRICE_WRU} + 2 RRU x ${PRICE_RRU}; HTTP API ${PRICE_HTTP_API:.2}; Lambda ${lambda:.2} at 128 MB, {ms} ms)",
        dynamodb + PRICE_HTTP_API + lambda
    )
}

/// A lapsed_30 decision of `sweep_date` for `customer`: sent by email, or held out.
fn lapse_outcome(customer: &str, sweep_date: chrono::NaiveDate, held_out: bool) -> Result<boomerang_core::domain::triggers::Outcome, Box<dyn std::error::Error>> {
    use boomerang_core::domain::kinds::{Channel, TriggerKind};
    use boomerang_core::domain::triggers::{Episode, Outcome, OutcomeKey, OutcomeStatus};
    Ok(Outcome {
        key: OutcomeKey { customer_id: CustomerId::parse(customer)?, trigger: TriggerKind::Lapsed30, episode: Episode::Lapse(sweep_date) },
        sweep_date,
        status: if held_out { OutcomeStatus::Holdout } else { OutcomeStatus::Sent },
        channel: (!held_out).then_some(Channel::Email),
        unreachable: None,
        gift_points: 0,
        gift_expires_on: None,
        expiring_points: 0,
        decided_at: sweep_date.and_hms_opt(6, 0, 0).expect("time").and_utc(),
        sent_at: None,
        error: None,
        valid_until: None,
        treated: !held_out,
        claim: None,
    })
}

/// The requests of a 30-day report over a fresh table holding `receipts` receipts in the
/// period (bulk-loaded, spread over 2,000 customers) and the same 600 outcomes (20 a day,
/// each customer's receipts in their windows read once per customer).
async fn report_requests(receipts: usize) -> Result<RequestMetrics, Box<dyn std::error::Error>> {
    let store = Arc::new(DynamoStore::measured_from_env(&format!("bench-report-{}-{receipts}", std::process::id())).await?);
    store.create_table().await?;
    let config = ProgramConfig::defaults();
    let (from, to): (chrono::NaiveDate, chrono::NaiveDate) = ("2026-10-01".parse()?, "2026-10-30".parse()?);
    let mut items = Vec::with_capacity(receipts);
    let account = boomerang_core::domain::ledger::Account::default();
    for i in 0..receipts {
        let day = from + Duration::days((i % 30) as i64);
        let at = moscow(day.and_hms_opt(9, 0, 0).expect("time").and_utc());
        let req = purchase(&format!("r-{i}"), &format!("c-{}", i % 2_000), at, 150_000, 0);
        items.push(items::receipt_item(&decide_purchase(&config, &account, &req, now(), Backdating::AnyAge)?.receipt)?);
    }
    store.bulk_put(items).await?;
    for k in 0..600usize {
        let sweep_date = from + Duration::days((k / 20) as i64);
        let outcome = lapse_outcome(&format!("c-{}", k * 3), sweep_date, k % 5 == 0)?;
        boomerang_core::ports::SweepStore::record_outcome(store.as_ref(), &outcome, None).await?;
    }
    let app = Boomerang::new(store.clone(), Arc::new(config));
    store.reset_metrics();
    let report = app.trigger_report(from, to, now()).await?;
    assert_eq!(report.rows.last().map(|r| r.eligible), Some(600));
    Ok(store.metrics())
}

/// Records sends without I/O: the bench measures the sweep, not a mail provider.
struct NullMessenger;

#[async_trait::async_trait]
impl boomerang_core::ports::Messenger for NullMessenger {
    async fn sms_opted_out(&self, _: &boomerang_core::domain::ids::Phone) -> Result<bool, boomerang_core::ports::SendError> {
        Ok(false)
    }
    async fn send(&self, _: &boomerang_core::ports::OutgoingMessage) -> Result<(), boomerang_core::ports::SendError> {
        Ok(())
    }
}

/// A customer with an email and 50 points whose last purchase was on `last`.
fn base_customer(id: &str, last: chrono::NaiveDate) -> CustomerRecord {
    let mut r = CustomerRecord::new(CustomerId::parse(id).expect("id"), now());
    r.customer.email = Some(boomerang_core::domain::ids::Email::parse(&format!("{id}@example.ru")).expect("email"));
    r.customer.consent = boomerang_core::domain::customer::Consent { email: true, sms: false };
    r.account.earn(boomerang_core::domain::ledger::LotKey::earned(last + Duration::days(365)), 50, "seed");
    r.account.last_purchase_on = Some(last);
    r.version = 1;
    r
}

/// The requests of a sweep of 2026-11-01 over a fresh table of `size` customers, 50 of whom
/// lapsed 31 days before (the others bought 1 to 25 days before: due for nothing).
async fn sweep_requests(size: usize) -> Result<(RequestMetrics, u64), Box<dyn std::error::Error>> {
    let store = Arc::new(DynamoStore::measured_from_env(&format!("bench-sweep-{}-{size}", std::process::id())).await?);
    store.create_table().await?;
    let day: chrono::NaiveDate = "2026-11-01".parse()?;
    let mut base = Vec::with_capacity(size);
    for i in 0..size {
        let (id, last) = if i < 50 {
            (format!("due-{i}"), "2026-10-01".parse()?)
        } else {
            (format!("c-{i}"), day - Duration::days(1 + (i % 25) as i64))
        };
        base.push(items::customer_item(&base_customer(&id, last), 1)?);
    }
    store.bulk_put(base).await?;
    let config = ProgramConfig::from_toml_str("[triggers.lapsed_30]\nholdout_percent = 0")?;
    let app = Boomerang::new(store.clone(), Arc::new(config));
    store.reset_metrics();
    let at = day.and_hms_opt(9, 0, 0).expect("time").and_utc();
    let report = app.sweep(&NullMessenger, day, at, boomerang_core::app::sweep::SweepOptions::default()).await?;
    Ok((store.metrics(), report.triggers.values().map(|c| c.sent_email).sum()))
}

/// Wall time of one sweep over an embedded store of `size` customers, 50 of them due.
async fn sweep_embedded(size: usize) -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("boomerang-bench-sweep-{}-{size}", std::process::id()));
    let store = Arc::new(boomerang_sqlite::SqliteStore::open_unsynced(&dir)?);
    let day: chrono::NaiveDate = "2026-11-01".parse()?;
    let seeding = std::time::Instant::now();
    for i in 0..size {
        let (id, last) = if i < 50 {
            (format!("due-{i}"), "2026-10-01".parse()?)
        } else {
            (format!("c-{i}"), day - Duration::days(1 + (i % 25) as i64))
        };
        store.put_customer(&base_customer(&id, last), Expected::Absent).await?;
    }
    let seeded = seeding.elapsed();
    let config = ProgramConfig::from_toml_str("[triggers.lapsed_30]\nholdout_percent = 0")?;
    let app = Boomerang::new(store, Arc::new(config));
    let started = std::time::Instant::now();
    let at = day.and_hms_opt(9, 0, 0).expect("time").and_utc();
    let report = app.sweep(&NullMessenger, day, at, boomerang_core::app::sweep::SweepOptions::default()).await?;
    let sent: u64 = report.triggers.values().map(|c| c.sent_email).sum();
    println!(
        "  {size:>9} customers, 50 due: sweep {:>7.1} ms, {sent} sent (seeding took {:.1} s)",
        started.elapsed().as_secs_f64() * 1000.0,
        seeded.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Counts each customer's messages, with the local date it was sent.
#[derive(Default)]
struct CountingMessenger(std::sync::Mutex<Vec<(String, DateTime<Utc>)>>);

#[async_trait::async_trait]
impl boomerang_core::ports::Messenger for CountingMessenger {
    async fn sms_opted_out(&self, _: &boomerang_core::domain::ids::Phone) -> Result<bool, boomerang_core::ports::SendError> {
        Ok(false)
    }
    async fn send(&self, m: &boomerang_core::ports::OutgoingMessage) -> Result<(), boomerang_core::ports::SendError> {
        self.0.lock().expect("lock").push((m.key.customer_id.to_string(), m.created_at));
        Ok(())
    }
}

/// The most messages each kind of customer got in any 30 days over two simulated years of
/// daily sweeps (default program, no holdout): a daily shopper, a weekly one, and one who
/// bought weekly for a year and then stopped.
async fn contact_rates() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("boomerang-bench-contact-{}", std::process::id()));
    let store = Arc::new(boomerang_sqlite::SqliteStore::open_unsynced(&dir)?);
    let mut text = String::new();
    for t in ["lapsed_30", "lapsed_60", "lapsed_90", "birthday", "points_expiring"] {
        text.push_str(&format!("[triggers.{t}]\nholdout_percent = 0\n"));
    }
    let config = ProgramConfig::from_toml_str(&text)?;
    let app = Boomerang::new(store, Arc::new(config.clone()));
    let first: chrono::NaiveDate = "2025-01-01".parse()?;
    let shoppers = [("daily", 1, 730), ("weekly", 7, 730), ("lapsed", 7, 365)];
    for (id, _, _) in shoppers {
        let patch = boomerang_core::domain::customer::ProfilePatch {
            email: Some(Some(boomerang_core::domain::ids::Email::parse(&format!("{id}@example.ru"))?)),
            birthday: Some(Some("1990-06-15".parse()?)),
            consent_email: Some(true),
            ..Default::default()
        };
        app.enroll(&CustomerId::parse(id)?, &patch, first.and_hms_opt(9, 0, 0).expect("time").and_utc()).await?;
    }
    let messenger = CountingMessenger::default();
    for k in 0..730i64 {
        let day = first + Duration::days(k);
        let noon = day.and_hms_opt(9, 0, 0).expect("time").and_utc();
        for (id, every, until) in shoppers {
            if k % every == 0 && k < until {
                app.purchase(&purchase(&format!("{id}-{k}"), id, moscow(noon), 150_000, 0), noon, Backdating::AnyAge).await?;
            }
        }
        app.sweep(&messenger, day, noon, boomerang_core::app::sweep::SweepOptions::default()).await?;
    }
    let sent = messenger.0.lock().expect("lock").clone();
    println!("most messages one customer got in any 30 days, two years of daily sweeps (default program, no holdout)");
    for (id, _, _) in shoppers {
        let dates: Vec<chrono::NaiveDate> =
            sent.iter().filter(|(c, _)| c == id).map(|(_, at)| config.local_date(*at)).collect();
        let most = dates
            .iter()
            .map(|start| dates.iter().filter(|d| **d >= *start && **d < *start + Duration::days(30)).count())
            .max()
            .unwrap_or(0);
        println!("  {id:<8} shopper: {most} (of {} messages in two years)", dates.len());
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Loads an embedded store with `customers` customers and `receipts` receipts spread over the
/// 30 days of October 2026 (each customer's purchases through the store's own commit, so the
/// day book is kept as in production), and `per_day` trigger outcomes a day.
async fn seed_embedded(dir: &str, customers: usize, receipts: usize, per_day: usize) -> Result<(), Box<dyn std::error::Error>> {
    use boomerang_core::ports::{LedgerWriter, PurchaseCommit, SweepStore};
    let store = boomerang_sqlite::SqliteStore::open_unsynced(std::path::Path::new(dir))?;
    let config = ProgramConfig::defaults();
    let from: chrono::NaiveDate = "2026-10-01".parse()?;
    let started = std::time::Instant::now();
    let mut made = 0usize;
    for c in 0..customers {
        let id = format!("c-{c}");
        let mut record = CustomerRecord::new(CustomerId::parse(&id)?, now());
        let mut expected = Expected::Absent;
        // Spread the receipts evenly: customer c gets receipts/customers, the first ones one more.
        let n = receipts / customers + usize::from(c < receipts % customers);
        for k in 0..n {
            let day = from + Duration::days(((c * 7 + k * 11) % 30) as i64);
            let at = day.and_hms_opt(9, 0, 0).expect("time").and_utc() + Duration::minutes(k as i64);
            let redeem = if k % 4 == 3 { record.account.balance(day).min(100) } else { 0 };
            let req = purchase(&format!("r-{c}-{k}"), &id, moscow(at), 50_000 + (c % 50) as u64 * 1_000, redeem);
            let decision = decide_purchase(&config, &record.account, &req, at, Backdating::AnyAge)?;
            record.account = decision.account;
            record.version = expected.next_version();
            let commit =
                PurchaseCommit { record: record.clone(), expected, receipt: decision.receipt, entries: decision.entries, referral_reward: None };
            store.commit_purchase(&commit).await?;
            expected = Expected::Version(record.version);
            made += 1;
        }
        if c % 100_000 == 0 && c > 0 {
            eprintln!("  {c} customers, {made} receipts, {:.0} s", started.elapsed().as_secs_f64());
        }
    }
    for day in 0..30 {
        let sweep_date = from + Duration::days(day);
        for k in 0..per_day {
            let customer = (day as usize * per_day + k) * 7 % customers;
            let outcome = lapse_outcome(&format!("c-{customer}"), sweep_date, k % 5 == 0)?;
            match store.record_outcome(&outcome, None).await {
                Ok(()) | Err(boomerang_core::ports::StoreError::Duplicate) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    store.complete_sweep("2026-10-30".parse()?).await?;
    println!("seeded {dir}: {customers} customers, {made} receipts, {per_day} outcomes a day in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// The process's peak resident memory (Linux `VmHWM`), in MiB.
fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Wall time and peak memory of a 30-day report (October 2026) on a seeded embedded store.
async fn report_embedded(dir: &str) -> Result<(), Box<dyn std::error::Error>> {
    let store = Arc::new(boomerang_sqlite::SqliteStore::open(std::path::Path::new(dir))?);
    let app = Boomerang::new(store, Arc::new(ProgramConfig::defaults()));
    let before = peak_mib();
    let started = std::time::Instant::now();
    let report = app.trigger_report("2026-10-01".parse()?, "2026-10-30".parse()?, now()).await?;
    let took = started.elapsed();
    println!(
        "  30-day report: {:.2} s, peak memory {:.1} MiB (after opening {:.1} MiB); {} purchases in the period, {} outcomes, liability {} points",
        took.as_secs_f64(),
        peak_mib(),
        before,
        report.all_purchases,
        report.rows.last().map_or(0, |r| r.eligible),
        report.points.liability_points
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("seed-embedded") {
        let n = |i: usize| args.get(i).and_then(|a| a.parse().ok()).ok_or("seed-embedded DIR CUSTOMERS RECEIPTS OUTCOMES_PER_DAY");
        return seed_embedded(&args[2], n(3)?, n(4)?, n(5)?).await;
    }
    if args.get(1).map(String::as_str) == Some("report-requests") {
        println!("requests of a 30-day trigger report, by receipts in the period (one table each, 600 outcomes)");
        for receipts in &args[2..] {
            let m = report_requests(receipts.parse()?).await?;
            println!("  {receipts:>7} receipts: {}", describe(&m));
        }
        return Ok(());
    }
    if args.get(1).map(String::as_str) == Some("report-embedded") {
        return report_embedded(args.get(2).ok_or("report-embedded DIR")?).await;
    }
    if std::env::args().nth(1).as_deref() == Some("contact") {
        return contact_rates().await;
    }
    if std::env::args().nth(1).as_deref() == Some("sweep-embedded") {
        println!("wall time of one sweep on the embedded store (SQLite), 50 customers due");
        for size in std::env::args().skip(2) {
            sweep_embedded(size.parse()?).await?;
        }
        return Ok(());
    }
    let history: usize = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(10_000);
    let table = format!("bench-{}", std::process::id());
    let store = Arc::new(DynamoStore::measured_from_env(&table).await?);
    store.create_table().await?;
    let config = ProgramConfig::defaults();
    let app = Boomerang::new(store.clone(), Arc::new(config.clone()));
    let at = moscow(now() - Duration::minutes(5));

    println!("Boomerang bench: DynamoDB store against {} (table {table})", std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "AWS".into()));
    println!();
    println!("requests per operation (counted by the SDK interceptor, retries included)");
    store.reset_metrics();
    app.purchase(&purchase("b-1", "new-customer", at, 200_000, 0), now(), Backdating::Limited).await?;
    println!("  purchase, new customer        {}", describe(&delta(&store)));
    app.purchase(&purchase("b-2", "new-customer", at, 200_000, 0), now(), Backdating::Limited).await?;
    let one = delta(&store);
    println!("  purchase                      {}", describe(&one));
    let purchase_units = one.total_write_units();
    // A customer who bought yesterday: today's first purchase moves their `by_last_purchase`
    // entry and earns into a new lot date (an expiry marker), as most purchases do.
    let yesterday = now() - Duration::days(1);
    app.purchase(&purchase("b-y1", "returning", moscow(yesterday), 200_000, 0), yesterday, Backdating::Limited).await?;
    delta(&store);
    app.purchase(&purchase("b-y2", "returning", at, 200_000, 0), now(), Backdating::Limited).await?;
    let first_of_day = delta(&store);
    println!("  purchase, first of the day    {}", describe(&first_of_day));
    app.purchase(&purchase("b-3", "new-customer", at, 100_000, 100), now(), Backdating::Limited).await?;
    println!("  purchase with spend           {}", describe(&delta(&store)));
    let replay = app.purchase(&purchase("b-3", "new-customer", at, 100_000, 100), now(), Backdating::Limited).await?;
    assert!(replay.replayed);
    println!("  replayed receipt              {}", describe(&delta(&store)));
    app.balance(&CustomerId::parse("new-customer")?, now()).await?;
    println!("  balance                       {}", describe(&delta(&store)));
    let refund = RefundRequest {
        customer_id: Some(CustomerId::parse("new-customer")?),
        refund_id: RefundId::parse("b-f1")?,
        receipt_id: ReceiptId::parse("b-3")?,
        amount_minor: 20_000,
        occurred_at: at,
    };
    app.refund(&refund, now()).await?;
    println!("  refund (naming its customer)  {}", describe(&delta(&store)));
    assert!(app.refund(&refund, now()).await?.replayed);
    println!("  replayed refund               {}", describe(&delta(&store)));
    let unnamed = RefundRequest { customer_id: None, refund_id: RefundId::parse("b-f2")?, ..refund };
    app.refund(&unnamed, now()).await?;
    println!("  refund without customer_id    {}", describe(&delta(&store)));
    println!();
    println!("one million purchases at on-demand prices (us-east-1), each as measured above");
    println!("  the day's second purchase: {}", million_purchases(purchase_units, 30.0));
    println!("  the day's first purchase:  {}", million_purchases(first_of_day.total_write_units(), 30.0));


    println!();
    println!("bytes one purchase writes, by length of the customer's history");
    let cases = [
        ("one purchase last week".to_string(), "history-1".to_string(), 1, (7, 7)),
        (format!("{history} purchases over 6 years, the last a year ago"), format!("old-{history}"), history, (6 * 365, 366)),
        (format!("{history} purchases over the last 5 years"), format!("dense-{history}"), history, (5 * 365, 1)),
    ];
    for (label, customer, n, span) in &cases {
        seed_history(&store, &config, customer, *n, *span).await?;
        delta(&store);
        app.purchase(&purchase(&format!("{customer}-new"), customer, at, 150_000, 0), now(), Backdating::Limited).await?;
        let m = delta(&store);
        let lots = app.customer(&CustomerId::parse(customer)?).await?.account.lots.len();
        println!("  {label:<48} {} ({lots} live lots after)", describe(&m));
    }

    println!();
    println!("requests of one sweep with 50 customers due, by the size of the base (one table each)");
    for size in [500, 5_000] {
        let (requests, sent) = sweep_requests(size).await?;
        println!("  {size:>6} customers: {} ({sent} sent)", describe(&requests));
    }

    println!();
    println!("release sizes of the Lambda binaries (cargo lambda build --release)");
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    // Every crate under functions/ is a Lambda; scripts/bench runs from the workspace root.
    let mut functions: Vec<String> = std::fs::read_dir("functions")?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    functions.sort();
    for function in functions {
        let path = format!("{target}/lambda/{function}/bootstrap");
        match std::fs::metadata(&path) {
            Ok(meta) => println!("  {function:<12} {:>6.1} MiB  {path}", meta.len() as f64 / (1024.0 * 1024.0)),
            Err(_) => println!("  {function:<12} not built ({path} missing)"),
        }
    }

    // Last: the longest part (moto answers an index query by going through every item).
    println!();
    println!("requests of a 30-day trigger report, by receipts in the period (one table each, 600 outcomes)");
    for receipts in [1_000, 100_000] {
        let m = report_requests(receipts).await?;
        println!("  {receipts:>7} receipts: {}", describe(&m));
    }
    Ok(())
}
