//! `bluegreen-color`: the two colours of a blue-green environment.
//!
//! One definition for the rollout engine, every platform and the local daemon's
//! wire format. It lives in its own crate because the engine must not depend on a
//! platform's API crate (Azure would then link the local platform's client) and
//! the daemon cannot depend on the provider.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One of the two colours of an environment; serialised lower case (`"blue"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Color {
    /// The blue colour.
    Blue,
    /// The green colour.
    Green,
}

impl Color {
    /// Both colours, blue first.
    pub const ALL: [Color; 2] = [Color::Blue, Color::Green];

    /// The other colour.
    pub fn other(self) -> Color {
        match self {
            Color::Blue => Color::Green,
            Color::Green => Color::Blue,
        }
    }

    /// Lower-case name, as used in URLs, JSON and Terraform attributes.
    pub fn as_str(self) -> &'static str {
        match self {
            Color::Blue => "blue",
            Color::Green => "green",
        }
    }

    /// Position in per-colour arrays (blue 0, green 1).
    pub fn index(self) -> usize {
        match self {
            Color::Blue => 0,
            Color::Green => 1,
        }
    }

    /// Parses exactly `blue` or `green`, as stored in Terraform state; people's input
    /// goes through [`FromStr`], which also accepts other cases.
    pub fn parse(s: &str) -> Option<Color> {
        match s {
            "blue" => Some(Color::Blue),
            "green" => Some(Color::Green),
            _ => None,
        }
    }
}

impl fmt::Display for Color {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a string that is neither `blue` nor `green`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown colour {0:?}: expected \"blue\" or \"green\"")]
pub struct ParseColorError(pub String);

impl FromStr for Color {
    type Err = ParseColorError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "blue" => Ok(Color::Blue),
            "green" => Ok(Color::Green),
            _ => Err(ParseColorError(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_parse_and_print() {
        assert_eq!("Green".parse::<Color>().ok(), Some(Color::Green));
        assert!("red".parse::<Color>().is_err());
        assert_eq!(Color::parse("green"), Some(Color::Green));
        assert_eq!(Color::parse("Green"), None);
        assert_eq!(Color::Blue.other().to_string(), "green");
        assert_eq!(Color::ALL.map(Color::index), [0, 1]);
    }

    #[test]
    fn colours_serialise_lower_case() {
        let json = serde_json::to_string(&Color::ALL).expect("serialise");
        assert_eq!(json, r#"["blue","green"]"#);
        let back: Vec<Color> = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, Color::ALL);
        assert!(serde_json::from_str::<Color>(r#""Blue""#).is_err());
    }
}
