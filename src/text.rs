//! Vietnamese text: kept as sent (NFC), and folded for search so that "nguyen van a" finds "Nguyễn Văn A".

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

/// The canonical composed form every stored text takes.
pub fn nfc(text: &str) -> String {
    text.nfc().collect()
}

/// NFC, trimmed, inner runs of white space made one space.
pub fn clean(text: &str) -> String {
    let trimmed = text.trim();
    // The common case, already clean, costs one scan and one copy: imports call this millions of times.
    let tidy = !trimmed.contains("  ") && !trimmed.contains(['\t', '\n', '\r']);
    if tidy && is_nfc_quick(trimmed.chars()) == IsNormalized::Yes {
        return trimmed.to_owned();
    }
    nfc(trimmed).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Lower case, without diacritics (đ becomes d), white space collapsed: the key that search compares.
pub fn fold(text: &str) -> String {
    let folded: String = text
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .map(|c| match c {
            'đ' | 'Đ' => 'd',
            other => other,
        })
        .flat_map(char::to_lowercase)
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A LIKE pattern that matches `needle` anywhere, with LIKE's own wildcards escaped (ESCAPE '\').
pub fn contains_pattern(needle: &str) -> String {
    let escaped = needle.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_drops_diacritics_and_case() {
        assert_eq!(fold("Nguyễn Văn Đức"), "nguyen van duc");
        assert_eq!(fold("  NGHỊ   quyết "), "nghi quyet");
        assert_eq!(fold(&nfc("Hoà")), fold("Hoà"));
    }

    #[test]
    fn nfc_composes() {
        let decomposed = "Nguye\u{0302}\u{0303}n";
        assert_eq!(nfc(decomposed), "Nguyễn");
        assert_eq!(clean("  Trần   Thị  "), "Trần Thị");
    }
}
