//! Files that go with orders: the attachment HQ sends with an order (an
//! image or a PDF) and the photo a recipient sends with an answer. What a
//! file is comes from its first bytes, never from its name or the type the
//! client claims, so that a page never serves a script as an image.

use crate::FieldError;
use crate::checkpoint::choice_enum;

choice_enum! {
    /// The kinds of file accepted.
    AttachmentType {
        /// A JPEG photo.
        Jpeg = "image/jpeg",
        /// A PNG image.
        Png = "image/png",
        /// A WebP image.
        Webp = "image/webp",
        /// A PDF document.
        Pdf = "application/pdf",
    }
}

impl AttachmentType {
    /// What `bytes` are, by their signature; `None` for anything else.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
            Some(Self::Webp)
        } else if bytes.starts_with(b"%PDF-") {
            Some(Self::Pdf)
        } else {
            None
        }
    }

    /// Whether it is a picture (a phone's photo may only be one).
    pub fn is_image(self) -> bool {
        !matches!(self, Self::Pdf)
    }
}

/// A file's name as kept: the last part of whatever path the client sent,
/// without control characters, at most 120 characters; `fallback` when
/// nothing is left.
pub fn clean_name(raw: &str, fallback: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let name: String = last.chars().filter(|c| !c.is_control()).take(120).collect();
    let name = name.trim();
    if name.is_empty() { fallback.to_owned() } else { name.to_owned() }
}

/// Checks a file of `len` bytes starting with `head` against `max` bytes;
/// what it is, or the refusal naming `field`.
pub fn check(field: &str, head: &[u8], len: usize, max: usize) -> Result<AttachmentType, FieldError> {
    if len == 0 {
        return Err(FieldError::new(field, "required"));
    }
    if len > max {
        return Err(FieldError::new(field, "file_too_large").arg("max_kib", max / 1024));
    }
    AttachmentType::sniff(head).ok_or_else(|| {
        FieldError::new(field, "unsupported_file")
            .arg("choices", AttachmentType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_what_its_first_bytes_say() {
        assert_eq!(AttachmentType::sniff(b"\xFF\xD8\xFF\xE0rest"), Some(AttachmentType::Jpeg));
        assert_eq!(AttachmentType::sniff(b"\x89PNG\r\n\x1a\n...."), Some(AttachmentType::Png));
        assert_eq!(AttachmentType::sniff(b"RIFF\x10\0\0\0WEBPVP8 "), Some(AttachmentType::Webp));
        assert_eq!(AttachmentType::sniff(b"%PDF-1.7\n"), Some(AttachmentType::Pdf));
        assert_eq!(AttachmentType::sniff(b"<svg onload=alert(1)>"), None);
        assert_eq!(AttachmentType::sniff(b"RIFF\x10\0\0\0WAVE"), None);
        assert!(!AttachmentType::Pdf.is_image() && AttachmentType::Png.is_image());
    }

    #[test]
    fn an_empty_an_oversized_or_an_unknown_file_is_refused_by_field() {
        assert_eq!(check("file", b"", 0, 10).unwrap_err().code, "required");
        let big = check("file", b"%PDF-", 2048 + 1, 2048).unwrap_err();
        assert_eq!((big.code, big.args[0].1.as_str()), ("file_too_large", "2"));
        assert_eq!(check("photo", b"GIF89a", 6, 2048).unwrap_err().field, "photo");
        assert_eq!(check("file", b"%PDF-1.4", 8, 2048), Ok(AttachmentType::Pdf));
    }

    #[test]
    fn a_name_keeps_only_its_last_part_without_control_characters() {
        assert_eq!(clean_name("C:\\Users\\hq\\通知.pdf", "file"), "通知.pdf");
        assert_eq!(clean_name("../../etc/passwd", "file"), "passwd");
        assert_eq!(clean_name("a\u{0}b\nc.png", "file"), "abc.png");
        assert_eq!(clean_name("  ", "photo.jpg"), "photo.jpg");
        assert_eq!(clean_name(&"长".repeat(300), "f").chars().count(), 120);
    }
}
