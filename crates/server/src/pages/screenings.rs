//! `/screen`: the duty officer's phone page for logging screenings (检查登记)
//! at their post — a plate keypad, big segmented choices with the usual
//! values preselected, and people added one by one.
//!
//! With JavaScript, `screen.js` posts each record as JSON to
//! `POST /api/v1/checkpoints/{id}/screenings` and keeps what the network did
//! not take in a queue. Without it the form posts here: the fields are turned
//! into the same [`ScreeningInput`] the API takes and recorded through the
//! same [`record`]; a refusal renders the page again with every message
//! beside its field and what was typed kept, a success redirects (303) to
//! `/screen?done=1` with the confirmation.

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shouwang_domain::policy::Action;
use shouwang_domain::screening::{CargoCategory, Direction, HealthCode, NumberOrText, Outcome, VehicleType};
use shouwang_domain::{CheckpointId, FieldError};

use super::{Page, field_refusal, see_other, with_status};
use crate::api::checkpoints::{CheckpointView, my_post_of};
use crate::api::json::ApiQuery;
use crate::api::screenings::{PersonInput, ScreeningInput, record};
use crate::auth::Authed;
use crate::error::AppResult;
use crate::i18n::Lang;
use crate::state::AppState;

/// Province abbreviations on the keypad: Henan first (the deployment is in
/// 卢氏), then its neighbours, then the rest.
const PROVINCES: [&str; 31] = [
    "豫", "陕", "鄂", "晋", "京", "冀", "鲁", "皖", "川", "渝", "甘", "津", "蒙", "辽", "吉", "黑", "沪", "苏", "浙",
    "闽", "赣", "湘", "粤", "桂", "琼", "贵", "云", "藏", "青", "宁", "新",
];

/// The form as typed; kept when the page is rendered again.
#[derive(Debug, Serialize)]
struct ScreenForm {
    id: String,
    plate: String,
    on_foot: bool,
    direction: String,
    vehicle_type: String,
    people_count: String,
    health_code: String,
    cargo: String,
    outcome: String,
    pass_number: String,
    note: String,
    people: Vec<PersonForm>,
}

impl ScreenForm {
    /// A blank form with the usual choices: in, car, one person, green,
    /// no cargo, released.
    fn blank() -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            plate: String::new(),
            on_foot: false,
            direction: Direction::In.as_str().to_owned(),
            vehicle_type: VehicleType::Car.as_str().to_owned(),
            people_count: "1".to_owned(),
            health_code: HealthCode::Green.as_str().to_owned(),
            cargo: CargoCategory::None.as_str().to_owned(),
            outcome: Outcome::Released.as_str().to_owned(),
            pass_number: String::new(),
            note: String::new(),
            people: Vec::new(),
        }
    }

    /// The form from posted fields (`people[0].name` …); people left blank
    /// are dropped and the rest numbered from 0 again.
    fn from_fields(fields: Vec<(String, String)>) -> (Self, String) {
        let mut form = Self { id: String::new(), people_count: String::new(), ..Self::blank() };
        let mut csrf = String::new();
        let mut people: std::collections::BTreeMap<usize, PersonForm> = std::collections::BTreeMap::new();
        for (key, value) in fields {
            if let Some(rest) = key.strip_prefix("people[") {
                let Some((index, field)) = rest.split_once("].") else { continue };
                let Ok(index) = index.parse::<usize>() else { continue };
                if index >= 100 {
                    continue;
                }
                let p = people.entry(index).or_default();
                match field {
                    "name" => p.name = value,
                    "id_number" => p.id_number = value,
                    "phone" => p.phone = value,
                    "temperature" => p.temperature = value,
                    "origin" => p.origin = value,
                    "destination" => p.destination = value,
                    "health_code" => p.health_code = value,
                    _ => {}
                }
                continue;
            }
            match key.as_str() {
                "_csrf" => csrf = value,
                "id" => form.id = value,
                "plate" => form.plate = value,
                "on_foot" => form.on_foot = !value.is_empty(),
                "direction" => form.direction = value,
                "vehicle_type" => form.vehicle_type = value,
                "people_count" => form.people_count = value,
                "health_code" => form.health_code = value,
                "cargo" => form.cargo = value,
                "outcome" => form.outcome = value,
                "pass_number" => form.pass_number = value,
                "note" => form.note = value,
                _ => {}
            }
        }
        form.people = people.into_values().filter(|p| !p.is_blank()).collect();
        (form, csrf)
    }

    /// The API's input. A person without a health code of their own has
    /// the form's; a health code other than green with nobody listed is
    /// recorded as one person with only that code.
    fn input(&self) -> ScreeningInput {
        let text = |s: &str| {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_owned())
        };
        let mut people: Vec<PersonInput> = self
            .people
            .iter()
            .map(|p| PersonInput {
                name: text(&p.name),
                id_number: text(&p.id_number),
                phone: text(&p.phone),
                temperature: text(&p.temperature).map(NumberOrText::Text),
                origin: text(&p.origin),
                destination: text(&p.destination),
                health_code: text(&p.health_code).or_else(|| text(&self.health_code)),
            })
            .collect();
        if people.is_empty() && !matches!(self.health_code.trim(), "" | "green") {
            people.push(PersonInput { health_code: text(&self.health_code), ..PersonInput::default() });
        }
        ScreeningInput {
            id: if self.id.trim().is_empty() { uuid::Uuid::now_v7().to_string() } else { self.id.trim().to_owned() },
            occurred_us: None,
            direction: text(&self.direction),
            plate: Some(if self.on_foot { "none".to_owned() } else { self.plate.clone() }),
            vehicle_type: text(&self.vehicle_type),
            people_count: text(&self.people_count).map(NumberOrText::Text),
            people,
            cargo: text(&self.cargo),
            pass_number: text(&self.pass_number),
            outcome: text(&self.outcome),
            note: text(&self.note),
        }
    }
}

/// One person as typed.
#[derive(Debug, Default, Serialize)]
struct PersonForm {
    name: String,
    id_number: String,
    phone: String,
    temperature: String,
    origin: String,
    destination: String,
    health_code: String,
}

impl PersonForm {
    /// Nothing typed (a health code alone, as preselected, is not a person).
    fn is_blank(&self) -> bool {
        [&self.name, &self.id_number, &self.phone, &self.temperature, &self.origin, &self.destination]
            .iter()
            .all(|s| s.trim().is_empty())
            && matches!(self.health_code.trim(), "" | "green")
    }
}

/// After a record was stored without JavaScript: what it was, and the
/// choices to keep.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ScreenQuery {
    done: Option<String>,
    plate: Option<String>,
    outcome: Option<String>,
    direction: Option<String>,
    vehicle_type: Option<String>,
    cargo: Option<String>,
}

/// The choices offered, by field: values as the API spells them.
fn choices() -> minijinja::Value {
    minijinja::context! {
        direction => Direction::ALL.iter().map(|d| d.as_str()).collect::<Vec<_>>(),
        vehicle_type => VehicleType::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>(),
        health_code => HealthCode::ALL.iter().map(|h| h.as_str()).collect::<Vec<_>>(),
        cargo => CargoCategory::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        outcome => Outcome::ALL.iter().map(|o| o.as_str()).collect::<Vec<_>>(),
        provinces => PROVINCES,
    }
}

/// The words of an outcome, e.g. `released` → 放行.
fn outcome_label(state: &AppState, lang: Lang, outcome: &str) -> String {
    let key = format!("outcome-{}", outcome.replace('_', "-"));
    if state.i18n.has(lang, &key) { state.i18n.text(lang, &key, &[]) } else { outcome.to_owned() }
}

/// "豫M12345 已放行", or the on-foot words when there was no plate.
fn confirmation(state: &AppState, lang: Lang, plate: Option<&str>, outcome: &str) -> String {
    let plate = match plate.map(str::trim).filter(|p| !p.is_empty() && *p != "none") {
        Some(p) => p.to_owned(),
        None => state.i18n.text(lang, "screen-on-foot-person", &[]),
    };
    state.i18n.text(lang, "screen-done", &[("plate", plate), ("outcome", outcome_label(state, lang, outcome))])
}

/// The post the officer is on now (or next): what `/my-post` shows.
async fn post_of(state: &AppState, authed: &Authed) -> AppResult<Option<CheckpointView>> {
    Ok(my_post_of(state, authed).await?.checkpoint.map(|d| d.checkpoint))
}

async fn render(
    state: &AppState,
    lang: Lang,
    authed: &Authed,
    form: ScreenForm,
    errors: &[FieldError],
    done: Option<String>,
) -> AppResult<axum::response::Html<String>> {
    let post = post_of(state, authed).await?;
    let mut page = Page::new(state, lang, Some(authed), "/screen");
    for e in errors {
        page.error(&state.i18n, lang, e);
    }
    // The words screen.js needs, with `{plate}`, `{outcome}`, `{count}` to fill.
    let outcomes: serde_json::Map<String, serde_json::Value> = Outcome::ALL
        .iter()
        .map(|o| (o.as_str().to_owned(), serde_json::Value::String(outcome_label(state, lang, o.as_str()))))
        .collect();
    let texts = serde_json::json!({
        "done": state.i18n.text(lang, "screen-done", &[("plate", "{plate}".to_owned()), ("outcome", "{outcome}".to_owned())]),
        "on_foot": state.i18n.text(lang, "screen-on-foot-person", &[]),
        "queued": state.i18n.text(lang, "screen-queued", &[("count", "{count}".to_owned())]),
        "saved_offline": state.i18n.text(lang, "screen-saved-offline", &[]),
        "failed": state.i18n.text(lang, "screen-failed", &[]),
        "outcomes": outcomes,
    })
    .to_string();
    let ctx = page.with(minijinja::context! {
        outbox_texts => super::outbox_texts(state, lang),
        post => post,
        form => form,
        choices => choices(),
        done => done,
        texts => texts,
    });
    state.templates.render("screen.html", ctx)
}

/// The screening page for the officer's post.
pub async fn show(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    ApiQuery(q): ApiQuery<ScreenQuery>,
) -> AppResult<Response> {
    authed.may_here(Action::RecordScreening)?;
    let mut form = ScreenForm::blank();
    // The choices of the record just stored stay chosen, if they are choices.
    if let Some(d) = q.direction.filter(|d| Direction::ALL.iter().any(|x| x.as_str() == d)) {
        form.direction = d;
    }
    if let Some(v) = q.vehicle_type.filter(|v| VehicleType::ALL.iter().any(|x| x.as_str() == v)) {
        form.vehicle_type = v;
    }
    if let Some(c) = q.cargo.filter(|c| CargoCategory::ALL.iter().any(|x| x.as_str() == c)) {
        form.cargo = c;
    }
    let done = q.done.is_some().then(|| {
        let outcome = q.outcome.unwrap_or_else(|| Outcome::Released.as_str().to_owned());
        confirmation(&state, lang, q.plate.as_deref(), &outcome)
    });
    Ok(render(&state, lang, &authed, form, &[], done).await?.into_response())
}

/// The form posted without JavaScript.
pub async fn submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Form(fields): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let (form, csrf) = ScreenForm::from_fields(fields);
    authed.check_csrf(&csrf)?;
    authed.may_here(Action::RecordScreening)?;
    let Some(post) = post_of(&state, &authed).await? else {
        return Ok(render(&state, lang, &authed, form, &[], None).await?.into_response());
    };
    let parsed = form.input().parse(shouwang_store::now_us(), state.config.display_utc_offset_hours);
    let (status, errors) = match parsed {
        Err(errors) => (StatusCode::UNPROCESSABLE_ENTITY, errors),
        Ok(new) => match record(&state, &authed, CheckpointId(post.id), vec![new]).await {
            Ok(mut stored) => {
                let (s, _) = stored.pop().expect("one screening in, one out");
                let mut to = form_urlencoded::Serializer::new(String::from("/screen?"));
                to.append_pair("done", "1")
                    .append_pair("plate", s.plate.as_deref().unwrap_or(""))
                    .append_pair("outcome", s.outcome.as_str())
                    .append_pair("direction", s.direction.as_str())
                    .append_pair("vehicle_type", s.vehicle_type.as_str())
                    .append_pair("cargo", s.cargo.as_str());
                return Ok(see_other(&to.finish()));
            }
            Err(e) => {
                let (status, fe) = field_refusal(e)?;
                (status, vec![fe])
            }
        },
    };
    Ok(with_status(status, render(&state, lang, &authed, form, &errors, None).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn a_posted_form_becomes_the_apis_input() {
        let (form, csrf) = ScreenForm::from_fields(fields(&[
            ("_csrf", "t"),
            ("id", "0190a0a0-0000-7000-8000-000000000000"),
            ("plate", "豫M12345"),
            ("direction", "out"),
            ("vehicle_type", "truck"),
            ("people_count", "2"),
            ("health_code", "green"),
            ("cargo", "none"),
            ("outcome", "released"),
            ("people[1].name", ""),
            ("people[1].health_code", "green"),
            ("people[3].temperature", "38.6"),
            ("people[3].health_code", ""),
        ]));
        assert_eq!(csrf, "t");
        assert_eq!(form.people.len(), 1, "a blank person is dropped");
        let input = form.input();
        assert_eq!(input.plate.as_deref(), Some("豫M12345"));
        assert_eq!(input.direction.as_deref(), Some("out"));
        assert_eq!(input.people.len(), 1);
        assert_eq!(input.people[0].health_code.as_deref(), Some("green"), "the form's code is the default");
        assert!(input.parse(1_700_000_000_000_000, 8).is_ok());
    }

    #[test]
    fn on_foot_sends_no_plate_and_a_red_code_alone_is_a_person() {
        let (form, _) = ScreenForm::from_fields(fields(&[
            ("plate", "豫M1"),
            ("on_foot", "1"),
            ("direction", "in"),
            ("vehicle_type", "other"),
            ("people_count", "1"),
            ("health_code", "red"),
            ("cargo", "none"),
            ("outcome", "quarantined"),
        ]));
        let input = form.input();
        assert_eq!(input.plate.as_deref(), Some("none"));
        assert_eq!(input.people.len(), 1);
        assert_eq!(input.people[0].health_code.as_deref(), Some("red"));
        assert!(!input.id.is_empty(), "a fresh id when the form brought none");
    }
}
