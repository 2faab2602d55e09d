//! The owner's weekly digest: one email in plain words, in the owner's language, of what last
//! week's triggers did (messages sent, customers who came back, the net after every cost,
//! the verdict), with the full report attached and a signed link to the same page. Pure: the
//! week's report and the link come in; subject, text and HTML go out.
//!
//! Not a marketing message: it goes to the owner, so it carries no unsubscribe link (the owner
//! stops it by removing `owner.email` from the program).

use std::fmt::Write;

use chrono::{NaiveDate, Weekday};

use crate::domain::config::{weekday_word, ProgramConfig};
use crate::domain::kinds::{Locale, TriggerKind};
use crate::domain::template::html_escape as escape;
use crate::domain::wording::format_date;
use super::explain::weeks_to_an_answer;
use super::text::{format_amount, signed};
use super::{Report, StoreRow, TriggerRow, Verdict};

/// What the digest is rendered from.
#[derive(Debug, Clone, Copy)]
pub struct DigestInput<'a> {
    pub config: &'a ProgramConfig,
    /// The report of the week the digest is about.
    pub report: &'a Report,
    /// The signed link to the report page, and the last day it opens.
    pub view_url: &'a str,
    pub link_valid_until: NaiveDate,
    /// The name of the attached report file.
    pub attachment_name: &'a str,
}

/// The digest email's parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The name of the report file attached to the digest of `[from, to]`.
pub fn attachment_name(from: NaiveDate, to: NaiveDate) -> String {
    format!("boomerang-report-{from}-to-{to}.html")
}

/// The digest in the owner's language (`owner.locale`, else the program's default).
pub fn render(input: DigestInput<'_>) -> Digest {
    let config = input.config;
    let locale = config.owner.locale_or(config.default_locale);
    let w = words(locale);
    let report = input.report;
    let code = config.currency.as_str();
    let period = format!("{} – {}", format_date(report.from, locale), format_date(report.to, locale));
    let lines: Vec<TriggerLine> = report.rows.iter().map(|row| trigger_line(row, config, locale, report.period_days())).collect();
    let total = report.rows.iter().find(|r| r.trigger_kind().is_none());
    let headline = match total.and_then(|t| t.net_minor) {
        Some(net) => format!("{} {}", w.subject_net, money(net, code, locale)),
        None => format!("{} {}", w.subject_sent, total.map_or(0, sent)),
    };
    let subject = format!("{}: {} {period}, {headline}", config.shop_name, w.subject_week);
    let until = format_date(input.link_valid_until, locale);

    let mut text = format!("{}\n\n{}\n", subject, w.triggers_intro);
    for line in &lines {
        let _ = writeln!(text, "- {}: {} — {}.", line.title, line.figures, line.verdict);
    }
    let points = points_words(report, code, locale);
    let stores = stores_words(report, code, locale);
    let _ = writeln!(text, "\n{points}");
    if let Some(stores) = &stores {
        let _ = writeln!(text, "\n{stores}");
    }
    let _ = write!(
        text,
        "\n{}\n\n{} {}:\n{}\n\n{}\n",
        w.attached(input.attachment_name),
        w.link_intro,
        until,
        input.view_url,
        w.footer(config.owner.digest_weekday)
    );

    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n</head>\n\
         <body style=\"{BODY}\">\n<h1 style=\"font-size:20px;margin:0 0 4px\">{}</h1>\n\
         <p style=\"color:#4b5563;margin:0 0 16px\">{}</p>\n<h2 style=\"font-size:16px\">{}</h2>\n\
         <table style=\"border-collapse:collapse;font-size:14px\" data-digest=\"triggers\">\n<thead><tr>",
        locale.as_str(),
        escape(&subject),
        escape(&config.shop_name),
        escape(&format!("{} {period}", w.subject_week)),
        escape(w.triggers_intro),
    );
    for head in w.columns {
        let _ = write!(html, "<th style=\"{CELL}text-align:left\">{}</th>", escape(head));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for line in &lines {
        let weight = if line.total { "font-weight:700;" } else { "" };
        let _ = writeln!(
            html,
            "<tr style=\"{weight}\"><th style=\"{CELL}text-align:left\">{}</th><td style=\"{CELL}text-align:right\">{}</td>\
             <td style=\"{CELL}text-align:right\">{}</td><td style=\"{CELL}text-align:right\">{}</td>\
             <td style=\"{CELL}color:{}\">{}</td></tr>",
            escape(&line.title),
            line.sent,
            line.came_back,
            escape(&line.net),
            line.colour,
            escape(&line.verdict),
        );
    }
    html.push_str("</tbody>\n</table>\n");
    html.push_str(&bars(&lines, w));
    let _ = writeln!(html, "<h2 style=\"font-size:16px\">{}</h2>\n<p data-digest=\"points\">{}</p>", escape(w.points_title), escape(&points));
    if let Some(stores) = &stores {
        let _ = writeln!(html, "<h2 style=\"font-size:16px\">{}</h2>\n<p data-digest=\"stores\">{}</p>", escape(w.stores_title), escape(stores));
    }
    let _ = write!(
        html,
        "<p>{}</p>\n<p><a href=\"{}\" style=\"{BUTTON}\">{}</a></p>\n\
         <p style=\"color:#4b5563;font-size:13px\">{} {}.</p>\n<p style=\"color:#6b7280;font-size:12px\">{}</p>\n</body>\n</html>\n",
        escape(&w.attached(input.attachment_name)),
        escape(input.view_url),
        escape(w.open_report),
        escape(w.link_valid),
        escape(&until),
        escape(&w.footer(config.owner.digest_weekday)),
    );
    Digest { subject, text, html }
}

const BODY: &str = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2937;max-width:640px;margin:0 auto;padding:16px";
const CELL: &str = "padding:4px 8px;border-bottom:1px solid #e5e7eb;";
const BUTTON: &str = "display:inline-block;background:#2563eb;color:#fff;padding:8px 14px;border-radius:6px;text-decoration:none";

/// One trigger's (or the total's) figures in words.
struct TriggerLine {
    title: String,
    total: bool,
    sent: u64,
    came_back: u64,
    net: String,
    /// `sent 12, came back 3, net +1 234 ₽`
    figures: String,
    verdict: String,
    colour: &'static str,
}

fn sent(row: &TriggerRow) -> u64 {
    row.sent_email + row.sent_sms
}

fn trigger_line(row: &TriggerRow, config: &ProgramConfig, locale: Locale, period_days: u64) -> TriggerLine {
    let w = words(locale);
    let kind = row.trigger_kind();
    let net = row.net_minor.map_or_else(|| w.net_unknown.to_owned(), |n| money(n, config.currency.as_str(), locale));
    let figures = format!("{} {}, {} {}, {} {net}", w.sent, sent(row), w.came_back, row.responders, w.net);
    let switched_off = kind.is_some_and(|k| !config.trigger(k).enabled);
    let verdict = match row.verdict {
        _ if switched_off => w.switched_off.to_owned(),
        Verdict::NotEnoughData if row.eligible == 0 => w.nobody_due.to_owned(),
        Verdict::NotEnoughData => match weeks_to_an_answer(row, period_days).filter(|_| kind.is_some()) {
            Some(weeks) => w.weeks_to_answer(weeks),
            None => w.not_enough.to_owned(),
        },
        Verdict::Works => w.works.to_owned(),
        Verdict::NoMeasurableEffect => w.no_effect.to_owned(),
        Verdict::Hurts => w.hurts.to_owned(),
    };
    let colour = match row.verdict {
        Verdict::Works => "#15803d",
        Verdict::Hurts => "#b91c1c",
        Verdict::NoMeasurableEffect => "#4b5563",
        Verdict::NotEnoughData => "#a16207",
    };
    TriggerLine {
        title: kind.map_or(w.all_triggers, |k| w.title(k)).to_owned(),
        total: kind.is_none(),
        sent: sent(row),
        came_back: row.responders,
        net,
        figures,
        verdict,
        colour,
    }
}

/// Money as the owner writes it: whole units, grouped (`1 909 517 ₽`; in English
/// `1,909,517 ₽`), a sign on gains too, since a net reads as a gain or a loss.
fn money(minor: i64, code: &str, locale: Locale) -> String {
    let amount = format_amount(minor, code, true);
    let amount = match locale {
        Locale::Ru => amount,
        // The no-break spaces between digits become commas; the one before the sign stays.
        Locale::En => {
            let (number, sign) = amount.rsplit_once('\u{a0}').unwrap_or((&amount, ""));
            format!("{}\u{a0}{sign}", number.replace('\u{a0}', ","))
        }
    };
    if minor > 0 {
        format!("+{amount}")
    } else {
        amount
    }
}

/// Sent and came back per trigger as bars of table cells (mail clients drop SVG): one `td`
/// per bar, `data-series` `sent` or `came_back`, `data-value` the count, width in proportion.
fn bars(lines: &[TriggerLine], w: &Words) -> String {
    let triggers: Vec<&TriggerLine> = lines.iter().filter(|l| !l.total).collect();
    let max = triggers.iter().map(|l| l.sent.max(l.came_back)).max().unwrap_or(0).max(1);
    let mut h = format!(
        "<h2 style=\"font-size:16px\">{}</h2>\n<p style=\"font-size:13px;color:#4b5563;margin:0 0 4px\">\
         <span style=\"display:inline-block;width:10px;height:10px;background:{SENT}\"></span> {} \
         <span style=\"display:inline-block;width:10px;height:10px;background:{BACK};margin-left:8px\"></span> {}</p>\n\
         <table style=\"border-collapse:collapse;font-size:13px;width:100%\" data-chart=\"digest-triggers\">\n",
        escape(w.chart_title),
        escape(w.sent),
        escape(w.came_back)
    );
    for line in triggers {
        let _ = write!(h, "<tr><th rowspan=\"2\" style=\"{CELL}text-align:left;font-weight:400;width:30%\">{}</th>", escape(&line.title));
        for (i, (series, value, colour)) in [("sent", line.sent, SENT), ("came_back", line.came_back, BACK)].into_iter().enumerate() {
            // At least 1 % wide, so a bar of 0 still shows where it would be.
            let percent = (value * 100 / max).max(1);
            if i == 1 {
                h.push_str("<tr>");
            }
            let _ = writeln!(
                h,
                "<td style=\"padding:1px 4px\"><div class=\"bar\" data-series=\"{series}\" data-value=\"{value}\" \
                 style=\"background:{colour};height:10px;width:{percent}%\"></div></td><td style=\"padding:1px 4px;width:3em\">{value}</td></tr>"
            );
        }
    }
    h.push_str("</table>\n");
    h
}

const SENT: &str = "#93c5fd";
const BACK: &str = "#16a34a";

/// The liability at the week's end and what burns in the next 30 days, in words.
fn points_words(report: &Report, code: &str, locale: Locale) -> String {
    let p = &report.points;
    let soon = p.burning.iter().find(|b| b.days == 30);
    let (soon_points, soon_minor) = soon.map_or((0, 0), |b| (b.points, b.value_minor));
    let amount = |minor: u64| money(signed(minor), code, locale).trim_start_matches('+').to_owned();
    match locale {
        Locale::En => format!(
            "Customers hold {} points, worth {}: what the programme owes them. In the next 30 days {} points ({}) burn unless spent.",
            grouped(p.liability_points, locale),
            amount(p.liability_minor),
            grouped(soon_points, locale),
            amount(soon_minor)
        ),
        Locale::Ru => format!(
            "У покупателей {} {} на {}: это долг программы перед ними. В ближайшие 30 дней сгорят {} {} ({}), если их не потратят.",
            grouped(p.liability_points, locale),
            ru_plural(p.liability_points, "балл", "балла", "баллов"),
            amount(p.liability_minor),
            grouped(soon_points, locale),
            ru_plural(soon_points, "балл", "балла", "баллов"),
            amount(soon_minor)
        ),
    }
}

/// The best and the weakest store of the week by revenue; `None` without stores.
fn stores_words(report: &Report, code: &str, locale: Locale) -> Option<String> {
    let by_revenue = |a: &&StoreRow, b: &&StoreRow| a.revenue_minor.cmp(&b.revenue_minor).then(b.store_id.cmp(&a.store_id));
    let best = report.stores.iter().max_by(by_revenue)?;
    let worst = report.stores.iter().min_by(by_revenue)?;
    let describe = |s: &StoreRow| {
        let name = match &s.city {
            Some(city) => format!("{} ({city})", s.title()),
            None => s.title().to_owned(),
        };
        let revenue = money(signed(s.revenue_minor), code, locale).trim_start_matches('+').to_owned();
        match locale {
            Locale::En => format!("{name}: {} {}, {revenue}", grouped(s.receipts, locale), if s.receipts == 1 { "receipt" } else { "receipts" }),
            Locale::Ru => format!("{name}: {} {}, {revenue}", grouped(s.receipts, locale), ru_plural(s.receipts, "чек", "чека", "чеков")),
        }
    };
    Some(match (locale, report.stores.len()) {
        (Locale::En, 1) => format!("One store: {}.", describe(best)),
        (Locale::Ru, 1) => format!("Один магазин: {}.", describe(best)),
        (Locale::En, _) => format!("Best store: {}. Weakest: {}.", describe(best), describe(worst)),
        (Locale::Ru, _) => format!("Лучший магазин — {}. Слабее всех — {}.", describe(best), describe(worst)),
    })
}

/// A count with its digits grouped as the owner writes them: `12 345`, in English `12,345`.
fn grouped(n: u64, locale: Locale) -> String {
    let separator = match locale {
        Locale::Ru => '\u{a0}',
        Locale::En => ',',
    };
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(separator);
        }
        out.push(d);
    }
    out
}

/// The digest's words in one language.
struct Words {
    subject_week: &'static str,
    subject_net: &'static str,
    subject_sent: &'static str,
    triggers_intro: &'static str,
    columns: [&'static str; 5],
    sent: &'static str,
    came_back: &'static str,
    net: &'static str,
    net_unknown: &'static str,
    all_triggers: &'static str,
    works: &'static str,
    no_effect: &'static str,
    hurts: &'static str,
    not_enough: &'static str,
    nobody_due: &'static str,
    switched_off: &'static str,
    link_intro: &'static str,
    link_valid: &'static str,
    open_report: &'static str,
    chart_title: &'static str,
    points_title: &'static str,
    stores_title: &'static str,
    locale: Locale,
}

fn words(locale: Locale) -> &'static Words {
    match locale {
        Locale::En => &EN,
        Locale::Ru => &RU,
    }
}

const EN: Words = Words {
    subject_week: "the week",
    subject_net: "the triggers earned",
    subject_sent: "messages sent:",
    triggers_intro: "Last week's triggers: messages sent, customers who came back and bought, what that earned after gifts and messages, and the verdict.",
    columns: ["Trigger", "Sent", "Came back", "Net", "Verdict"],
    sent: "sent",
    came_back: "came back",
    net: "net",
    net_unknown: "not known yet",
    all_triggers: "All triggers",
    works: "it works: keep it",
    no_effect: "no measurable effect yet",
    hurts: "it hurts: consider switching it off",
    not_enough: "not enough data yet",
    nobody_due: "nobody was due",
    switched_off: "switched off",
    link_intro: "The same report online (no password needed), until",
    link_valid: "The link opens the report until",
    open_report: "Open the report",
    chart_title: "Messages sent and customers who came back",
    points_title: "Points",
    stores_title: "Stores",
    locale: Locale::En,
};

const RU: Words = Words {
    subject_week: "неделя",
    subject_net: "триггеры принесли",
    subject_sent: "отправлено сообщений:",
    triggers_intro: "Триггеры прошлой недели: сколько сообщений отправлено, сколько покупателей вернулись и купили, сколько это принесло за вычетом подарков и сообщений, и вывод.",
    columns: ["Триггер", "Отправлено", "Вернулись", "Итог", "Вывод"],
    sent: "отправлено",
    came_back: "вернулись",
    net: "итог",
    net_unknown: "пока не известен",
    all_triggers: "Все триггеры",
    works: "работает: оставьте",
    no_effect: "заметного эффекта пока нет",
    hurts: "вредит: подумайте, не выключить ли",
    not_enough: "пока мало данных",
    nobody_due: "никому не подошёл",
    switched_off: "выключен",
    link_intro: "Этот же отчёт онлайн (без пароля), до",
    link_valid: "Ссылка открывает отчёт до",
    open_report: "Открыть отчёт",
    chart_title: "Отправлено сообщений и вернулось покупателей",
    points_title: "Баллы",
    stores_title: "Магазины",
    locale: Locale::Ru,
};

impl Words {
    fn title(&self, kind: TriggerKind) -> &'static str {
        match (self.locale, kind) {
            (Locale::En, TriggerKind::Lapsed30) => "Lapsed 30 days",
            (Locale::En, TriggerKind::Lapsed60) => "Lapsed 60 days",
            (Locale::En, TriggerKind::Lapsed90) => "Lapsed 90 days",
            (Locale::En, TriggerKind::Birthday) => "Birthday",
            (Locale::En, TriggerKind::PointsExpiring) => "Points expiring",
            (Locale::Ru, TriggerKind::Lapsed30) => "Не покупали 30 дней",
            (Locale::Ru, TriggerKind::Lapsed60) => "Не покупали 60 дней",
            (Locale::Ru, TriggerKind::Lapsed90) => "Не покупали 90 дней",
            (Locale::Ru, TriggerKind::Birthday) => "День рождения",
            (Locale::Ru, TriggerKind::PointsExpiring) => "Сгорание баллов",
        }
    }

    fn weeks_to_answer(&self, weeks: u64) -> String {
        match self.locale {
            Locale::En if weeks == 1 => "not enough data yet: about 1 more week for an answer".to_owned(),
            Locale::En => format!("not enough data yet: about {weeks} more weeks for an answer"),
            Locale::Ru => format!("пока мало данных: ответ примерно через {weeks} {}", ru_weeks(weeks)),
        }
    }

    fn attached(&self, file: &str) -> String {
        match self.locale {
            Locale::En => format!("The full report, with every figure explained, is attached ({file})."),
            Locale::Ru => format!("Полный отчёт со всеми цифрами и пояснениями — во вложении ({file})."),
        }
    }

    fn footer(&self, weekday: Weekday) -> String {
        match self.locale {
            Locale::En => format!(
                "Boomerang sends this digest every {} to owner.email of the program; change owner.digest_weekday to get it on another day, or remove owner.email to stop it.",
                capitalised(weekday_word(weekday))
            ),
            Locale::Ru => format!(
                "Boomerang присылает эту сводку раз в неделю ({}) на owner.email из настроек программы; день меняет owner.digest_weekday, а без owner.email сводка не приходит.",
                ru_weekday(weekday)
            ),
        }
    }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// The Russian noun form after a number: 1 балл, 2 балла, 5 баллов (11–14 take the last).
fn ru_plural(n: u64, one: &'static str, few: &'static str, many: &'static str) -> &'static str {
    match (n % 10, n % 100) {
        (1, r) if r != 11 => one,
        (2..=4, r) if !(12..=14).contains(&r) => few,
        _ => many,
    }
}

/// "неделю", "недели", "недель" after a number.
fn ru_weeks(n: u64) -> &'static str {
    ru_plural(n, "неделю", "недели", "недель")
}

fn ru_weekday(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "по понедельникам",
        Weekday::Tue => "по вторникам",
        Weekday::Wed => "по средам",
        Weekday::Thu => "по четвергам",
        Weekday::Fri => "по пятницам",
        Weekday::Sat => "по субботам",
        Weekday::Sun => "по воскресеньям",
    }
}

#[cfg(test)]
mod tests;
