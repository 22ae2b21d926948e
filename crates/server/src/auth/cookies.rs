//! The few cookies Shouwang sets, read and written by hand: a session, a
//! language, and a sign-in CSRF token.

use axum::http::{HeaderMap, HeaderValue, header};

/// The session cookie: an opaque random token; only its SHA-256 is stored.
pub const SESSION: &str = "sw_session";
/// The language choice, readable by anyone (not a secret).
pub const LANG: &str = "lang";
/// The CSRF token of the sign-in form, before there is a session.
pub const LOGIN_CSRF: &str = "sw_login_csrf";

/// The value of cookie `name` in the request, if any.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value. Every cookie is `SameSite=Strict` and, over HTTPS,
/// `Secure`; all but the language are `HttpOnly`.
pub fn set(name: &str, value: &str, max_age_s: Option<i64>, https: bool) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; SameSite=Strict");
    if name != LANG {
        c.push_str("; HttpOnly");
    }
    if https {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age_s {
        c.push_str(&format!("; Max-Age={age}"));
    }
    HeaderValue::from_str(&c).expect("cookie values are base64url or language tags")
}

/// A `Set-Cookie` value that deletes the cookie.
pub fn clear(name: &str, https: bool) -> HeaderValue {
    set(name, "", Some(0), https)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_cookie_among_several() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("lang=en; sw_session=abc123; x=y"));
        assert_eq!(get(&h, SESSION), Some("abc123"));
        assert_eq!(get(&h, LANG), Some("en"));
        assert_eq!(get(&h, "nope"), None);
    }

    #[test]
    fn session_cookies_are_strict_http_only_and_secure_over_https() {
        let v = set(SESSION, "t", Some(60), true);
        let s = v.to_str().unwrap();
        assert!(s.contains("HttpOnly") && s.contains("SameSite=Strict") && s.contains("Secure"));
        assert!(!set(SESSION, "t", None, false).to_str().unwrap().contains("Secure"));
    }
}
