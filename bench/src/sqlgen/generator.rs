//! The generator's state and the weighted choice of the next statement; the
//! statements themselves live in the sibling modules, one per concept.

use super::model::{Column, TableModel};
use super::rng::Rng;
use super::vocabulary::{COLUMN_WORDS, TYPES};

/// Tables and objects created so far, so later migrations refer to what exists.
pub(super) struct Generator {
    pub(super) rng: Rng,
    pub(super) tables: Vec<TableModel>,
    pub(super) enums: Vec<String>,
    pub(super) functions: Vec<String>,
    pub(super) counter: usize,
}

impl Generator {
    pub(super) fn new(seed: u64) -> Self {
        Self {
            rng: Rng(seed),
            tables: Vec::new(),
            enums: Vec::new(),
            functions: Vec::new(),
            counter: 0,
        }
    }

    pub(super) fn id(&mut self) -> usize {
        self.counter += 1;
        self.counter
    }

    pub(super) fn column_name(&mut self) -> String {
        let word = *self.rng.pick(COLUMN_WORDS);
        let n = self.id();
        format!("{word}_{n}")
    }

    pub(super) fn literal(&mut self, ty: usize) -> String {
        let n = self.rng.range(1, 99_999);
        match TYPES[ty].0 {
            "bigint" | "integer" => n.to_string(),
            "smallint" => (n % 300).to_string(),
            "text" | "varchar(255)" => format!("'value {n} it''s'"),
            "numeric(12,2)" => format!("{}.{:02}", n / 100, n % 100),
            _ => TYPES[ty].2.to_owned(),
        }
    }

    /// A table to alter (creates one first when there is none).
    pub(super) fn table(&mut self, out: &mut Vec<String>) -> usize {
        if self.tables.is_empty() {
            out.push(self.create_table());
        }
        self.rng.below(self.tables.len())
    }

    /// A column of table `t` (adds one when it has none).
    pub(super) fn column(&mut self, t: usize, out: &mut Vec<String>) -> Column {
        if self.tables[t].columns.is_empty() {
            out.push(self.add_column(t, false));
        }
        let cols = &self.tables[t].columns;
        cols[self.rng.below(cols.len())].clone()
    }

    pub(super) fn timeouts(&mut self, out: &mut Vec<String>) {
        out.push(format!(
            "SET lock_timeout = '{}s';",
            self.rng.pick(&[1, 2, 5, 10])
        ));
        if self.rng.chance(60) {
            out.push(format!(
                "SET statement_timeout = '{}s';",
                self.rng.pick(&[30, 60, 300])
            ));
        }
    }

    /// One or a few statements of a kind drawn by weight; returns its name for the
    /// file's description.
    pub(super) fn statement(&mut self, out: &mut Vec<String>) -> &'static str {
        const KINDS: &[(&str, usize)] = &[
            ("create_table", 8),
            ("add_column", 10),
            ("create_index", 8),
            ("add_foreign_key", 5),
            ("set_not_null", 3),
            ("drop_column", 3),
            ("rename", 2),
            ("alter_type", 2),
            ("comment", 6),
            ("insert", 8),
            ("backfill", 6),
            ("function", 3),
            ("enum", 2),
            ("view", 2),
            ("drop_index", 2),
            ("check_constraint", 2),
            ("do_block", 1),
            ("grant", 2),
            ("objects", 1),
            ("delete", 2),
            ("set_default", 2),
            ("drop_table", 1),
            ("row_level_security", 1),
        ];
        let total: usize = KINDS.iter().map(|k| k.1).sum();
        let mut draw = self.rng.below(total);
        let mut kind = KINDS[0].0;
        for (k, w) in KINDS {
            if draw < *w {
                kind = k;
                break;
            }
            draw -= w;
        }
        match kind {
            "create_table" => out.push(self.create_table()),
            "add_column" => {
                let t = self.table(out);
                out.push(self.add_column(t, true));
            }
            "create_index" => self.create_index(out),
            "add_foreign_key" => self.foreign_key(out),
            "set_not_null" => self.set_not_null(out),
            "drop_column" => self.drop_column(out),
            "rename" => self.rename(out),
            "alter_type" => self.alter_type(out),
            "comment" => self.comment(out),
            "insert" => self.insert(out),
            "backfill" => self.backfill(out),
            "function" => self.function(out),
            "enum" => self.enum_type(out),
            "view" => self.view(out),
            "drop_index" => self.drop_index(out),
            "check_constraint" => self.check_constraint(out),
            "do_block" => self.do_block(out),
            "grant" => self.grant(out),
            "objects" => self.misc_objects(out),
            "delete" => self.delete(out),
            "set_default" => self.set_default(out),
            "drop_table" => self.drop_table(out),
            _ => self.row_level_security(out),
        }
        kind
    }
}
