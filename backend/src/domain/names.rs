//! Names people type: slugs and team (IdP group) names; and the one rule every text
//! Wharf stores keeps.

use serde::{Deserialize, Serialize};

use super::Invalid;

/// A URL-safe identifier: lowercase letters, digits and single hyphens, 2–64 characters.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(try_from = "String", into = "String")]
#[schema(example = "sales-orders")]
pub struct Slug(String);

impl Slug {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let ok_chars = text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !(2..=64).contains(&text.len())
            || !ok_chars
            || text.starts_with('-')
            || text.ends_with('-')
            || text.contains("--")
        {
            return Err(Invalid::new(
                "slug",
                "use 2–64 lowercase letters, digits and single hyphens, e.g. \"sales-orders\"",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// Derive a slug from a display name ("Sales & Marketing" → "sales-marketing").
    pub fn from_name(name: &str) -> Result<Self, Invalid> {
        let mut slug = String::new();
        for c in name.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        slug.truncate(64);
        Self::parse(slug.trim_end_matches('-'))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Slug {
    type Error = Invalid;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Slug> for String {
    fn from(slug: Slug) -> Self {
        slug.0
    }
}

impl std::fmt::Display for Slug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A team is an IdP group; its name is the group's name as the token carries it.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(try_from = "String", into = "String")]
#[schema(example = "sales-data")]
pub struct TeamName(String);

impl TeamName {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.len() > 128 || trimmed.chars().any(char::is_control) {
            return Err(Invalid::new(
                "team",
                "a team name is 1–128 printable characters",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TeamName {
    type Error = Invalid;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TeamName> for String {
    fn from(name: TeamName) -> Self {
        name.0
    }
}

impl std::fmt::Display for TeamName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What is wrong with text that [`is_storable_text`] refuses.
pub const UNSTORABLE_TEXT: &str = "must not contain the NUL character (U+0000)";

/// Whether both databases store this text alike. PostgreSQL refuses U+0000 in `text` and
/// `jsonb` (the one code point of valid UTF-8 it cannot store) while SQLite keeps it, so
/// text with it is refused wherever it comes in, on either database: the HTTP edge checks
/// every string of a body, query and path; the parsers below check it again for callers
/// that do not come through there.
pub fn is_storable_text(text: &str) -> bool {
    !text.contains('\0')
}

/// [`is_storable_text`] as a step of parsing the field `field`.
pub fn check_storable_text(field: &'static str, text: &str) -> Result<(), Invalid> {
    if is_storable_text(text) {
        Ok(())
    } else {
        Err(Invalid::new(field, UNSTORABLE_TEXT))
    }
}

/// A display name: trimmed, 1–200 characters.
pub fn parse_display_name(field: &'static str, text: &str) -> Result<String, Invalid> {
    check_storable_text(field, text)?;
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 200 {
        return Err(Invalid::new(field, "must be 1–200 characters"));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(Slug::parse("sales-orders").is_ok());
        for bad in ["", "a", "Sales", "sales--orders", "-x", "x-", "a b", "ö-x"] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Slug::from_name("Sales & Marketing!").unwrap().as_str(),
            "sales-marketing"
        );
    }

    #[test]
    fn team_names() {
        assert_eq!(TeamName::parse(" analysts ").unwrap().as_str(), "analysts");
        assert!(TeamName::parse("").is_err());
        assert!(TeamName::parse("a\nb").is_err());
        assert!(TeamName::parse("a\0b").is_err());
    }

    #[test]
    fn text_with_a_nul_is_not_storable() {
        assert!(is_storable_text("Sales \\u0000 ünïcode ✓"));
        assert!(!is_storable_text("Sa\0les"));
        assert_eq!(
            parse_display_name("name", "Sa\0les").unwrap_err(),
            Invalid::new("name", UNSTORABLE_TEXT)
        );
        assert_eq!(parse_display_name("name", " Sales ").unwrap(), "Sales");
    }
}
