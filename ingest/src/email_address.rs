//! Reading e-mail addresses as providers hand them over: `"Name" <addr>` headers and
//! plus-addressed recipients (`support+<hash>@...`).

/// The display name of a `From` header such as `"Budi Santoso" <budi@example.test>`.
pub fn display_name(from: &str) -> Option<String> {
    let (name, _) = from.split_once('<')?;
    let name = name.trim().trim_matches('"').trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// The address of a header value such as `"Budi" <Budi@Example.test>`, lower-cased.
pub fn bare_address(value: &str) -> String {
    let value = value.trim();
    let inner = match (value.rfind('<'), value.rfind('>')) {
        (Some(open), Some(close)) if open < close => &value[open + 1..close],
        _ => value,
    };
    inner.trim().to_lowercase()
}

/// What follows `+` in an address's local part, if anything.
pub fn plus_hash(address: &str) -> Option<String> {
    let (local, _) = address.split_once('@')?;
    let (_, hash) = local.split_once('+')?;
    let hash = hash.trim();
    (!hash.is_empty()).then(|| hash.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_addresses_and_plus_parts_are_read() {
        assert_eq!(display_name("\"Siti Rahma\" <s@x.test>").as_deref(), Some("Siti Rahma"));
        assert_eq!(display_name("s@x.test"), None);
        assert_eq!(bare_address("Siti <Siti@X.test>"), "siti@x.test");
        assert_eq!(bare_address(" S@X.test "), "s@x.test");
        assert_eq!(plus_hash("help+c7@acme.test").as_deref(), Some("c7"));
        assert_eq!(plus_hash("help@acme.test"), None);
    }
}
