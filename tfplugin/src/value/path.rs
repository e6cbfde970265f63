//! Attribute paths: where in a value a diagnostic or a replacement points.

use crate::proto::tfplugin6 as pb;

/// One step into a value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathStep {
    /// An object attribute or nested block name.
    Attr(String),
    /// A map key (or a map-nested block key).
    Key(String),
    /// A list or tuple index.
    Index(i64),
}

/// A path from the root of a config, plan or state value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AttributePath(pub Vec<PathStep>);

impl AttributePath {
    /// The empty path (the whole value).
    pub fn root() -> Self {
        Self(Vec::new())
    }
    /// A path of one attribute.
    pub fn attr(name: impl Into<String>) -> Self {
        Self(vec![PathStep::Attr(name.into())])
    }
    /// This path extended by an attribute.
    #[must_use]
    pub fn then_attr(mut self, name: impl Into<String>) -> Self {
        self.0.push(PathStep::Attr(name.into()));
        self
    }
    /// This path extended by a map key.
    #[must_use]
    pub fn then_key(mut self, key: impl Into<String>) -> Self {
        self.0.push(PathStep::Key(key.into()));
        self
    }
    /// This path extended by a list index.
    #[must_use]
    pub fn then_index(mut self, index: i64) -> Self {
        self.0.push(PathStep::Index(index));
        self
    }
    /// Parses a dotted path such as `local.command[0]` or `tags["a"]`.
    pub fn parse(s: &str) -> Self {
        let mut steps = Vec::new();
        for part in s.split('.') {
            let mut rest = part;
            if let Some(i) = rest.find('[') {
                if i > 0 {
                    steps.push(PathStep::Attr(rest[..i].to_string()));
                }
                rest = &rest[i..];
                while let Some(end) = rest.find(']') {
                    let inner = &rest[1..end];
                    if let Ok(n) = inner.parse::<i64>() {
                        steps.push(PathStep::Index(n));
                    } else {
                        steps.push(PathStep::Key(inner.trim_matches('"').to_string()));
                    }
                    rest = &rest[end + 1..];
                    if !rest.starts_with('[') {
                        break;
                    }
                }
            } else if !rest.is_empty() {
                steps.push(PathStep::Attr(rest.to_string()));
            }
        }
        Self(steps)
    }
    /// The protocol form.
    pub fn to_proto(&self) -> pb::AttributePath {
        use pb::attribute_path::step::Selector;
        pb::AttributePath {
            steps: self
                .0
                .iter()
                .map(|s| pb::attribute_path::Step {
                    selector: Some(match s {
                        PathStep::Attr(n) => Selector::AttributeName(n.clone()),
                        PathStep::Key(k) => Selector::ElementKeyString(k.clone()),
                        PathStep::Index(i) => Selector::ElementKeyInt(*i),
                    }),
                })
                .collect(),
        }
    }
    /// From the protocol form; steps without a selector are skipped.
    pub fn from_proto(p: &pb::AttributePath) -> Self {
        use pb::attribute_path::step::Selector;
        Self(
            p.steps
                .iter()
                .filter_map(|s| {
                    s.selector.as_ref().map(|sel| match sel {
                        Selector::AttributeName(n) => PathStep::Attr(n.clone()),
                        Selector::ElementKeyString(k) => PathStep::Key(k.clone()),
                        Selector::ElementKeyInt(i) => PathStep::Index(*i),
                    })
                })
                .collect(),
        )
    }
}

impl std::fmt::Display for AttributePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Attr(n) if i == 0 => f.write_str(n)?,
                PathStep::Attr(n) => write!(f, ".{n}")?,
                PathStep::Key(k) => write!(f, "[{k:?}]")?,
                PathStep::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}
