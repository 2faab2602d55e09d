//! The two HTML pages of the unsubscribe link, in the customer's language. The link in an
//! email is opened by people and by mail scanners (Safe Links, Mimecast) alike, so its page
//! only asks (GET changes nothing, RFC 8058); the button POSTs the same URL, as the mail
//! client's one-click button does, and that answers the confirmation.

use boomerang_core::domain::kinds::Locale;
use boomerang_core::domain::template::html_escape;

/// An address as the page shows it: the first character of the mailbox, then `***`, then
/// the domain (`a***@example.ru`), so the reader recognises it and a passer-by learns little.
pub fn mask_email(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

struct Words {
    title: &'static str,
    /// "Stop emails from {shop} to {address}?"
    ask_to: &'static str,
    /// "Stop emails from {shop}?" (no address on file)
    ask: &'static str,
    button: &'static str,
    note: &'static str,
    /// "{address} no longer receives emails from {shop}."
    already: &'static str,
    done: &'static str,
}

fn words(locale: Locale) -> Words {
    match locale {
        Locale::En => Words {
            title: "Unsubscribe",
            ask_to: "Stop emails from {shop} to {address}?",
            ask: "Stop emails from {shop}?",
            button: "Unsubscribe",
            note: "Nothing changes until you press the button.",
            already: "{address} no longer receives emails from {shop}.",
            done: "Done: you will no longer receive emails from {shop}.",
        },
        Locale::Ru => Words {
            title: "Отписка от рассылки",
            ask_to: "Больше не присылать письма {shop} на адрес {address}?",
            ask: "Больше не присылать письма {shop}?",
            button: "Отписаться",
            note: "Пока вы не нажмёте кнопку, ничего не изменится.",
            already: "На адрес {address} письма {shop} больше не приходят.",
            done: "Готово: вы больше не будете получать письма {shop}.",
        },
    }
}

fn page(locale: Locale, shop: &str, body: &str) -> String {
    page_frame(locale, words(locale).title, shop, "", body)
}

/// The frame of the small pages a message's link opens: in the customer's language, titled
/// with the shop's name, sized for a phone, kept out of search engines, its `style` inline
/// (nothing loaded from elsewhere).
pub(crate) fn page_frame(locale: Locale, title: &str, shop: &str, style: &str, body: &str) -> String {
    let title = html_escape(&format!("{title} — {shop}"));
    let style = if style.is_empty() { String::new() } else { format!("<style>{style}</style>") };
    format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title}</title>{style}</head>\
         <body><h1>{}</h1>{body}</body></html>",
        locale.as_str(),
        html_escape(shop)
    )
}

fn fill(template: &str, shop: &str, address: &str) -> String {
    html_escape(&template.replace("{address}", address).replace("{shop}", shop))
}

/// GET: the question and one button that POSTs the same link (relative, so it works behind
/// any base path). `address` is the masked address, when the customer has one;
/// `already` says the customer is unsubscribed already (no button then).
pub fn unsubscribe_page(locale: Locale, shop: &str, address: Option<&str>, token: &str, already: bool) -> String {
    let w = words(locale);
    let body = match (already, address) {
        (true, Some(address)) => format!("<p>{}</p>", fill(w.already, shop, address)),
        (true, None) => format!("<p>{}</p>", fill(w.done, shop, "")),
        (false, _) => {
            let question = match address {
                Some(address) => fill(w.ask_to, shop, address),
                None => fill(w.ask, shop, ""),
            };
            format!(
                "<p>{question}</p>\
                 <form method=\"post\" action=\"unsubscribe?token={}\">\
                 <input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
                 <button type=\"submit\">{}</button></form><p>{}</p>",
                html_escape(token),
                html_escape(w.button),
                html_escape(w.note)
            )
        }
    };
    page(locale, shop, &body)
}

/// POST: the confirmation.
pub fn unsubscribed_page(locale: Locale, shop: &str) -> String {
    page(locale, shop, &format!("<p>{}</p>", fill(words(locale).done, shop, "")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_shows_its_first_letter_and_its_domain() {
        assert_eq!(mask_email("anna.petrova@example.ru"), "a***@example.ru");
        assert_eq!(mask_email("a@b.ru"), "a***@b.ru");
        assert_eq!(mask_email("юля@пример.рф"), "ю***@пример.рф");
    }

    #[test]
    fn the_question_page_has_one_button_that_posts_the_same_link() {
        let html = unsubscribe_page(Locale::En, "Smith & Co", Some("a***@example.ru"), "abc.def", false);
        assert_eq!(html.matches("<button").count(), 1);
        assert!(html.contains("<form method=\"post\" action=\"unsubscribe?token=abc.def\">"), "{html}");
        assert!(html.contains("name=\"List-Unsubscribe\" value=\"One-Click\""), "{html}");
        assert!(html.contains("Stop emails from Smith &amp; Co to a***@example.ru?"), "{html}");
        let ru = unsubscribe_page(Locale::Ru, "Ромашка", None, "t", false);
        assert!(ru.contains("lang=\"ru\"") && ru.contains("Больше не присылать письма Ромашка?"), "{ru}");
        let already = unsubscribe_page(Locale::En, "Shop", Some("a***@example.ru"), "t", true);
        assert!(!already.contains("<button") && already.contains("no longer receives"), "{already}");
    }
}
