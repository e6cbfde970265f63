//! The expand/contract rules, one statement (or `ALTER TABLE` action) at a
//! time. Anything not named here is `expand`: new objects, nullable or
//! defaulted columns, indexes, comments, grants, data changes.

use squawk_syntax::ast::{self, AstNode};
use squawk_syntax::{SyntaxKind as K, SyntaxNode};

use super::Class;

/// One rule that matched, at a byte offset of the file.
pub(super) struct Hit {
    pub class: Class,
    pub rule: &'static str,
    pub message: String,
    pub offset: usize,
}

/// Every rule name this module can report, for documentation and tests.
pub const RULES: &[(&str, Class)] = &[
    ("drop-table", Class::Contract),
    ("drop-column", Class::Contract),
    ("drop-view", Class::Contract),
    ("drop-function", Class::Contract),
    ("drop-type", Class::Contract),
    ("drop-schema", Class::Contract),
    ("drop-sequence", Class::Contract),
    ("drop-trigger", Class::Contract),
    ("drop-policy", Class::Contract),
    ("drop-extension", Class::Contract),
    ("drop-database", Class::Contract),
    ("drop-object", Class::Contract),
    ("drop-constraint", Class::Contract),
    ("drop-default", Class::Contract),
    ("drop-generated-expression", Class::Contract),
    ("drop-identity", Class::Contract),
    ("rename-table", Class::Contract),
    ("rename-column", Class::Contract),
    ("rename-constraint", Class::Contract),
    ("rename-object", Class::Contract),
    ("rename-enum-value", Class::Contract),
    ("set-schema", Class::Contract),
    ("change-column-type", Class::Contract),
    ("alter-type-attribute", Class::Contract),
    ("set-not-null", Class::Contract),
    ("add-required-column", Class::Contract),
    ("add-check-constraint", Class::Contract),
    ("add-foreign-key", Class::Contract),
    ("add-unique-constraint", Class::Contract),
    ("add-primary-key", Class::Contract),
    ("add-exclusion-constraint", Class::Contract),
    ("add-not-null-constraint", Class::Contract),
    ("add-domain-constraint", Class::Contract),
    ("add-unique-index", Class::Contract),
    ("detach-partition", Class::Contract),
    ("enable-row-level-security", Class::Contract),
    ("restrictive-policy", Class::Contract),
    ("truncate", Class::Contract),
    ("revoke", Class::Contract),
    ("do-block", Class::Unknown),
    ("dynamic-sql", Class::Unknown),
    ("procedure-call", Class::Unknown),
    ("opaque-function-call", Class::Unknown),
    ("trigger-on-writes", Class::Unknown),
    ("parse-error", Class::Unknown),
];

/// Functions a migration calls through `SELECT` whose effect is known:
/// pg_dump's session settings and sequence positions.
const KNOWN_FUNCTIONS: &[&str] = &[
    "set_config",
    "setval",
    "nextval",
    "currval",
    "current_setting",
    "now",
    "version",
];

/// Offset of the first non-trivia token of `node`.
fn start(node: &SyntaxNode) -> usize {
    node.descendants_with_tokens()
        .find(|e| e.as_token().is_some_and(|t| !t.kind().is_trivia()))
        .map_or_else(
            || usize::from(node.text_range().start()),
            |e| usize::from(e.text_range().start()),
        )
}

/// The node's SQL on one line, shortened for messages.
fn snippet(node: &SyntaxNode) -> String {
    let text = node.text().to_string();
    let one_line: Vec<&str> = text.split_whitespace().collect();
    let mut s = one_line.join(" ");
    s = s.trim_end_matches(';').trim_end().to_string();
    const MAX: usize = 80;
    if s.chars().count() > MAX {
        s = s.chars().take(MAX - 1).collect::<String>() + "…";
    }
    format!("`{s}`")
}

fn has(node: &SyntaxNode, kind: K) -> bool {
    node.descendants_with_tokens().any(|e| e.kind() == kind)
}

struct Hits<'a>(&'a mut Vec<Hit>);

impl Hits<'_> {
    fn add(&mut self, class: Class, rule: &'static str, node: &SyntaxNode, why: &str) {
        self.0.push(Hit {
            class,
            rule,
            message: format!("{} {why}", snippet(node)),
            offset: start(node),
        });
    }
    fn contract(&mut self, rule: &'static str, node: &SyntaxNode, why: &str) {
        self.add(Class::Contract, rule, node, why);
    }
    fn unknown(&mut self, rule: &'static str, node: &SyntaxNode, why: &str) {
        self.add(Class::Unknown, rule, node, why);
    }
}

/// The rules that match one top-level statement node.
pub(super) fn classify(node: &SyntaxNode) -> Vec<Hit> {
    let mut out = Vec::new();
    let mut hits = Hits(&mut out);
    let Some(stmt) = ast::Stmt::cast(node.clone()) else {
        return out;
    };
    match stmt {
        ast::Stmt::AlterTable(t) => {
            for action in t.actions() {
                alter_table_action(&action, &mut hits);
            }
        }
        ast::Stmt::AlterType(t) => alter_type(&t, &mut hits),
        ast::Stmt::AlterDomain(d) => alter_domain(&d, &mut hits),
        ast::Stmt::CreateIndex(i) if i.unique_token().is_some() => hits.contract(
            "add-unique-index",
            node,
            "makes the previous release's writes that duplicate a value fail (and fails itself if existing rows do)",
        ),
        ast::Stmt::CreateTrigger(_) if has(node, K::BEFORE_KW) || has(node, K::INSTEAD_KW) => hits.unknown(
            "trigger-on-writes",
            node,
            "runs a function before the previous release's writes, which may change or reject them",
        ),
        ast::Stmt::CreatePolicy(p)
            if p.as_policy_type().and_then(|t| t.ident_token()).is_some_and(|t| t.text().eq_ignore_ascii_case("restrictive")) =>
        {
            hits.contract("restrictive-policy", node, "hides or rejects rows the previous release reads or writes")
        }
        ast::Stmt::Truncate(_) => hits.contract("truncate", node, "deletes every row the previous release reads"),
        ast::Stmt::Revoke(_) => hits.contract("revoke", node, "takes away privileges the previous release may use"),
        ast::Stmt::Do(_) => hits.unknown("do-block", node, "runs procedural code whose schema changes cannot be read from the SQL"),
        ast::Stmt::Execute(_) => {
            hits.unknown("dynamic-sql", node, "runs a prepared statement whose text is not in the migration")
        }
        ast::Stmt::Call(_) => hits.unknown("procedure-call", node, "runs a procedure whose effect cannot be read from the SQL"),
        ast::Stmt::Select(_) | ast::Stmt::SelectInto(_) | ast::Stmt::CompoundSelect(_) | ast::Stmt::ParenSelect(_) => {
            opaque_calls(node, &mut hits)
        }
        _ => by_kind(node, &mut hits),
    }
    out
}

fn alter_table_action(action: &ast::AlterTableAction, hits: &mut Hits<'_>) {
    let node = action.syntax();
    match action {
        ast::AlterTableAction::DropColumn(_) => {
            hits.contract("drop-column", node, "removes a column the previous release reads or writes")
        }
        ast::AlterTableAction::RenameColumn(_) => {
            hits.contract("rename-column", node, "renames a column the previous release uses by its old name")
        }
        ast::AlterTableAction::TableRenameTo(_) => {
            hits.contract("rename-table", node, "renames a table the previous release uses by its old name")
        }
        ast::AlterTableAction::RenameConstraint(_) => hits.contract(
            "rename-constraint",
            node,
            "renames a constraint the previous release may name (ON CONFLICT ON CONSTRAINT, error handling)",
        ),
        ast::AlterTableAction::SetSchema(_) => {
            hits.contract("set-schema", node, "moves the table out of the schema the previous release looks in")
        }
        ast::AlterTableAction::DropConstraint(_) => hits.contract(
            "drop-constraint",
            node,
            "removes a constraint the previous release may rely on (ON CONFLICT targets, cascades, data it assumes valid)",
        ),
        ast::AlterTableAction::DetachPartition(_) => {
            hits.contract("detach-partition", node, "removes the partition's rows from the table the previous release queries")
        }
        ast::AlterTableAction::EnableRls(_) | ast::AlterTableAction::ForceRls(_) => hits.contract(
            "enable-row-level-security",
            node,
            "hides every row no policy allows from the previous release's queries",
        ),
        ast::AlterTableAction::AlterColumn(c) => alter_column(c, hits),
        ast::AlterTableAction::AddColumn(c) => add_column(c, hits),
        ast::AlterTableAction::AddConstraint(c) => add_constraint(c.syntax(), c.constraint(), hits),
        _ => {}
    }
}

fn alter_column(c: &ast::AlterColumn, hits: &mut Hits<'_>) {
    let node = c.syntax();
    match c.option() {
        Some(ast::AlterColumnOption::SetType(_)) => hits.contract(
            "change-column-type",
            node,
            "changes a column's type under the previous release (and rewrites the table)",
        ),
        Some(ast::AlterColumnOption::SetNotNull(_)) => hits.contract(
            "set-not-null",
            node,
            "rejects the previous release's writes that leave the column null",
        ),
        Some(ast::AlterColumnOption::DropDefault(_)) => hits.contract(
            "drop-default",
            node,
            "removes a default the previous release's inserts rely on",
        ),
        Some(ast::AlterColumnOption::DropExpression(_)) => hits.contract(
            "drop-generated-expression",
            node,
            "stops computing a column the previous release reads and never writes",
        ),
        Some(ast::AlterColumnOption::DropIdentity(_)) => hits.contract(
            "drop-identity",
            node,
            "stops generating values the previous release's inserts leave out",
        ),
        _ => {}
    }
}

fn add_column(c: &ast::AddColumn, hits: &mut Hits<'_>) {
    let mut required = false;
    let mut supplied = false;
    for constraint in c.constraints() {
        match constraint {
            ast::Constraint::NotNullConstraint(_) | ast::Constraint::PrimaryKeyConstraint(_) => {
                required = true
            }
            ast::Constraint::DefaultConstraint(_) | ast::Constraint::GeneratedConstraint(_) => {
                supplied = true
            }
            _ => {}
        }
    }
    // serial types bring their own default.
    let ty = c
        .ty()
        .map(|t| t.syntax().text().to_string().to_ascii_lowercase())
        .unwrap_or_default();
    if ty.contains("serial") {
        supplied = true;
    }
    if required && !supplied {
        hits.contract(
            "add-required-column",
            c.syntax(),
            "adds a NOT NULL column without a default: the previous release's inserts do not set it and fail",
        );
    }
}

fn add_constraint(node: &SyntaxNode, constraint: Option<ast::Constraint>, hits: &mut Hits<'_>) {
    // NOT VALID skips the existing rows (the "not NOT VALID" rule):
    // validating later (VALIDATE CONSTRAINT) is then an expand step.
    if has(node, K::NOT_VALID) {
        return;
    }
    let (rule, why) = match constraint {
        Some(ast::Constraint::CheckConstraint(_)) => (
            "add-check-constraint",
            "checks every existing row and rejects the previous release's writes that violate it; add it NOT VALID, then VALIDATE CONSTRAINT",
        ),
        Some(ast::Constraint::ForeignKeyConstraint(_)) | Some(ast::Constraint::ReferencesConstraint(_)) => (
            "add-foreign-key",
            "checks every existing row and rejects the previous release's writes without a matching row; add it NOT VALID, then VALIDATE CONSTRAINT",
        ),
        Some(ast::Constraint::UniqueConstraint(_)) => {
            ("add-unique-constraint", "rejects the previous release's writes that duplicate a value")
        }
        Some(ast::Constraint::PrimaryKeyConstraint(_)) => {
            ("add-primary-key", "requires unique, non-null values the previous release may not write")
        }
        Some(ast::Constraint::ExcludeConstraint(_)) => {
            ("add-exclusion-constraint", "rejects the previous release's writes that overlap existing rows")
        }
        Some(ast::Constraint::NotNullConstraint(_)) => {
            ("add-not-null-constraint", "rejects the previous release's writes that leave the column null")
        }
        _ => return,
    };
    hits.contract(rule, node, why);
}

fn alter_type(t: &ast::AlterType, hits: &mut Hits<'_>) {
    let node = t.syntax();
    match t.action() {
        Some(ast::AlterTypeAction::RenameValue(_)) => hits.contract(
            "rename-enum-value",
            node,
            "renames a value the previous release writes and compares against",
        ),
        Some(ast::AlterTypeAction::TypeRenameTo(_)) => hits.contract(
            "rename-object",
            node,
            "renames a type the previous release uses by its old name",
        ),
        Some(ast::AlterTypeAction::SetSchema(_)) => hits.contract(
            "set-schema",
            node,
            "moves the type out of the schema the previous release looks in",
        ),
        Some(ast::AlterTypeAction::RenameAttribute(_)) => hits.contract(
            "rename-object",
            node,
            "renames an attribute the previous release uses by its old name",
        ),
        Some(ast::AlterTypeAction::AlterTypeAttributeActionList(list)) => {
            for a in list.actions() {
                match a {
                    ast::AlterTypeAttributeAction::DropAttribute(_) | ast::AlterTypeAttributeAction::AlterAttribute(_) => hits
                        .contract(
                            "alter-type-attribute",
                            a.syntax(),
                            "drops or retypes an attribute of a composite type the previous release uses",
                        ),
                    ast::AlterTypeAttributeAction::AddAttribute(_) => {}
                }
            }
        }
        _ => {}
    }
}

fn alter_domain(d: &ast::AlterDomain, hits: &mut Hits<'_>) {
    let node = d.syntax();
    match d.action() {
        Some(ast::AlterDomainAction::AddConstraint(_)) if !has(node, K::NOT_VALID) => hits.contract(
            "add-domain-constraint",
            node,
            "rejects the previous release's writes of values the new domain constraint forbids; add it NOT VALID",
        ),
        Some(ast::AlterDomainAction::SetNotNull(_)) => {
            hits.contract("set-not-null", node, "rejects the previous release's writes of null into columns of the domain")
        }
        Some(ast::AlterDomainAction::DropDefault(_)) => {
            hits.contract("drop-default", node, "removes a default the previous release's inserts rely on")
        }
        Some(ast::AlterDomainAction::DropConstraint(_)) => {
            hits.contract("drop-constraint", node, "removes a check the previous release may assume holds")
        }
        Some(ast::AlterDomainAction::DomainRenameTo(_)) => {
            hits.contract("rename-object", node, "renames a domain the previous release uses by its old name")
        }
        Some(ast::AlterDomainAction::SetSchema(_)) => {
            hits.contract("set-schema", node, "moves the domain out of the schema the previous release looks in")
        }
        _ => {}
    }
}

/// A `SELECT` in a migration is there for a function's side effects, which
/// the SQL does not show, unless it calls only functions known to be harmless.
fn opaque_calls(node: &SyntaxNode, hits: &mut Hits<'_>) {
    for call in node.descendants().filter_map(ast::CallExpr::cast) {
        let Some(callee) = call.expr() else { continue };
        let name = callee.syntax().text().to_string().to_ascii_lowercase();
        let bare = name
            .rsplit('.')
            .next()
            .unwrap_or(&name)
            .trim_matches('"')
            .to_string();
        if name.starts_with("pg_catalog.") || KNOWN_FUNCTIONS.contains(&bare.as_str()) {
            continue;
        }
        hits.unknown(
            "opaque-function-call",
            call.syntax(),
            "calls a function whose effect on the schema cannot be read from the SQL",
        );
        return;
    }
}

/// Drops and renames of objects other than tables, by statement kind.
fn by_kind(node: &SyntaxNode, hits: &mut Hits<'_>) {
    let kind = node.kind();
    let drop = match kind {
        K::DROP_TABLE | K::DROP_FOREIGN_TABLE => {
            Some(("drop-table", "removes a table the previous release uses"))
        }
        K::DROP_VIEW | K::DROP_MATERIALIZED_VIEW => {
            Some(("drop-view", "removes a view the previous release may query"))
        }
        K::DROP_FUNCTION | K::DROP_PROCEDURE | K::DROP_ROUTINE | K::DROP_AGGREGATE => Some((
            "drop-function",
            "removes a routine the previous release may call",
        )),
        K::DROP_TYPE | K::DROP_DOMAIN => {
            Some(("drop-type", "removes a type the previous release may use"))
        }
        K::DROP_SCHEMA => Some((
            "drop-schema",
            "removes a schema and what the previous release finds in it",
        )),
        K::DROP_SEQUENCE => Some((
            "drop-sequence",
            "removes a sequence the previous release may draw values from",
        )),
        K::DROP_TRIGGER => Some((
            "drop-trigger",
            "stops work the previous release relies on happening on its writes",
        )),
        K::DROP_POLICY => Some((
            "drop-policy",
            "changes which rows the previous release sees or may write",
        )),
        K::DROP_EXTENSION => Some((
            "drop-extension",
            "removes types and functions the previous release may use",
        )),
        K::DROP_DATABASE => Some(("drop-database", "removes a whole database")),
        // Indexes and statistics only affect speed; squawk warns about how they are dropped.
        K::DROP_INDEX | K::DROP_STATISTICS => None,
        _ if format!("{kind:?}").starts_with("DROP_") => Some((
            "drop-object",
            "removes an object the previous release may depend on",
        )),
        _ => None,
    };
    if let Some((rule, why)) = drop {
        hits.contract(rule, node, why);
        return;
    }
    let renamable = matches!(
        kind,
        K::ALTER_VIEW
            | K::ALTER_MATERIALIZED_VIEW
            | K::ALTER_FUNCTION
            | K::ALTER_PROCEDURE
            | K::ALTER_ROUTINE
            | K::ALTER_AGGREGATE
            | K::ALTER_SEQUENCE
            | K::ALTER_SCHEMA
            | K::ALTER_FOREIGN_TABLE
    );
    if !renamable {
        return;
    }
    if has(node, K::RENAME_COLUMN) {
        hits.contract(
            "rename-column",
            node,
            "renames a column the previous release uses by its old name",
        );
    } else if has(node, K::SET_SCHEMA) {
        hits.contract(
            "set-schema",
            node,
            "moves the object out of the schema the previous release looks in",
        );
    } else if has(node, K::RENAME_KW) {
        hits.contract(
            "rename-object",
            node,
            "renames an object the previous release uses by its old name",
        );
    }
}
