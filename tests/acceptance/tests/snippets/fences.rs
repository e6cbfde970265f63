//! Fenced code blocks of a Markdown file, with where they start.

/// One fenced code block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// The info string's first word: `hcl`, `terraform`, `sh`, …
    pub lang: String,
    /// 1-based line of the opening fence.
    pub line: usize,
    /// The lines between the fences.
    pub text: String,
}

impl Fence {
    /// A Terraform configuration snippet (```hcl or ```terraform).
    pub fn is_hcl(&self) -> bool {
        matches!(self.lang.as_str(), "hcl" | "terraform" | "tf")
    }
}

/// Every fenced block of `markdown` (backtick or tilde fences, as CommonMark:
/// a block closes at a fence of the same character at least as long).
pub fn fences(markdown: &str) -> Vec<Fence> {
    let mut out = Vec::new();
    let mut open: Option<(char, usize, Fence)> = None;
    for (index, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        let marker = trimmed.chars().next().filter(|c| *c == '`' || *c == '~');
        let run = marker.map_or(0, |c| trimmed.chars().take_while(|x| *x == c).count());
        match (&mut open, marker) {
            (Some((c, len, _)), Some(m))
                if m == *c && run >= *len && trimmed[run..].trim().is_empty() =>
            {
                if let Some((_, _, fence)) = open.take() {
                    out.push(fence);
                }
            }
            (Some((_, _, fence)), _) => {
                fence.text.push_str(line);
                fence.text.push('\n');
            }
            (None, Some(m)) if run >= 3 => {
                let lang = trimmed[run..]
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase();
                let fence = Fence {
                    lang,
                    line: index + 1,
                    text: String::new(),
                };
                open = Some((m, run, fence));
            }
            (None, _) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_fences_with_their_language_and_line() {
        let md = "# t\n\n```hcl\nresource \"a\" \"b\" {}\n```\n\ntext\n\n~~~sh\nmake\n~~~\n````terraform\n```\ninner\n```\n````\n";
        let found = fences(md);
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(found[0].lang, "hcl");
        assert_eq!(found[0].line, 3);
        assert_eq!(found[0].text, "resource \"a\" \"b\" {}\n");
        assert!(found[0].is_hcl());
        assert_eq!(found[1].lang, "sh");
        assert!(!found[1].is_hcl());
        assert_eq!(found[2].lang, "terraform");
        assert_eq!(found[2].text, "```\ninner\n```\n");
    }
}
