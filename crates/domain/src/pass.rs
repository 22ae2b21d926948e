//! Freight passes (通行证): what a pass says, how it is written into a token
//! that fits a QR code, and how a post decides whether the pass in front of it
//! is good.
//!
//! # The token
//! A pass travels as a *token*: the claims in a compact binary form, then the
//! deployment's Ed25519 signature over them (64 bytes), the whole written in
//! RFC 4648 base32 (`A–Z 2–7`, no padding). Base32 uses only characters of
//! the QR code's alphanumeric mode, so a token of ~330 characters fits a
//! version 12–13 code that a phone camera reads off paper.
//!
//! ```text
//! version 1 │ number 5 │ issued i64 │ from i64 │ until i64 │ origin u32 │ destination u32 │ cargo u8
//!           │ plates: n u8, (len u8, UTF-8)… │ driver name str8 │ driver phone str8 │ enterprise str8
//!           │ scope str8 │ posts: n u8, (u32)… ║ Ed25519 signature over all of the above: 64
//! ```
//!
//! Integers are big-endian; `str8` is a length byte and UTF-8. The same
//! layout is read by `web/static/pass-verify.js`, which checks the signature
//! with WebCrypto on the officer's phone, so a post decides with no network.
//!
//! # Deciding
//! [`verify`] is a pure function: token, public key, the time, the plate the
//! officer sees, the post, and which numbers are revoked → a [`Verdict`] with
//! the reason. The server and the phone decide the same way, in the same
//! order: forged, revoked, not yet valid, expired, wrong plate, not for this
//! post.
//!
//! # Numbers
//! A pass's [`PassNumber`] is eight characters of Crockford's base32 drawn at
//! random (40 bits), shown as `7K3M-9QP2`: short enough to read out or type on
//! a phone, and `O`/`I`/`L` typed by mistake are read as `0`/`1`/`1`.

use std::fmt;

use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

use crate::region::RegionCode;
use crate::screening::{CargoCategory, MobilePhone, PersonName, PlateNumber};
use crate::text::BoundedText;
use crate::{CheckpointId, FieldError, ScopePath, UnixMicros};

/// The token format written by this version.
pub const TOKEN_VERSION: u8 = 1;
/// Bytes of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;
/// The most plates one pass may name.
pub const MAX_PLATES: usize = 3;
/// The most posts one pass may name.
pub const MAX_POSTS: usize = 20;
/// The longest validity window: 90 days.
pub const MAX_VALIDITY_US: i64 = 90 * DAY_US;
/// How far back a window may start: one day (a pass for a lorry already on
/// the road this morning).
pub const BACKDATE_US: i64 = DAY_US;

const DAY_US: i64 = 86_400_000_000;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Bytes to base32 text in `alphabet`, no padding.
fn base32_encode(bytes: &[u8], alphabet: &[u8; 32]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for b in bytes {
        buffer = (buffer << 8) | u32::from(*b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(alphabet[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(alphabet[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Base32 text (already normalised to `alphabet`) to bytes; `None` for a
/// character outside it.
fn base32_decode(text: &str, alphabet: &[u8; 32]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = alphabet.iter().position(|a| *a == c)? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

/// A pass's number: 40 random bits in Crockford base32, `7K3M9QP2`, shown
/// as `7K3M-9QP2`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PassNumber([u8; 5]);

impl PassNumber {
    /// Characters in a number (without the dash).
    pub const LEN: usize = 8;

    /// The number of five random bytes.
    pub fn from_bytes(bytes: [u8; 5]) -> Self {
        Self(bytes)
    }

    /// Parses a typed number: case, spaces and dashes do not matter, and
    /// `O`, `I`, `L` are read as `0`, `1`, `1`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let s: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-' && *c != '－')
            .map(|c| match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            })
            .collect();
        if s.is_empty() {
            return Err(FieldError::new(field, "required"));
        }
        if s.len() != Self::LEN {
            return Err(FieldError::new(field, "invalid_pass_number"));
        }
        let bytes = base32_decode(&s, CROCKFORD).ok_or_else(|| FieldError::new(field, "invalid_pass_number"))?;
        let bytes: [u8; 5] = bytes.try_into().map_err(|_| FieldError::new(field, "invalid_pass_number"))?;
        Ok(Self(bytes))
    }

    /// The stored form, without the dash: `7K3M9QP2`.
    pub fn as_stored(&self) -> String {
        base32_encode(&self.0, CROCKFORD)
    }
}

impl fmt::Display for PassNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.as_stored();
        write!(f, "{}-{}", &s[..4], &s[4..])
    }
}

impl Serialize for PassNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What is asked for or issued, loose as a form or JSON sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PassTermsDraft {
    /// The enterprise's name, 1–60 characters.
    pub enterprise: Option<String>,
    /// 1–3 plates.
    pub plates: Vec<String>,
    /// The driver's name.
    pub driver_name: Option<String>,
    /// The driver's mobile number.
    pub driver_phone: Option<String>,
    /// Region code of the origin.
    pub origin: Option<String>,
    /// Region code of the destination.
    pub destination: Option<String>,
    /// The posts it may pass; empty: any post within the issuer's scope.
    pub posts: Vec<i64>,
    /// Cargo category.
    pub cargo: Option<String>,
    /// Valid from (µs).
    pub valid_from_us: Option<i64>,
    /// Valid until (µs, exclusive).
    pub valid_until_us: Option<i64>,
}

/// What a pass allows, checked: who, which vehicles, which way, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassTerms {
    enterprise: BoundedText<60>,
    plates: Vec<PlateNumber>,
    driver_name: PersonName,
    driver_phone: MobilePhone,
    origin: RegionCode,
    destination: RegionCode,
    posts: Vec<CheckpointId>,
    cargo: CargoCategory,
    valid_from_us: UnixMicros,
    valid_until_us: UnixMicros,
}

/// The value of `result`, or `None` with its error kept.
fn keep<T>(errors: &mut Vec<FieldError>, result: Result<T, FieldError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

fn text<'a>(field: &str, raw: &'a Option<String>) -> Result<&'a str, FieldError> {
    raw.as_deref().map(str::trim).filter(|s| !s.is_empty()).ok_or_else(|| FieldError::new(field, "required"))
}

impl PassTerms {
    /// Checks every field of `draft` at `now_us`; all the problems at once.
    pub fn parse(draft: &PassTermsDraft, now_us: UnixMicros) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let e = &mut errors;
        let enterprise =
            keep(e, text("enterprise", &draft.enterprise).and_then(|s| BoundedText::parse("enterprise", s)));
        let driver_name =
            keep(e, text("driver_name", &draft.driver_name).and_then(|s| PersonName::parse("driver_name", s)));
        let driver_phone = keep(e, MobilePhone::parse("driver_phone", draft.driver_phone.as_deref().unwrap_or("")));
        let origin = keep(e, RegionCode::parse("origin", draft.origin.as_deref().unwrap_or("")));
        let destination = keep(e, RegionCode::parse("destination", draft.destination.as_deref().unwrap_or("")));
        let cargo = keep(e, CargoCategory::parse("cargo", draft.cargo.as_deref().unwrap_or("")));
        let mut plates = Vec::new();
        if draft.plates.iter().all(|p| p.trim().is_empty()) {
            e.push(FieldError::new("plates", "required"));
        } else if draft.plates.len() > MAX_PLATES {
            e.push(FieldError::new("plates", "too_many").arg("max", MAX_PLATES));
        } else {
            for (i, raw) in draft.plates.iter().enumerate().filter(|(_, p)| !p.trim().is_empty()) {
                let field = format!("plates[{i}]");
                match PlateNumber::parse(&field, raw) {
                    Ok(p) if plates.contains(&p) => e.push(FieldError::new(field, "duplicate")),
                    Ok(p) => plates.push(p),
                    Err(bad) => e.push(bad),
                }
            }
        }
        let mut posts = Vec::new();
        if draft.posts.len() > MAX_POSTS {
            e.push(FieldError::new("posts", "too_many").arg("max", MAX_POSTS));
        } else {
            for (i, id) in draft.posts.iter().enumerate() {
                if *id <= 0 || *id > i64::from(u32::MAX) {
                    e.push(FieldError::new(format!("posts[{i}]"), "not_found"));
                } else if !posts.contains(&CheckpointId(*id)) {
                    posts.push(CheckpointId(*id));
                }
            }
        }
        let from = draft.valid_from_us.unwrap_or(now_us);
        let until = keep(e, draft.valid_until_us.ok_or_else(|| FieldError::new("valid_until_us", "required")));
        if from < now_us - BACKDATE_US {
            e.push(FieldError::new("valid_from_us", "time_out_of_range"));
        }
        if let Some(until) = until {
            if until <= from {
                e.push(FieldError::new("valid_until_us", "ends_before_start"));
            } else if until <= now_us {
                e.push(FieldError::new("valid_until_us", "already_ended"));
            } else if until - from > MAX_VALIDITY_US {
                e.push(FieldError::new("valid_until_us", "validity_too_long").arg("days", MAX_VALIDITY_US / DAY_US));
            }
        }
        match (enterprise, driver_name, driver_phone, origin, destination, cargo, until) {
            (
                Some(enterprise),
                Some(driver_name),
                Some(driver_phone),
                Some(origin),
                Some(destination),
                Some(cargo),
                Some(until),
            ) if e.is_empty() => Ok(Self {
                enterprise,
                plates,
                driver_name,
                driver_phone,
                origin,
                destination,
                posts,
                cargo,
                valid_from_us: from,
                valid_until_us: until,
            }),
            _ => Err(errors),
        }
    }

    /// The enterprise.
    pub fn enterprise(&self) -> &str {
        self.enterprise.as_str()
    }

    /// The plates, 1–3.
    pub fn plates(&self) -> &[PlateNumber] {
        &self.plates
    }

    /// The driver.
    pub fn driver_name(&self) -> &PersonName {
        &self.driver_name
    }

    /// The driver's phone.
    pub fn driver_phone(&self) -> &MobilePhone {
        &self.driver_phone
    }

    /// Where from.
    pub fn origin(&self) -> RegionCode {
        self.origin
    }

    /// Where to.
    pub fn destination(&self) -> RegionCode {
        self.destination
    }

    /// The posts named; empty: any post within the pass's scope.
    pub fn posts(&self) -> &[CheckpointId] {
        &self.posts
    }

    /// Cargo.
    pub fn cargo(&self) -> CargoCategory {
        self.cargo
    }

    /// Valid from (µs, inclusive).
    pub fn valid_from_us(&self) -> UnixMicros {
        self.valid_from_us
    }

    /// Valid until (µs, exclusive).
    pub fn valid_until_us(&self) -> UnixMicros {
        self.valid_until_us
    }

    /// The draft these terms came from (what a request keeps).
    pub fn to_draft(&self) -> PassTermsDraft {
        PassTermsDraft {
            enterprise: Some(self.enterprise.as_str().to_owned()),
            plates: self.plates.iter().map(|p| p.as_str().to_owned()).collect(),
            driver_name: Some(self.driver_name.expose().to_owned()),
            driver_phone: Some(self.driver_phone.expose().to_owned()),
            origin: Some(self.origin.as_str().to_owned()),
            destination: Some(self.destination.as_str().to_owned()),
            posts: self.posts.iter().map(|p| p.0).collect(),
            cargo: Some(self.cargo.as_str().to_owned()),
            valid_from_us: Some(self.valid_from_us),
            valid_until_us: Some(self.valid_until_us),
        }
    }
}

crate::checkpoint::choice_enum! {
    /// Where a stored pass stands.
    PassStatus {
        /// In force (within its window).
        Issued = "issued",
        /// Withdrawn; every post refuses it from its next sync on.
        Revoked = "revoked",
    }
}

crate::checkpoint::choice_enum! {
    /// Where an enterprise's request for a pass stands.
    RequestState {
        /// Waiting for an approver.
        Requested = "requested",
        /// Approved: the pass is issued.
        Approved = "approved",
        /// Refused, with a reason.
        Refused = "refused",
    }
}

/// A post where a pass is shown: its id and its scope (the post's org unit
/// path with its own segment, `/1/4/c9/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostSeen {
    /// The post.
    pub id: CheckpointId,
    /// Where it sits.
    pub scope: ScopePath,
}

/// Everything a pass says: its terms, its number, where it is valid and when
/// it was issued. What the token carries, signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassClaims {
    /// The pass's number.
    pub number: PassNumber,
    /// The issuer's scope: a pass naming no post is valid at any post in it.
    pub scope: ScopePath,
    /// When it was issued.
    pub issued_us: UnixMicros,
    terms: PassTerms,
}

/// Why a token could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a pass token")]
pub struct Unreadable;

/// A reader over the token's bytes.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Unreadable> {
        if self.0.len() < n {
            return Err(Unreadable);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, Unreadable> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, Unreadable> {
        Ok(u32::from_be_bytes(self.take(4)?.try_into().map_err(|_| Unreadable)?))
    }
    fn i64(&mut self) -> Result<i64, Unreadable> {
        Ok(i64::from_be_bytes(self.take(8)?.try_into().map_err(|_| Unreadable)?))
    }
    fn str8(&mut self) -> Result<&'a str, Unreadable> {
        let n = usize::from(self.u8()?);
        std::str::from_utf8(self.take(n)?).map_err(|_| Unreadable)
    }
}

fn put_str8(out: &mut Vec<u8>, s: &str) {
    // Every string written is bounded well under 255 bytes by its type; a
    // longer one would be cut at a character boundary rather than corrupt.
    let mut end = s.len().min(255);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    out.push(end as u8);
    out.extend_from_slice(&s.as_bytes()[..end]);
}

impl PassClaims {
    /// The claims of a pass issued now with `terms`.
    pub fn new(number: PassNumber, scope: ScopePath, issued_us: UnixMicros, terms: PassTerms) -> Self {
        Self { number, scope, issued_us, terms }
    }

    /// What it allows.
    pub fn terms(&self) -> &PassTerms {
        &self.terms
    }

    /// Whether it may pass `post`: the post is named, or none is named and
    /// the post lies within the issuer's scope.
    pub fn admits_post(&self, post: &PostSeen) -> bool {
        if self.terms.posts.is_empty() { self.scope.contains(&post.scope) } else { self.terms.posts.contains(&post.id) }
    }

    /// Whether `plate` is one of the pass's plates.
    pub fn names_plate(&self, plate: &PlateNumber) -> bool {
        self.terms.plates.contains(plate)
    }

    /// The signed bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let t = &self.terms;
        let mut out = Vec::with_capacity(200);
        out.push(TOKEN_VERSION);
        out.extend_from_slice(&self.number.0);
        for v in [self.issued_us, t.valid_from_us, t.valid_until_us] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        for r in [t.origin, t.destination] {
            let code: u32 = r.as_str().parse().expect("a region code is six digits");
            out.extend_from_slice(&code.to_be_bytes());
        }
        let cargo = CargoCategory::ALL.iter().position(|c| *c == t.cargo).expect("every category is in ALL");
        out.push(cargo as u8);
        out.push(t.plates.len() as u8);
        for p in &t.plates {
            put_str8(&mut out, p.as_str());
        }
        put_str8(&mut out, t.driver_name.expose());
        put_str8(&mut out, t.driver_phone.expose());
        put_str8(&mut out, t.enterprise.as_str());
        put_str8(&mut out, self.scope.as_str());
        out.push(t.posts.len() as u8);
        for p in &t.posts {
            // Post ids are checked to fit in 32 bits when the terms are parsed.
            out.extend_from_slice(&(p.0 as u32).to_be_bytes());
        }
        out
    }

    /// Reads the signed bytes back; every field is checked again as if typed.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Unreadable> {
        let mut r = Reader(bytes);
        if r.u8()? != TOKEN_VERSION {
            return Err(Unreadable);
        }
        let number = PassNumber(r.take(5)?.try_into().map_err(|_| Unreadable)?);
        let (issued_us, valid_from_us, valid_until_us) = (r.i64()?, r.i64()?, r.i64()?);
        let region = |code: u32| RegionCode::parse("region", &format!("{code:06}")).map_err(|_| Unreadable);
        let (origin, destination) = (region(r.u32()?)?, region(r.u32()?)?);
        let cargo = *CargoCategory::ALL.get(usize::from(r.u8()?)).ok_or(Unreadable)?;
        let n = usize::from(r.u8()?);
        if n == 0 || n > MAX_PLATES {
            return Err(Unreadable);
        }
        let mut plates = Vec::with_capacity(n);
        for _ in 0..n {
            plates.push(PlateNumber::parse("plate", r.str8()?).map_err(|_| Unreadable)?);
        }
        let driver_name = PersonName::parse("driver_name", r.str8()?).map_err(|_| Unreadable)?;
        let driver_phone = MobilePhone::parse("driver_phone", r.str8()?).map_err(|_| Unreadable)?;
        let enterprise = BoundedText::parse("enterprise", r.str8()?).map_err(|_| Unreadable)?;
        let scope = ScopePath::from_stored(r.str8()?).map_err(|_| Unreadable)?;
        let n = usize::from(r.u8()?);
        if n > MAX_POSTS {
            return Err(Unreadable);
        }
        let mut posts = Vec::with_capacity(n);
        for _ in 0..n {
            posts.push(CheckpointId(i64::from(r.u32()?)));
        }
        if !r.0.is_empty() {
            return Err(Unreadable);
        }
        let terms = PassTerms {
            enterprise,
            plates,
            driver_name,
            driver_phone,
            origin,
            destination,
            posts,
            cargo,
            valid_from_us,
            valid_until_us,
        };
        Ok(Self { number, scope, issued_us, terms })
    }
}

/// A signed pass as text: base32 of the claims and the signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PassToken(String);

impl PassToken {
    /// Normalises pasted or scanned text (case, spaces, line breaks,
    /// padding); whether it is a pass is for [`verify`] to say.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let s: String =
            raw.chars().filter(|c| !c.is_whitespace() && *c != '=').map(|c| c.to_ascii_uppercase()).collect();
        if s.is_empty() {
            return Err(FieldError::new(field, "required"));
        }
        if s.len() > 2000 {
            return Err(FieldError::new(field, "too_long").arg("max", 2000));
        }
        Ok(Self(s))
    }

    /// The text, as put into the QR code.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The claims and the signature, unchecked; `Unreadable` if it is not a
    /// token at all.
    fn split(&self) -> Result<(PassClaims, Vec<u8>, Vec<u8>), Unreadable> {
        let bytes = base32_decode(&self.0, BASE32).ok_or(Unreadable)?;
        if bytes.len() <= SIGNATURE_LEN {
            return Err(Unreadable);
        }
        let (payload, signature) = bytes.split_at(bytes.len() - SIGNATURE_LEN);
        Ok((PassClaims::from_bytes(payload)?, payload.to_vec(), signature.to_vec()))
    }

    /// The claims **without checking the signature**: for showing a pass this
    /// deployment stored itself, never for deciding at a post.
    pub fn claims_unverified(&self) -> Result<PassClaims, Unreadable> {
        self.split().map(|(claims, _, _)| claims)
    }
}

/// The deployment's signing key. `Debug` never shows it.
pub struct PassSigningKey {
    seed: [u8; 32],
    pair: Ed25519KeyPair,
}

impl PassSigningKey {
    /// The key of a 32-byte seed (from the OS's random source, or stored).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed).expect("every 32-byte seed is an Ed25519 key");
        Self { seed, pair }
    }

    /// The stored form: the seed in base32. A secret: keep it out of logs.
    pub fn to_stored(&self) -> String {
        base32_encode(&self.seed, BASE32)
    }

    /// Reads the stored form back.
    pub fn from_stored(raw: &str) -> Result<Self, Unreadable> {
        let bytes = base32_decode(raw.trim(), BASE32).ok_or(Unreadable)?;
        Ok(Self::from_seed(bytes.try_into().map_err(|_| Unreadable)?))
    }

    /// The public half, which phones verify with.
    pub fn public_key(&self) -> PassPublicKey {
        let bytes: [u8; 32] = self.pair.public_key().as_ref().try_into().expect("Ed25519 public keys are 32 bytes");
        PassPublicKey(bytes)
    }

    /// Signs `claims` into a token.
    pub fn sign(&self, claims: &PassClaims) -> PassToken {
        let mut bytes = claims.to_bytes();
        let signature = self.pair.sign(&bytes);
        bytes.extend_from_slice(signature.as_ref());
        PassToken(base32_encode(&bytes, BASE32))
    }
}

impl fmt::Debug for PassSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PassSigningKey(<redacted>, public {})", self.public_key().to_base64url())
    }
}

/// The deployment's public key: 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassPublicKey([u8; 32]);

impl PassPublicKey {
    /// The raw key, as WebCrypto's `importKey('raw', …)` takes it.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key from its raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The key in base64url without padding (43 characters).
    pub fn to_base64url(&self) -> String {
        const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::with_capacity(43);
        for chunk in self.0.chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            }
        }
        out
    }

    fn signed(&self, payload: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.0).verify(payload, signature).is_ok()
    }
}

crate::checkpoint::choice_enum! {
    /// What a post decides about a pass.
    Verdict {
        /// Good: signed by this deployment, in force, this vehicle, this post.
        Valid = "valid",
        /// Its window has ended.
        Expired = "expired",
        /// Its window has not begun.
        NotYetValid = "not_yet_valid",
        /// The vehicle's plate is not on the pass.
        WrongPlate = "wrong_plate",
        /// The pass does not cover this post.
        NotForThisPost = "not_for_this_post",
        /// Withdrawn by the issuer.
        Revoked = "revoked",
        /// Not signed by this deployment, altered, or not a pass at all.
        Forged = "forged",
        /// A typed number that no pass has.
        Unknown = "unknown",
    }
}

impl Verdict {
    /// Whether the vehicle may pass on it.
    pub fn is_valid(self) -> bool {
        self == Self::Valid
    }
}

/// A decision and, unless the token is forged, what the pass says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// The decision.
    pub verdict: Verdict,
    /// The claims, when the signature holds.
    pub claims: Option<PassClaims>,
}

/// Decides whether `token` lets a vehicle through: see the module doc for
/// the order of the checks. `plate_seen` and `post` are skipped when `None`
/// (the officer has not typed the plate; a check away from a post).
pub fn verify(
    token: &PassToken,
    key: &PassPublicKey,
    now_us: UnixMicros,
    plate_seen: Option<&PlateNumber>,
    post: Option<&PostSeen>,
    revoked: impl Fn(&PassNumber) -> bool,
) -> Verification {
    let Ok((claims, payload, signature)) = token.split() else {
        return Verification { verdict: Verdict::Forged, claims: None };
    };
    if !key.signed(&payload, &signature) {
        return Verification { verdict: Verdict::Forged, claims: None };
    }
    let t = &claims.terms;
    let verdict = if revoked(&claims.number) {
        Verdict::Revoked
    } else if now_us < t.valid_from_us {
        Verdict::NotYetValid
    } else if now_us >= t.valid_until_us {
        Verdict::Expired
    } else if plate_seen.is_some_and(|p| !claims.names_plate(p)) {
        Verdict::WrongPlate
    } else if post.is_some_and(|p| !claims.admits_post(p)) {
        Verdict::NotForThisPost
    } else {
        Verdict::Valid
    };
    Verification { verdict, claims: Some(claims) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OrgUnitId;
    use proptest::prelude::*;

    const NOW: i64 = 1_770_000_000_000_000;
    const HOUR: i64 = 3_600_000_000;

    fn draft() -> PassTermsDraft {
        PassTermsDraft {
            enterprise: Some("卢氏县宏达防护用品有限公司".into()),
            plates: vec!["豫M12345".into(), "豫MD12345".into()],
            driver_name: Some("张三".into()),
            driver_phone: Some("13800138000".into()),
            origin: Some("411224".into()),
            destination: Some("411300".into()),
            posts: vec![],
            cargo: Some("production_materials".into()),
            valid_from_us: Some(NOW - HOUR),
            valid_until_us: Some(NOW + 24 * HOUR),
        }
    }

    fn county() -> ScopePath {
        ScopePath::root().child(OrgUnitId(1))
    }

    fn claims(d: &PassTermsDraft) -> PassClaims {
        let terms = PassTerms::parse(d, NOW).unwrap();
        PassClaims::new(PassNumber::from_bytes([1, 2, 3, 4, 5]), county(), NOW - 2 * HOUR, terms)
    }

    fn key(n: u8) -> PassSigningKey {
        PassSigningKey::from_seed([n; 32])
    }

    fn post_in_county() -> PostSeen {
        PostSeen { id: CheckpointId(9), scope: county().child(OrgUnitId(4)).segment("c9") }
    }

    fn check(token: &PassToken, k: &PassSigningKey, now: i64, plate: &str) -> Verdict {
        let plate = PlateNumber::parse("plate", plate).unwrap();
        verify(token, &k.public_key(), now, Some(&plate), Some(&post_in_county()), |_| false).verdict
    }

    #[test]
    fn a_signed_pass_is_valid_for_its_plates_at_a_post_in_scope() {
        let k = key(7);
        let c = claims(&draft());
        let token = k.sign(&c);
        assert_eq!(check(&token, &k, NOW, "豫M12345"), Verdict::Valid);
        assert_eq!(check(&token, &k, NOW, "豫 MD 12345"), Verdict::Valid);
        let v = verify(&token, &k.public_key(), NOW, None, None, |_| false);
        assert_eq!(v.claims.unwrap(), c);
    }

    #[test]
    fn the_token_uses_only_qr_alphanumeric_characters_and_stays_small() {
        let token = key(7).sign(&claims(&draft()));
        assert!(token.as_str().bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)));
        assert!(token.as_str().len() < 400, "{}", token.as_str().len());
    }

    #[test]
    fn a_tampered_byte_makes_it_forged() {
        let k = key(7);
        let token = k.sign(&claims(&draft()));
        let bytes = base32_decode(token.as_str(), BASE32).unwrap();
        for i in [0, 3, 10, 40, bytes.len() - 70, bytes.len() - 1] {
            let mut altered = bytes.clone();
            altered[i] ^= 0x01;
            let t = PassToken(base32_encode(&altered, BASE32));
            assert_eq!(check(&t, &k, NOW, "豫M12345"), Verdict::Forged, "byte {i}");
        }
        // One character changed in the text, as a bad scan or a forger would.
        let mut text = token.as_str().to_owned();
        let c = if text.as_bytes()[20] == b'A' { "B" } else { "A" };
        text.replace_range(20..21, c);
        assert_eq!(check(&PassToken(text), &k, NOW, "豫M12345"), Verdict::Forged);
        assert_eq!(check(&PassToken("HELLO".into()), &k, NOW, "豫M12345"), Verdict::Forged);
    }

    #[test]
    fn a_pass_signed_with_another_key_is_forged() {
        let token = key(8).sign(&claims(&draft()));
        assert_eq!(check(&token, &key(7), NOW, "豫M12345"), Verdict::Forged);
    }

    #[test]
    fn outside_its_window_it_is_expired_or_not_yet_valid() {
        let k = key(7);
        let token = k.sign(&claims(&draft()));
        assert_eq!(check(&token, &k, NOW + 24 * HOUR, "豫M12345"), Verdict::Expired);
        assert_eq!(check(&token, &k, NOW - HOUR - 1, "豫M12345"), Verdict::NotYetValid);
    }

    #[test]
    fn another_vehicle_gets_wrong_plate() {
        let k = key(7);
        let token = k.sign(&claims(&draft()));
        assert_eq!(check(&token, &k, NOW, "陕A99999"), Verdict::WrongPlate);
    }

    #[test]
    fn revoked_wins_over_everything_but_forgery() {
        let k = key(7);
        let c = claims(&draft());
        let token = k.sign(&c);
        let v = verify(&token, &k.public_key(), NOW + 48 * HOUR, None, None, |n| *n == c.number);
        assert_eq!(v.verdict, Verdict::Revoked);
    }

    #[test]
    fn posts_named_limit_it_and_no_posts_means_the_issuers_scope() {
        let k = key(7);
        let elsewhere = PostSeen { id: CheckpointId(9), scope: ScopePath::root().child(OrgUnitId(2)).segment("c9") };
        let any = k.sign(&claims(&draft()));
        assert_eq!(
            verify(&any, &k.public_key(), NOW, None, Some(&elsewhere), |_| false).verdict,
            Verdict::NotForThisPost
        );
        let named = k.sign(&claims(&PassTermsDraft { posts: vec![3, 4], ..draft() }));
        assert_eq!(check(&named, &k, NOW, "豫M12345"), Verdict::NotForThisPost);
        let here = k.sign(&claims(&PassTermsDraft { posts: vec![9], ..draft() }));
        assert_eq!(check(&here, &k, NOW, "豫M12345"), Verdict::Valid);
    }

    #[test]
    fn terms_name_every_bad_field() {
        let bad = PassTermsDraft {
            enterprise: None,
            plates: vec!["豫M12345".into(), "ABC".into(), "豫m 12345".into()],
            driver_phone: Some("123".into()),
            origin: Some("999999".into()),
            valid_until_us: Some(NOW - 2 * HOUR),
            ..draft()
        };
        let errors = PassTerms::parse(&bad, NOW).unwrap_err();
        let fields: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert!(fields.contains(&("enterprise", "required")), "{fields:?}");
        assert!(fields.contains(&("plates[1]", "invalid_plate")), "{fields:?}");
        assert!(fields.contains(&("plates[2]", "duplicate")), "{fields:?}");
        assert!(fields.contains(&("driver_phone", "invalid_phone")), "{fields:?}");
        assert!(fields.iter().any(|(f, _)| *f == "origin"), "{fields:?}");
        assert!(fields.contains(&("valid_until_us", "ends_before_start")), "{fields:?}");
        let four = PassTermsDraft { plates: vec!["豫M12345".into(); 4], ..draft() };
        assert_eq!(PassTerms::parse(&four, NOW).unwrap_err()[0].code, "too_many");
        let ended =
            PassTermsDraft { valid_from_us: Some(NOW - 20 * HOUR), valid_until_us: Some(NOW - HOUR), ..draft() };
        assert_eq!(PassTerms::parse(&ended, NOW).unwrap_err()[0].code, "already_ended");
        let long = PassTermsDraft { valid_until_us: Some(NOW + 91 * DAY_US), ..draft() };
        assert_eq!(PassTerms::parse(&long, NOW).unwrap_err()[0].code, "validity_too_long");
    }

    #[test]
    fn numbers_are_typed_forgivingly() {
        let n = PassNumber::from_bytes([0x12, 0x34, 0x56, 0x78, 0x9a]);
        let shown = n.to_string();
        assert_eq!(shown.len(), 9);
        assert_eq!(PassNumber::parse("n", &shown).unwrap(), n);
        assert_eq!(PassNumber::parse("n", &shown.to_lowercase().replace('-', " ")).unwrap(), n);
        assert_eq!(PassNumber::parse("n", "0000-0000").unwrap(), PassNumber::parse("n", "oooo-OOOO").unwrap());
        assert_eq!(PassNumber::parse("n", "ABC").unwrap_err().code, "invalid_pass_number");
        assert_eq!(PassNumber::parse("n", "UUUU-UUUU").unwrap_err().code, "invalid_pass_number");
    }

    #[test]
    fn the_signing_key_round_trips_and_never_shows_in_debug() {
        let k = key(42);
        let back = PassSigningKey::from_stored(&k.to_stored()).unwrap();
        assert_eq!(back.public_key(), k.public_key());
        let shown = format!("{k:?}");
        assert!(!shown.contains(&k.to_stored()), "{shown}");
        assert!(shown.contains("redacted"));
        assert_eq!(k.public_key().to_base64url().len(), 43);
    }

    #[test]
    fn a_scanned_token_is_normalised() {
        let k = key(7);
        let token = k.sign(&claims(&draft()));
        let messy = format!("  {}\n{}==", token.as_str()[..50].to_lowercase(), &token.as_str()[50..]);
        assert_eq!(PassToken::parse("token", &messy).unwrap(), token);
    }

    proptest! {
        #[test]
        fn base32_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            prop_assert_eq!(base32_decode(&base32_encode(&bytes, BASE32), BASE32).unwrap(), bytes.clone());
            prop_assert_eq!(base32_decode(&base32_encode(&bytes, CROCKFORD), CROCKFORD).unwrap(), bytes);
        }

        #[test]
        fn numbers_round_trip_through_their_text(bytes in any::<[u8; 5]>()) {
            let n = PassNumber::from_bytes(bytes);
            prop_assert_eq!(PassNumber::parse("n", &n.to_string()).unwrap(), n);
        }

        #[test]
        fn garbage_is_forged_never_a_panic(text in "[A-Z2-7]{0,400}") {
            let k = key(7);
            let t = PassToken(text);
            prop_assert_eq!(verify(&t, &k.public_key(), NOW, None, None, |_| false).verdict, Verdict::Forged);
        }
    }
}
