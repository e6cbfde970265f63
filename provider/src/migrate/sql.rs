//! Splitting a migration into the statements a database runs one by one,
//! with the parser rather than by `;`: semicolons inside strings, dollar
//! quotes, comments and function bodies do not end a statement.

use squawk_syntax::syntax_error::SyntaxError;
use squawk_syntax::{Parse, SourceFile, SyntaxKind, SyntaxNode};

/// Byte offsets to 1-based line numbers.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { starts }
    }
    /// The 1-based line holding byte `offset`.
    pub fn line(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }
}

/// Why a statement has to run outside a transaction block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Runs inside the migration's transaction.
    InTransaction,
    /// PostgreSQL refuses it inside a transaction block (`CREATE INDEX
    /// CONCURRENTLY`, `VACUUM`, …): it runs on its own, autocommitted.
    OutsideTransaction(&'static str),
    /// The migration manages its own transactions (`BEGIN`, `COMMIT`, …), so
    /// the whole file runs without one of ours.
    TransactionControl,
}

/// One statement of a migration, ready to send to the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement's text, from its first token to its `;` (inclusive).
    pub text: String,
    /// Byte offset of its first token in the file.
    pub start: usize,
    /// 1-based line of its first token.
    pub line: usize,
    /// Whether it can run in the migration's transaction.
    pub placement: Placement,
    /// The parser could not read it; the database will judge it.
    pub has_errors: bool,
}

/// Parses `sql` with squawk's error-recovering PostgreSQL parser.
pub fn parse(sql: &str) -> Parse<SourceFile> {
    SourceFile::parse(sql)
}

/// Splits a parsed file into statements. A statement ends at a `;` the
/// parser saw at the top level (or at the end of the file), so text the
/// parser could not read stays attached to the statement it belongs to and
/// reaches the database exactly as written.
pub fn split(parse: &Parse<SourceFile>, sql: &str, lines: &LineIndex) -> Vec<Statement> {
    split_with_errors(parse, &parse.errors(), sql, lines)
}

/// [`split`] with the parse's errors already at hand: `Parse::errors` walks and
/// validates the whole tree on every call, so a caller that needs the errors
/// too computes them once.
pub fn split_with_errors(
    parse: &Parse<SourceFile>,
    errors: &[SyntaxError],
    sql: &str,
    lines: &LineIndex,
) -> Vec<Statement> {
    let root = parse.syntax_node();
    let errors: Vec<usize> = errors
        .iter()
        .map(|e| usize::from(e.range().start()))
        .collect();
    let mut out = Vec::new();
    let mut current: Option<(usize, usize, Placement)> = None;
    let finish = |(start, end, placement): (usize, usize, Placement), out: &mut Vec<Statement>| {
        let text = sql.get(start..end).unwrap_or_default().to_string();
        let has_errors = errors.iter().any(|&e| e >= start && e <= end);
        out.push(Statement {
            text,
            start,
            line: lines.line(start),
            placement,
            has_errors,
        });
    };
    for element in root.children_with_tokens() {
        if element.kind().is_trivia() {
            continue;
        }
        let range = element.text_range();
        let (start, _, placement) =
            current.unwrap_or((usize::from(range.start()), 0, Placement::InTransaction));
        let placement = match element.as_node() {
            Some(node) => strictest(placement, placement_of(node)),
            None => placement,
        };
        current = Some((start, usize::from(range.end()), placement));
        let ends_statement = element.kind() == SyntaxKind::SEMICOLON
            || element
                .as_node()
                .and_then(SyntaxNode::last_token)
                .is_some_and(|t| t.kind() == SyntaxKind::SEMICOLON);
        if ends_statement {
            if let Some(done) = current.take() {
                finish(done, &mut out);
            }
        }
    }
    if let Some(done) = current.take() {
        finish(done, &mut out);
    }
    // A lone `;` is no statement worth sending.
    out.retain(|s| s.text.trim() != ";");
    out
}

fn strictest(a: Placement, b: Placement) -> Placement {
    match (a, b) {
        (Placement::TransactionControl, _) | (_, Placement::TransactionControl) => {
            Placement::TransactionControl
        }
        (Placement::OutsideTransaction(r), _) | (_, Placement::OutsideTransaction(r)) => {
            Placement::OutsideTransaction(r)
        }
        _ => Placement::InTransaction,
    }
}

fn has_token(node: &SyntaxNode, kind: SyntaxKind) -> bool {
    node.descendants_with_tokens().any(|e| e.kind() == kind)
}

/// Where a top-level statement may run. The list follows PostgreSQL's
/// `PreventInTransactionBlock` callers that show up in migrations.
pub fn placement_of(node: &SyntaxNode) -> Placement {
    use Placement::*;
    use SyntaxKind as K;
    match node.kind() {
        K::BEGIN
        | K::COMMIT_TRANSACTION
        | K::ROLLBACK_TRANSACTION
        | K::SAVEPOINT_CREATE
        | K::RELEASE_SAVEPOINT
        | K::ROLLBACK_TO_SAVEPOINT
        | K::PREPARE_TRANSACTION
        | K::COMMIT_PREPARED
        | K::ROLLBACK_PREPARED => TransactionControl,
        K::CREATE_INDEX if has_token(node, K::CONCURRENTLY_KW) => {
            OutsideTransaction("CREATE INDEX CONCURRENTLY")
        }
        K::DROP_INDEX if has_token(node, K::CONCURRENTLY_KW) => {
            OutsideTransaction("DROP INDEX CONCURRENTLY")
        }
        K::REINDEX if has_token(node, K::CONCURRENTLY_KW) => {
            OutsideTransaction("REINDEX CONCURRENTLY")
        }
        K::REINDEX
            if has_token(node, K::REINDEX_TARGET_SYSTEM)
                || has_token(node, K::REINDEX_TARGET_DATABASE) =>
        {
            OutsideTransaction("REINDEX DATABASE/SYSTEM")
        }
        K::ALTER_TABLE if has_token(node, K::DETACH_CONCURRENTLY) => {
            OutsideTransaction("DETACH PARTITION CONCURRENTLY")
        }
        // PostgreSQL 12+ allows it in a transaction, but the new value cannot be
        // used before commit, and older servers refuse it: run it on its own.
        K::ALTER_TYPE if has_token(node, K::ADD_VALUE) => {
            OutsideTransaction("ALTER TYPE … ADD VALUE")
        }
        K::VACUUM => OutsideTransaction("VACUUM"),
        K::CREATE_DATABASE => OutsideTransaction("CREATE DATABASE"),
        K::DROP_DATABASE => OutsideTransaction("DROP DATABASE"),
        K::CREATE_TABLESPACE => OutsideTransaction("CREATE TABLESPACE"),
        K::DROP_TABLESPACE => OutsideTransaction("DROP TABLESPACE"),
        K::ALTER_SYSTEM => OutsideTransaction("ALTER SYSTEM"),
        K::CREATE_SUBSCRIPTION => OutsideTransaction("CREATE SUBSCRIPTION"),
        K::DROP_SUBSCRIPTION => OutsideTransaction("DROP SUBSCRIPTION"),
        _ => InTransaction,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statements(sql: &str) -> Vec<Statement> {
        split(&parse(sql), sql, &LineIndex::new(sql))
    }

    #[test]
    fn semicolons_inside_strings_comments_and_dollar_quotes_do_not_split() {
        let sql = "-- a; comment\nSELECT 'a;b' /* c; */ ;\nDO $$ BEGIN RAISE NOTICE 'x;y'; END $$;\n\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $f$ SELECT 1; $f$;\nSELECT 2";
        let s = statements(sql);
        assert_eq!(s.len(), 4, "{s:#?}");
        assert_eq!(s[0].text, "SELECT 'a;b' /* c; */ ;");
        assert_eq!(s[0].line, 2);
        assert_eq!(s[1].line, 3);
        assert!(s[1].text.ends_with("END $$;"));
        assert_eq!(s[2].line, 5);
        assert_eq!(s[3].text, "SELECT 2");
        assert_eq!(s[3].line, 6);
    }

    #[test]
    fn unreadable_text_stays_one_statement() {
        let s = statements("CREATE TABLE a (id int);\nTHIS IS NOT SQL;\nSELECT 1;");
        assert_eq!(s.len(), 3);
        assert_eq!(s[1].text, "THIS IS NOT SQL;");
        assert!(s[1].has_errors);
        assert!(!s[0].has_errors && !s[2].has_errors);
    }

    #[test]
    fn non_transactional_statements_are_detected() {
        let s = statements(
            "CREATE INDEX CONCURRENTLY i ON t (c);\nCREATE INDEX j ON t (c);\nDROP INDEX CONCURRENTLY i;\nREINDEX INDEX CONCURRENTLY j;\nALTER TYPE mood ADD VALUE 'meh';\nVACUUM t;\nBEGIN;\nCOMMIT;",
        );
        let p: Vec<Placement> = s.iter().map(|s| s.placement).collect();
        assert!(matches!(p[0], Placement::OutsideTransaction(_)));
        assert_eq!(p[1], Placement::InTransaction);
        assert!(matches!(p[2], Placement::OutsideTransaction(_)));
        assert!(matches!(p[3], Placement::OutsideTransaction(_)));
        assert!(matches!(p[4], Placement::OutsideTransaction(_)));
        assert!(matches!(p[5], Placement::OutsideTransaction(_)));
        assert_eq!(p[6], Placement::TransactionControl);
        assert_eq!(p[7], Placement::TransactionControl);
    }

    #[test]
    fn lines_are_one_based() {
        let idx = LineIndex::new("a\nbc\n\nd");
        assert_eq!(idx.line(0), 1);
        assert_eq!(idx.line(2), 2);
        assert_eq!(idx.line(5), 3);
        assert_eq!(idx.line(6), 4);
    }
}
