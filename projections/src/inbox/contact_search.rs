//! How contacts are found by text: the lexemes a contact is indexed under and the query a
//! search text becomes.
//!
//! A contact is indexed under the words of its name, e-mail and Instagram id (lower case,
//! split at anything not a letter or digit), its whole e-mail and Instagram id, and every
//! tail of its phone's digits from three digits up. A search matches when each of its words
//! is one of those lexemes, the last one as a prefix (the word being typed): `budi san` finds
//! Budi Santoso, `3456` and `+62 812-3456` find +6281234567890. Unlike a substring match,
//! this is answered by the GIN index in well under a millisecond even when every contact
//! shares a word: the whole words are looked up exactly, and only the last is expanded.

/// Phone tails shorter than this are not indexed (every phone has them).
const MIN_PHONE_TAIL: usize = 3;

/// The lexemes a contact is indexed under, sorted and without duplicates.
pub fn lexemes(
    name: Option<&str>,
    phone: Option<&str>,
    email: Option<&str>,
    instagram_id: Option<&str>,
) -> Vec<String> {
    let mut out = Vec::new();
    for text in [name, email, instagram_id].into_iter().flatten() {
        out.extend(words(text));
    }
    for whole in [email, instagram_id].into_iter().flatten() {
        let whole = whole.trim().to_lowercase();
        if !whole.is_empty() {
            out.push(whole);
        }
    }
    if let Some(phone) = phone {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        for start in 0..digits.len().saturating_sub(MIN_PHONE_TAIL - 1) {
            out.push(digits[start..].to_owned());
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The terms a search text looks for in contacts, each with whether it is a prefix.
///
/// A text of digits and phone punctuation (`+62 812-3456`) is one prefix of phone digits;
/// otherwise every word must be a lexeme and the last may be the start of one.
pub fn terms(text: &str) -> Vec<(String, bool)> {
    let text = text.trim();
    let phone_like =
        text.chars().any(|c| c.is_ascii_digit()) && text.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
    let mut terms: Vec<(String, bool)> = if phone_like {
        vec![(text.chars().filter(char::is_ascii_digit).collect(), false)]
    } else {
        words(text).map(|w| (w, false)).collect()
    };
    if let Some(last) = terms.last_mut() {
        last.1 = true;
    }
    terms
}

/// The `tsquery` a search text becomes (see [`terms`]), or `None` when it has no word to
/// look for.
pub fn tsquery(text: &str) -> Option<String> {
    let terms = terms(text);
    (!terms.is_empty()).then(|| tsquery_of(&terms))
}

/// The `tsquery` matching every one of these terms.
pub fn tsquery_of(terms: &[(String, bool)]) -> String {
    // Terms are letters and digits only: nothing in them needs escaping.
    let quoted: Vec<String> = terms
        .iter()
        .map(|(term, prefix)| {
            if *prefix {
                format!("'{term}':*")
            } else {
                format!("'{term}'")
            }
        })
        .collect();
    quoted.join(" & ")
}

/// The least string after every string that starts with `prefix`, in byte order (`COLLATE
/// "C"`): the end of the prefix's range in an index of lexemes. Its last character, the next
/// one up; an empty prefix, or one ending in the last character there is, has no such end.
pub fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars = prefix.chars();
    let last = chars.next_back()?;
    // Past the surrogates, which are no characters, when the next one up is one.
    let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32)?;
    Some(format!("{}{next}", chars.as_str()))
}

/// The lower-case words of a text: runs of letters and digits.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contact_is_indexed_under_its_words_whole_addresses_and_phone_tails() {
        let lexemes = lexemes(
            Some("Budi Santoso"),
            Some("+6281234"),
            Some("Budi.S@Example.com"),
            Some("budi_s"),
        );
        for expected in [
            "budi",
            "santoso",
            "s",
            "example",
            "com",
            "budi.s@example.com",
            "budi_s",
            "6281234",
            "81234",
            "234",
        ] {
            assert!(lexemes.contains(&expected.to_owned()), "{expected} in {lexemes:?}");
        }
        assert!(!lexemes.contains(&"34".to_owned()), "tails shorter than three digits");
        let mut sorted = lexemes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, lexemes);
    }

    #[test]
    fn a_contact_without_fields_has_no_lexemes() {
        assert!(lexemes(None, None, None, None).is_empty());
        assert!(lexemes(Some("  "), Some("+"), None, None).is_empty());
    }

    #[test]
    fn the_last_word_is_a_prefix_and_phone_numbers_are_one_term() {
        assert_eq!(tsquery("Budi San").as_deref(), Some("'budi' & 'san':*"));
        assert_eq!(tsquery("+62 812-3456").as_deref(), Some("'628123456':*"));
        assert_eq!(tsquery("3456").as_deref(), Some("'3456':*"));
        assert_eq!(tsquery("Customer 1234").as_deref(), Some("'customer' & '1234':*"));
        assert_eq!(tsquery("o'neil").as_deref(), Some("'o' & 'neil':*"));
        assert_eq!(tsquery("José").as_deref(), Some("'josé':*"));
    }

    #[test]
    fn a_prefix_range_ends_before_the_first_string_it_does_not_start() {
        assert_eq!(prefix_end("2000").as_deref(), Some("2001"));
        assert_eq!(prefix_end("budi").as_deref(), Some("budj"));
        assert_eq!(prefix_end("9").as_deref(), Some(":"));
        assert_eq!(prefix_end("a\u{d7ff}").as_deref(), Some("a\u{e000}"));
        assert_eq!(prefix_end("a\u{10ffff}"), None);
        assert_eq!(prefix_end(""), None);
        // In byte order, everything the prefix starts lies in [prefix, end), nothing else.
        let end = prefix_end("2000").unwrap();
        for inside in ["2000", "20000", "2000999", "2000\u{10ffff}"] {
            assert!(inside >= "2000" && inside < end.as_str(), "{inside}");
        }
        for outside in ["200", "2001", "1999", "20010"] {
            assert!(!(outside >= "2000" && outside < end.as_str()), "{outside}");
        }
    }

    #[test]
    fn a_text_without_words_is_no_query() {
        assert_eq!(tsquery("  ").as_deref(), None);
        assert_eq!(tsquery("-- !").as_deref(), None);
        assert_eq!(tsquery("+ -").as_deref(), None);
    }
}
