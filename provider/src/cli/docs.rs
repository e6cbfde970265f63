//! `terraform-provider-bluegreen docs`: registry-format documentation
//! generated from the schema descriptions and the files under `examples/`,
//! in the layout the Terraform Registry reads (`docs/index.md`,
//! `docs/resources/<name>.md`, `docs/data-sources/<name>.md`). Behaviour
//! that no single argument's description can carry (how the Azure lock works,
//! which Front Door rules a split writes) is prose in a `notes.md` beside the
//! example, placed between the example and the schema.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use tfplugin::provider::Provider;
use tfplugin::schema::{Attribute, Block, BlockNesting, ObjectNesting, Schema};
use tfplugin::Type;

/// Writes every page; returns the files written.
pub fn write_docs(
    provider: &dyn Provider,
    examples: &Path,
    out: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let name = provider.type_name().to_string();
    let index = render_page(
        &format!("{name} Provider"),
        &format!("{name} Provider"),
        &provider.schema(),
        Page {
            example: read_optional(&examples.join("provider/provider.tf"))?,
            notes: read_optional(&examples.join("provider/notes.md"))?,
            import: None,
        },
    );
    written.push(write(out.join("index.md"), &index)?);
    for r in provider.resources() {
        let short = r
            .type_name()
            .strip_prefix(&format!("{name}_"))
            .unwrap_or(r.type_name())
            .to_string();
        let dir = examples.join("resources").join(r.type_name());
        let page = render_page(
            &format!("{} Resource - terraform-provider-{name}", r.type_name()),
            &format!("{} (Resource)", r.type_name()),
            &r.schema(),
            Page {
                example: read_optional(&dir.join("resource.tf"))?,
                notes: read_optional(&dir.join("notes.md"))?,
                import: read_optional(&dir.join("import.sh"))?,
            },
        );
        written.push(write(
            out.join("resources").join(format!("{short}.md")),
            &page,
        )?);
    }
    for d in provider.data_sources() {
        let short = d
            .type_name()
            .strip_prefix(&format!("{name}_"))
            .unwrap_or(d.type_name())
            .to_string();
        let dir = examples.join("data-sources").join(d.type_name());
        let page = render_page(
            &format!("{} Data Source - terraform-provider-{name}", d.type_name()),
            &format!("{} (Data Source)", d.type_name()),
            &d.schema(),
            Page {
                example: read_optional(&dir.join("data-source.tf"))?,
                notes: read_optional(&dir.join("notes.md"))?,
                import: None,
            },
        );
        written.push(write(
            out.join("data-sources").join(format!("{short}.md")),
            &page,
        )?);
    }
    Ok(written)
}

fn read_optional(path: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn write(path: PathBuf, text: &str) -> anyhow::Result<PathBuf> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// The hand-written parts of a page, from `examples/`.
#[derive(Debug, Default)]
pub struct Page {
    /// `resource.tf` (or `provider.tf`, `data-source.tf`).
    pub example: Option<String>,
    /// `notes.md`: Markdown sections (`## …`) after the example.
    pub notes: Option<String>,
    /// `import.sh`.
    pub import: Option<String>,
}

/// One registry page: front matter, description, example, notes, schema, import.
pub fn render_page(page_title: &str, heading: &str, schema: &Schema, page: Page) -> String {
    let Page {
        example,
        notes,
        import,
    } = page;
    let description = schema.block.description.trim();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "---\npage_title: \"{page_title}\"\nsubcategory: \"\"\ndescription: |-\n  {}\n---\n",
        description.replace('\n', "\n  ")
    );
    let _ = writeln!(s, "# {heading}\n");
    if !description.is_empty() {
        let _ = writeln!(s, "{description}\n");
    }
    if let Some(example) = example {
        let _ = writeln!(
            s,
            "## Example Usage\n\n```terraform\n{}\n```\n",
            example.trim_end()
        );
    }
    if let Some(notes) = notes {
        let _ = writeln!(s, "{}\n", notes.trim());
    }
    s.push_str("## Schema\n");
    render_block(&mut s, &schema.block, "");
    if let Some(import) = import {
        let _ = writeln!(
            s,
            "\n## Import\n\nImport is supported using the following syntax:\n\n```shell\n{}\n```",
            import.trim_end()
        );
    }
    s
}

/// Which attributes a section of the schema page lists.
type Section = (&'static str, fn(&Attribute) -> bool);

fn render_block(s: &mut String, block: &Block, anchor_prefix: &str) {
    let mut nested_sections: Vec<(String, String, Block)> = Vec::new();
    let groups: [Section; 3] = [
        ("Required", |a| a.required),
        ("Optional", |a| a.optional),
        ("Read-Only", |a| a.computed && !a.optional && !a.required),
    ];
    for (title, pred) in groups {
        let attrs: Vec<&Attribute> = block.attributes.iter().filter(|a| pred(a)).collect();
        let blocks: Vec<_> = block
            .blocks
            .iter()
            .filter(|b| match title {
                "Required" => b.min_items > 0,
                "Optional" => b.min_items == 0,
                _ => false,
            })
            .collect();
        if attrs.is_empty() && blocks.is_empty() {
            continue;
        }
        let _ = writeln!(s, "\n### {title}\n");
        for a in attrs {
            let mut line = format!("- `{}` ({}", a.name, type_label(a));
            if a.sensitive {
                line.push_str(", Sensitive");
            }
            if a.deprecated {
                line.push_str(", Deprecated");
            }
            line.push(')');
            if !a.description.is_empty() {
                let _ = write!(line, " {}", a.description.trim());
            }
            if let Some(default) = a.default.as_ref().and_then(default_text) {
                let _ = write!(line, " Defaults to `{default}`.");
            }
            if let Some(nested) = &a.nested {
                let anchor = format!("{anchor_prefix}nestedatt--{}", a.name);
                let _ = write!(line, " (see [below for nested schema](#{anchor}))");
                let mut b = Block::new();
                b.attributes = nested.attributes.clone();
                nested_sections.push((anchor, a.name.clone(), b));
            }
            let _ = writeln!(s, "{line}");
        }
        for b in blocks {
            let anchor = format!("{anchor_prefix}nestedblock--{}", b.name);
            let kind = match b.nesting {
                BlockNesting::Single | BlockNesting::Group => "Block",
                BlockNesting::List => "Block List",
                BlockNesting::Set => "Block Set",
                BlockNesting::Map => "Block Map",
            };
            let mut line = format!("- `{}` ({kind}", b.name);
            if b.max_items > 0 && !matches!(b.nesting, BlockNesting::Single | BlockNesting::Group) {
                let _ = write!(line, ", Max: {}", b.max_items);
            }
            line.push(')');
            if !b.block.description.is_empty() {
                let _ = write!(line, " {}", b.block.description.trim());
            }
            let _ = writeln!(s, "{line} (see [below for nested schema](#{anchor}))");
            nested_sections.push((anchor, b.name.clone(), b.block.clone()));
        }
    }
    for (anchor, name, b) in nested_sections {
        let _ = writeln!(
            s,
            "\n<a id=\"{anchor}\"></a>\n### Nested Schema for `{}{name}`",
            anchor_path(anchor_prefix)
        );
        render_block(s, &b, &format!("{anchor}--"));
    }
}

fn anchor_path(prefix: &str) -> String {
    // "nestedblock--a--nestedatt--b--" → "a.b."
    prefix
        .split("--")
        .filter(|p| !p.is_empty() && !p.starts_with("nested"))
        .map(|p| format!("{p}."))
        .collect()
}

fn default_text(v: &tfplugin::Value) -> Option<String> {
    match v {
        tfplugin::Value::String(s) => Some(format!("{s:?}")),
        tfplugin::Value::Bool(b) => Some(b.to_string()),
        tfplugin::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn type_label(a: &Attribute) -> String {
    if let Some(n) = &a.nested {
        return match n.nesting {
            ObjectNesting::Single => "Attributes".into(),
            ObjectNesting::List => "Attributes List".into(),
            ObjectNesting::Set => "Attributes Set".into(),
            ObjectNesting::Map => "Attributes Map".into(),
        };
    }
    type_name(&a.ty)
}

fn type_name(t: &Type) -> String {
    match t {
        Type::Bool => "Boolean".into(),
        Type::Number => "Number".into(),
        Type::String => "String".into(),
        Type::Dynamic => "Dynamic".into(),
        Type::List(e) => format!("List of {}", type_name(e)),
        Type::Set(e) => format!("Set of {}", type_name(e)),
        Type::Map(e) => format!("Map of {}", type_name(e)),
        Type::Object(_) => "Object".into(),
        Type::Tuple(_) => "Tuple".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::schema::NestedBlock;

    #[test]
    fn page_lists_attributes_by_kind_with_nested_sections() {
        let schema = Schema::new(
            Block::new()
                .description("An app.")
                .attr(
                    Attribute::string("name")
                        .required()
                        .description("Its name."),
                )
                .attr(Attribute::string("secret").optional().sensitive())
                .attr(Attribute::string("id").computed())
                .block(NestedBlock::single(
                    "local",
                    Block::new()
                        .attr(Attribute::new("command", Type::list(Type::String)).required()),
                )),
        );
        let page = render_page(
            "t",
            "x (Resource)",
            &schema,
            Page {
                example: Some("resource \"x\" \"y\" {}".into()),
                notes: Some("## Locking\n\nOne at a time.\n".into()),
                import: Some("terraform import x.y id".into()),
            },
        );
        let (example, notes, schema_at) = (
            page.find("## Example Usage").expect("example"),
            page.find("## Locking\n\nOne at a time.\n").expect("notes"),
            page.find("## Schema").expect("schema"),
        );
        assert!(example < notes && notes < schema_at, "{page}");
        assert!(
            page.contains("### Required\n\n- `name` (String) Its name."),
            "{page}"
        );
        assert!(page.contains("- `secret` (String, Sensitive)"), "{page}");
        assert!(page.contains("### Read-Only\n\n- `id` (String)"), "{page}");
        assert!(page.contains("### Nested Schema for `local`"), "{page}");
        assert!(page.contains("- `command` (List of String)"), "{page}");
        assert!(page.contains("## Import"), "{page}");
    }
}
