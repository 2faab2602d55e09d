//! Parsers of option values that say, in the operator's words, what is wanted and why a value
//! is not it (clap prints them after "invalid value 'X' for '--option <VALUE>'").

use boomerang_core::domain::date::{parse_date, DateError};
use chrono::NaiveDate;

/// A calendar date written `YYYY-MM-DD` (the core's one date parser, in the CLI's words).
pub fn date(s: &str) -> Result<NaiveDate, String> {
    const WANTED: &str = "use a date as YYYY-MM-DD, e.g. 2026-11-24";
    parse_date(s).map_err(|e| match e {
        DateError::NotYyyyMmDd => format!("not a date: {WANTED}"),
        DateError::NoSuchMonth { .. } => format!("{e}: {WANTED}"),
        DateError::NoSuchDay { .. } => format!("{e}, so {s} is not a date: {WANTED}"),
    })
}

/// Where `serve` listens: a bare port (on 127.0.0.1), or HOST:PORT with a name or an address
/// (`localhost:8080`, `0.0.0.0:8080`, `[::1]:8080`). Names are resolved when listening.
pub fn listen_addr(s: &str) -> Result<String, String> {
    const WANTED: &str = "use a port (8080) or HOST:PORT (127.0.0.1:8080, localhost:8080, 0.0.0.0:8080, [::1]:8080)";
    let port = |p: &str| match p.parse::<u16>() {
        Ok(port) if p.bytes().all(|b| b.is_ascii_digit()) => Ok(port),
        _ => Err(format!("{p:?} is not a port (0 to 65535): {WANTED}")),
    };
    if !s.contains(':') {
        return Ok(format!("127.0.0.1:{}", port(s)?));
    }
    if let Ok(addr) = s.parse::<std::net::SocketAddr>() {
        return Ok(addr.to_string());
    }
    let (host, p) = s.rsplit_once(':').expect("has a colon");
    port(p)?;
    let name_like = host.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    if host.is_empty() || host.len() > 253 || !name_like {
        return Err(format!("{host:?} is not a host name or address: {WANTED}"));
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_say_what_is_wanted_and_why_a_value_is_not_one() {
        assert_eq!(date("2026-11-24"), Ok(NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()));
        assert_eq!(date("2024-02-29"), Ok(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()));
        assert_eq!(date("yesterday").unwrap_err(), "not a date: use a date as YYYY-MM-DD, e.g. 2026-11-24");
        assert_eq!(date("2026-1-5").unwrap_err(), "not a date: use a date as YYYY-MM-DD, e.g. 2026-11-24");
        assert_eq!(
            date("2026-13-01").unwrap_err(),
            "there is no month 13 (months are 01 to 12): use a date as YYYY-MM-DD, e.g. 2026-11-24"
        );
        assert_eq!(
            date("2026-02-29").unwrap_err(),
            "February 2026 has days 01 to 28, so 2026-02-29 is not a date: use a date as YYYY-MM-DD, e.g. 2026-11-24"
        );
        assert!(date("2026-04-31").unwrap_err().starts_with("April 2026 has days 01 to 30"));
        assert!(date("2026-12-32").unwrap_err().starts_with("December 2026 has days 01 to 31"));
        assert!(date("2026-00-10").unwrap_err().starts_with("there is no month 00"));
    }

    #[test]
    fn listen_addresses_take_a_port_a_name_or_an_address() {
        assert_eq!(listen_addr("8081").unwrap(), "127.0.0.1:8081");
        assert_eq!(listen_addr("localhost:8081").unwrap(), "localhost:8081");
        assert_eq!(listen_addr("0.0.0.0:80").unwrap(), "0.0.0.0:80");
        assert_eq!(listen_addr("[::1]:8080").unwrap(), "[::1]:8080");
        assert_eq!(listen_addr("pos.shop-1.example:443").unwrap(), "pos.shop-1.example:443");
        assert!(listen_addr("70000").unwrap_err().contains("\"70000\" is not a port"));
        assert!(listen_addr("localhost:http").unwrap_err().contains("\"http\" is not a port"));
        assert!(listen_addr(":8080").unwrap_err().contains("\"\" is not a host name"));
        assert!(listen_addr("bad host:8080").unwrap_err().contains("is not a host name"));
    }
}
