//! Translations: Fluent files in `web/i18n/`, embedded in the binary.
//!
//! Simplified Chinese is the default; English second. The language of a
//! request is the `lang` cookie (set from the user's saved choice at sign-in
//! and by the language switch), else the best match in `Accept-Language`,
//! else Chinese.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use serde::Serialize;

/// A language the product speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub enum Lang {
    /// 简体中文, the default.
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    /// English.
    #[serde(rename = "en")]
    En,
}

impl Lang {
    /// Every language, in menu order.
    pub const ALL: [Lang; 2] = [Lang::ZhCn, Lang::En];

    /// The BCP 47 tag.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The language a tag names (`zh`, `zh-CN`, `zh-Hans`, `en-GB` …).
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
        match primary.as_str() {
            "zh" => Some(Lang::ZhCn),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// Picks the language from a saved choice, then `Accept-Language`.
    pub fn negotiate(saved: Option<&str>, accept_language: Option<&str>) -> Lang {
        if let Some(l) = saved.and_then(Lang::from_tag) {
            return l;
        }
        let mut best: Option<(f32, Lang)> = None;
        for part in accept_language.unwrap_or("").split(',') {
            let mut pieces = part.split(';');
            let Some(l) = pieces.next().and_then(Lang::from_tag) else { continue };
            let q = pieces.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.parse::<f32>().ok()).unwrap_or(1.0);
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, l));
            }
        }
        best.map(|(_, l)| l).unwrap_or_default()
    }
}

/// The loaded translations.
pub struct I18n {
    zh: FluentBundle<FluentResource>,
    en: FluentBundle<FluentResource>,
}

impl std::fmt::Debug for I18n {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("I18n")
    }
}

/// The Fluent sources, by language.
pub const SOURCES: [(Lang, &str); 2] =
    [(Lang::ZhCn, include_str!("../../../web/i18n/zh-CN.ftl")), (Lang::En, include_str!("../../../web/i18n/en.ftl"))];

fn bundle(lang: Lang, source: &str) -> FluentBundle<FluentResource> {
    let resource = FluentResource::try_new(source.to_owned())
        .unwrap_or_else(|(_, errors)| panic!("web/i18n/{}.ftl does not parse: {errors:?}", lang.tag()));
    let locale = lang.tag().parse().expect("our tags are valid language identifiers");
    let mut b = FluentBundle::new_concurrent(vec![locale]);
    // No Unicode isolation marks around arguments: they show up in inputs.
    b.set_use_isolating(false);
    b.add_resource(resource).expect("message ids are unique within a file");
    b
}

impl I18n {
    /// Loads the embedded files. Panics if they do not parse: a test
    /// guarantees they do.
    pub fn load() -> Self {
        Self { zh: bundle(Lang::ZhCn, SOURCES[0].1), en: bundle(Lang::En, SOURCES[1].1) }
    }

    fn bundle(&self, lang: Lang) -> &FluentBundle<FluentResource> {
        match lang {
            Lang::ZhCn => &self.zh,
            Lang::En => &self.en,
        }
    }

    /// Whether a message exists in `lang`.
    pub fn has(&self, lang: Lang, key: &str) -> bool {
        self.bundle(lang).has_message(key)
    }

    /// The message `key` in `lang` with `args`; the key itself if missing (a
    /// test makes sure none is).
    pub fn text(&self, lang: Lang, key: &str, args: &[(&str, String)]) -> String {
        let bundle = self.bundle(lang);
        let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
            return key.to_owned();
        };
        let mut fargs = FluentArgs::new();
        for (k, v) in args {
            fargs.set(*k, v.clone());
        }
        let mut errors = Vec::new();
        let s = bundle.format_pattern(pattern, Some(&fargs), &mut errors);
        s.into_owned()
    }

    /// The label of a form or API field, e.g. `username` → 用户名. Nested
    /// fields (`rows[3].plate`) use the last part.
    pub fn field_label(&self, lang: Lang, field: &str) -> String {
        let last = field.rsplit('.').next().unwrap_or(field);
        let base = last.split('[').next().unwrap_or(last);
        let key = format!("field-{}", base.replace('_', "-"));
        if self.has(lang, &key) { self.text(lang, &key, &[]) } else { field.to_owned() }
    }

    /// The message for a field error: "用户名：太长，最多 32 个字符".
    pub fn field_error(&self, lang: Lang, e: &shouwang_domain::FieldError) -> String {
        let key = format!("error-{}", e.code.replace('_', "-"));
        let args: Vec<(&str, String)> = e.args.iter().map(|(k, v)| (*k, v.clone())).collect();
        let message = if self.has(lang, &key) { self.text(lang, &key, &args) } else { e.code.to_owned() };
        self.text(lang, "field-error", &[("field", self.field_label(lang, &e.field)), ("message", message)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(source: &str) -> std::collections::BTreeSet<String> {
        source
            .lines()
            .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
            .filter_map(|l| l.split('=').next())
            .map(|k| k.trim().to_owned())
            .collect()
    }

    #[test]
    fn both_languages_have_the_same_messages() {
        let zh = ids(SOURCES[0].1);
        let en = ids(SOURCES[1].1);
        let only_zh: Vec<_> = zh.difference(&en).collect();
        let only_en: Vec<_> = en.difference(&zh).collect();
        assert!(only_zh.is_empty() && only_en.is_empty(), "only in zh-CN: {only_zh:?}; only in en: {only_en:?}");
        I18n::load();
    }

    #[test]
    fn every_event_kind_has_a_label_in_both_languages() {
        let i = I18n::load();
        for kind in shouwang_domain::EventKind::ALL {
            let key = format!("event-{}", kind.as_str().replace(['.', '_'], "-"));
            for lang in Lang::ALL {
                assert!(i.has(lang, &key), "{key} is missing in {}", lang.tag());
            }
        }
    }

    /// The codes of every `FieldError::new(…)` and store `invalid(…)` call in
    /// the product's sources: the last string literal inside the call.
    fn error_codes_in_sources() -> std::collections::BTreeSet<String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut codes = std::collections::BTreeSet::new();
        let mut stack = vec![root.join("domain/src"), root.join("store/src"), root.join("server/src")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().map(Result::unwrap) {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for opener in ["FieldError::new(", "invalid("] {
                    for (at, _) in text.match_indices(opener) {
                        let rest = &text[at + opener.len()..];
                        let mut depth = 1;
                        let end = rest
                            .char_indices()
                            .find(|(_, c)| {
                                depth += match c {
                                    '(' => 1,
                                    ')' => -1,
                                    _ => 0,
                                };
                                depth == 0
                            })
                            .map_or(rest.len(), |(i, _)| i);
                        let literals: Vec<&str> = rest[..end].split('"').skip(1).step_by(2).collect();
                        if let Some(code) =
                            literals.last().filter(|c| c.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
                        {
                            codes.insert((*code).to_owned());
                        }
                    }
                }
            }
        }
        codes
    }

    #[test]
    fn every_error_code_in_the_sources_has_a_message_in_both_languages() {
        let i = I18n::load();
        let codes = error_codes_in_sources();
        assert!(codes.contains("too_long") && codes.contains("shift_overlaps"), "the scan finds codes: {codes:?}");
        let mut missing = Vec::new();
        for code in &codes {
            let key = format!("error-{}", code.replace('_', "-"));
            for lang in Lang::ALL {
                if !i.has(lang, &key) {
                    missing.push(format!("{key} ({})", lang.tag()));
                }
            }
        }
        assert!(missing.is_empty(), "error messages missing: {missing:?}");
    }

    #[test]
    fn accept_language_picks_the_best_supported_language() {
        assert_eq!(Lang::negotiate(None, Some("en-US,en;q=0.9,zh-CN;q=0.8")), Lang::En);
        assert_eq!(Lang::negotiate(None, Some("fr-FR,zh-CN;q=0.5,en;q=0.4")), Lang::ZhCn);
        assert_eq!(Lang::negotiate(None, Some("fr")), Lang::ZhCn);
        assert_eq!(Lang::negotiate(Some("en"), Some("zh-CN")), Lang::En);
    }

    #[test]
    fn field_errors_read_in_both_languages() {
        let i = I18n::load();
        let e = shouwang_domain::FieldError::new("username", "too_long").arg("max", 32);
        assert_eq!(i.field_error(Lang::En, &e), "Username: too long, at most 32 characters");
        assert!(i.field_error(Lang::ZhCn, &e).starts_with("用户名"));
    }
}
