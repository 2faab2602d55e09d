//! The NPS survey's link: `GET /v1/survey?token=…` answers a small page (the question, 0-10
//! buttons, an optional comment, the shop's name; no scripts at all, so it works without
//! JavaScript), and `POST` records the answer: from the page's form (answered with the
//! thank-you page) or as JSON (answered with JSON). Errors are the API's JSON errors.

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use boomerang_core::domain::kinds::Locale;
use boomerang_core::domain::survey::{parse_comment, Score, REPLACE_DAYS};
use boomerang_core::domain::template::html_escape;
use boomerang_core::domain::survey::token::TokenProblem;
use boomerang_core::{Answered, Error, SurveyPage};
use serde::{Deserialize, Serialize};

use crate::body::{from_slice, MAX_BODY_BYTES};
use crate::error::ApiError;
use crate::{html_page, token_of, ApiState, TokenQuery};

/// The link's token; none at all is a bad link.
fn survey_token(query: Result<Query<TokenQuery>, QueryRejection>) -> Result<String, ApiError> {
    token_of(query).map_err(|_| ApiError::from(Error::SurveyLink(TokenProblem::Invalid)))
}

/// An answer as JSON: `{"score": 0-10, "comment": "..."}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    pub score: i64,
    #[serde(default)]
    pub comment: Option<String>,
}

/// An answer from the page's form: the score comes as text.
#[derive(Debug, Deserialize)]
struct AnswerForm {
    score: Option<String>,
    #[serde(default)]
    comment: Option<String>,
}

/// The answer as recorded (JSON).
#[derive(Debug, Serialize)]
pub struct AnswerResponse {
    pub survey_id: String,
    pub score: u8,
    pub comment: Option<String>,
    pub store_id: String,
    pub receipt_id: String,
    pub purchased_on: String,
    pub answered_on: String,
    pub replaced: bool,
    pub referral_code: Option<String>,
}

pub(crate) async fn survey_page(
    State(state): State<ApiState>,
    query: Result<Query<TokenQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let token = survey_token(query)?;
    let page = state.app.survey_page(&token, state.clock.now()).await?;
    Ok(html_page(render_survey_page(&page, &token)))
}

pub(crate) async fn post_survey_answer(
    State(state): State<ApiState>,
    query: Result<Query<TokenQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let token = survey_token(query)?;
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", format!("the body is over {MAX_BODY_BYTES} bytes"), None)
    })?;
    // A JSON object is read as JSON whatever its Content-Type (`curl -d` labels it a form);
    // a form's fields never start with `{`.
    let json_object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let form = !json_object
        && headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    let (score, comment) = if form {
        let answer: AnswerForm = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| ApiError::invalid("score", "the form must carry score (0 to 10) and optionally comment"))?;
        let score = answer.score.as_deref().map(str::trim).and_then(|s| s.parse::<i64>().ok());
        let score = score.ok_or_else(|| ApiError::invalid("score", "score must be a whole number from 0 to 10"))?;
        (score, answer.comment)
    } else {
        let answer: AnswerBody = from_slice(&bytes)?;
        (answer.score, answer.comment)
    };
    let score = Score::parse(score).map_err(|e| ApiError::invalid("score", e.0))?;
    let comment = parse_comment(comment.as_deref()).map_err(|e| ApiError::invalid("comment", e.0))?;
    let answered = state.app.answer_survey(&token, score, comment, state.clock.now()).await?;
    if form {
        let shop = &state.app.config().shop_name;
        return Ok(html_page(render_thanks(answered.survey.locale, shop, &answered)));
    }
    Ok(Json(answer_response(&answered)).into_response())
}

fn answer_response(answered: &Answered) -> AnswerResponse {
    let s = &answered.survey;
    let answer = s.answer.as_ref().expect("an answered survey has its answer");
    AnswerResponse {
        survey_id: s.key.to_string(),
        score: answer.score.value(),
        comment: answer.comment.clone(),
        store_id: s.store_id.to_string(),
        receipt_id: s.receipt_id.to_string(),
        purchased_on: s.key.purchased_on.to_string(),
        answered_on: answer.answered_on.to_string(),
        replaced: answered.replaced,
        referral_code: answered.referral_code.as_ref().map(ToString::to_string),
    }
}

struct Words {
    title: &'static str,
    unlikely: &'static str,
    likely: &'static str,
    comment: &'static str,
    hint: &'static str,
    /// "You answered {score}; you may change it until {date}."
    answered: &'static str,
    thanks: &'static str,
    /// "Tell a friend: ... {code} ..."
    invite: &'static str,
    /// "{store}, purchase of {date}"
    purchase: &'static str,
}

fn words(locale: Locale) -> Words {
    match locale {
        Locale::En => Words {
            title: "One question",
            unlikely: "0: not at all likely",
            likely: "10: extremely likely",
            comment: "Anything to add? (optional)",
            hint: "Type a comment first if you like, then tap a score.",
            answered: "You answered {score}; tap another score to change it within {days} days of your first answer.",
            thanks: "Thank you for your answer!",
            invite: "Glad you like us! Tell a friend: with your code {code} at the till they get points on their first purchase, and so do you.",
            purchase: "{store}, purchase of {date}",
        },
        Locale::Ru => Words {
            title: "Один вопрос",
            unlikely: "0 — точно нет",
            likely: "10 — обязательно",
            comment: "Хотите что-то добавить? (необязательно)",
            hint: "Если хотите, сначала напишите комментарий, затем нажмите оценку.",
            answered: "Ваша оценка: {score}. Её можно изменить в течение {days} дней после первого ответа.",
            thanks: "Спасибо за ответ!",
            invite: "Рады, что вам нравится! Расскажите другу: пусть назовёт на кассе ваш код {code} — баллы за первую покупку получит он, и вы тоже.",
            purchase: "{store}, покупка {date}",
        },
    }
}

/// Small, readable on a phone, no external resources.
const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:36rem;margin:0 auto;padding:1rem;line-height:1.4}\
.scores{display:grid;grid-template-columns:repeat(6,1fr);gap:.4rem;margin:1rem 0}\
.scores button{font-size:1.2rem;padding:.8rem 0;border:1px solid #888;border-radius:.4rem;background:#f4f4f4}\
.scale{display:flex;justify-content:space-between;font-size:.85rem;color:#555}\
textarea{width:100%;box-sizing:border-box;font:inherit}";

fn page(locale: Locale, shop: &str, body: &str) -> String {
    crate::pages::page_frame(locale, words(locale).title, shop, STYLE, body)
}

/// GET: the question, then one form: the comment and eleven submit buttons named `score`, so
/// a tap posts the score (and any comment) with no script.
pub fn render_survey_page(p: &SurveyPage, token: &str) -> String {
    let s = &p.survey;
    let w = words(s.locale);
    let purchase = w.purchase.replace("{store}", &p.store_name).replace("{date}", &s.key.purchased_on.to_string());
    let buttons: String = (0..=10)
        .map(|n| format!("<button type=\"submit\" name=\"score\" value=\"{n}\" aria-label=\"{n}\">{n}</button>"))
        .collect();
    let earlier = s.answer.as_ref().map_or_else(String::new, |a| {
        let text = w.answered.replace("{score}", &a.score.value().to_string()).replace("{days}", &REPLACE_DAYS.to_string());
        format!("<p class=\"answered\">{}</p>", html_escape(&text))
    });
    let body = format!(
        "<p class=\"purchase\">{}</p><h2>{}</h2>{earlier}\
         <form method=\"post\" action=\"survey?token={}\">\
         <label for=\"comment\">{}</label><br><textarea id=\"comment\" name=\"comment\" rows=\"3\" maxlength=\"1000\"></textarea>\
         <p>{}</p><div class=\"scores\">{buttons}</div>\
         <div class=\"scale\"><span>{}</span><span>{}</span></div></form>",
        html_escape(&purchase),
        html_escape(&p.question),
        html_escape(token),
        html_escape(w.comment),
        html_escape(w.hint),
        html_escape(w.unlikely),
        html_escape(w.likely),
    );
    page(s.locale, &p.shop_name, &body)
}

/// POST from the form: thanks, and a promoter's invitation with their code.
pub fn render_thanks(locale: Locale, shop: &str, answered: &Answered) -> String {
    let w = words(locale);
    let mut body = format!("<p class=\"thanks\">{}</p>", html_escape(w.thanks));
    if let Some(code) = &answered.referral_code {
        body.push_str(&format!(
            "<p class=\"invite\">{}</p>",
            html_escape(&w.invite.replace("{code}", code.as_str())).replace(code.as_str(), &format!("<b>{code}</b>"))
        ));
    }
    page(locale, shop, &body)
}
