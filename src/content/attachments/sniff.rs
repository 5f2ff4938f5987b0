//! The allowed attachment types: what the client declares in `Content-Type`, and what the first bytes say the
//! file is, which must agree.

use actix_web::http::header;
use actix_web::HttpRequest;

use crate::error::AppError;

/// Bytes needed to recognise every allowed format.
pub(super) const SNIFF_LEN: usize = 12;

const PDF: &str = "application/pdf";
const PNG: &str = "image/png";
const JPEG: &str = "image/jpeg";
const WEBP: &str = "image/webp";
const GIF: &str = "image/gif";
const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const PPTX: &str = "application/vnd.openxmlformats-officedocument.presentationml.presentation";
const DOC: &str = "application/msword";
const XLS: &str = "application/vnd.ms-excel";
const PPT: &str = "application/vnd.ms-powerpoint";

/// Office Open XML documents are ZIP archives; legacy Office documents are OLE compound files.
const OOXML: [&str; 3] = [DOCX, XLSX, PPTX];
const OLE: [&str; 3] = [DOC, XLS, PPT];
const ALLOWED: [&str; 11] = [PDF, PNG, JPEG, WEBP, GIF, DOCX, XLSX, PPTX, DOC, XLS, PPT];

/// The declared media type, which must be one of the allowed ones.
pub(super) fn declared_type(req: &HttpRequest) -> Result<&'static str, AppError> {
    allowed(req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default())
}

/// A declared media type (parameters aside), if it is one of the allowed ones.
pub(super) fn allowed(content_type: &str) -> Result<&'static str, AppError> {
    let declared = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    ALLOWED.into_iter().find(|allowed| *allowed == declared).ok_or_else(|| {
        AppError::UnsupportedMediaType(format!(
            "attachments are PDF, PNG, JPEG, WebP, GIF or Microsoft Office documents; send the file with its \
             Content-Type (one of {}){}",
            ALLOWED.join(", "),
            if declared.is_empty() { String::new() } else { format!(", not {declared}") }
        ))
    })
}

/// What the first bytes say the file is, which must be what the client declared.
pub(super) fn check_type(head: &[u8], declared: &'static str) -> Result<&'static str, AppError> {
    let sniffed = if head.starts_with(b"%PDF-") {
        PDF
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        PNG
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        JPEG
    } else if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
        WEBP
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        GIF
    } else if head.starts_with(b"PK\x03\x04") {
        if !OOXML.contains(&declared) {
            return Err(AppError::UnsupportedMediaType(format!(
                "the file is a ZIP archive, accepted only as a Word, Excel or PowerPoint document ({}), not {declared}",
                OOXML.join(", ")
            )));
        }
        declared
    } else if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        if !OLE.contains(&declared) {
            return Err(AppError::UnsupportedMediaType(format!(
                "the file is a legacy Office document, accepted only as {}, not {declared}",
                OLE.join(", ")
            )));
        }
        declared
    } else {
        return Err(AppError::UnsupportedMediaType(format!(
            "the file is not a PDF, PNG, JPEG, WebP, GIF or Microsoft Office document (it was sent as {declared})"
        )));
    };
    if sniffed != declared {
        return Err(AppError::UnsupportedMediaType(format!("the file is {sniffed} but was sent as {declared}")));
    }
    Ok(sniffed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_sniffed_and_must_match_the_declared_one() {
        assert_eq!(check_type(b"%PDF-1.7\n...", PDF).unwrap(), PDF);
        assert_eq!(check_type(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", PNG).unwrap(), PNG);
        assert_eq!(check_type(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F'], JPEG).unwrap(), JPEG);
        assert_eq!(check_type(b"RIFF\x10\0\0\0WEBPVP8 ", WEBP).unwrap(), WEBP);
        assert_eq!(check_type(b"GIF89a\x01\0\x01\0", GIF).unwrap(), GIF);
        assert_eq!(check_type(b"PK\x03\x04\x14\0\x06\0", DOCX).unwrap(), DOCX);
        assert_eq!(check_type(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1], XLS).unwrap(), XLS);
        assert!(check_type(b"PK\x03\x04\x14\0\x06\0", PDF).is_err());
        assert!(check_type(b"PK\x03\x04\x14\0\x06\0", DOC).is_err());
        assert!(check_type(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1], DOCX).is_err());
        assert!(check_type(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", PDF).is_err());
        assert!(check_type(b"hello, world", PDF).is_err());
        assert!(check_type(b"RIFF\x10\0\0\0WAVEfmt ", WEBP).is_err());
    }
}
