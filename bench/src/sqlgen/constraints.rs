//! Indexes and constraints: create and drop indexes, foreign keys, checks.

use super::generator::Generator;
use super::model::Column;
use super::vocabulary::TYPES;

impl Generator {
    pub(super) fn create_index(&mut self, out: &mut Vec<String>) {
        let t = self.table(out);
        let c = self.column(t, out);
        let table = self.tables[t].name.clone();
        let n = self.id();
        let idx = format!("idx_{}_{n}", c.name);
        let concurrently = if self.rng.chance(60) {
            "CONCURRENTLY "
        } else {
            ""
        };
        let if_not = if self.rng.chance(40) {
            "IF NOT EXISTS "
        } else {
            ""
        };
        let unique = if self.rng.chance(15) { "UNIQUE " } else { "" };
        let (using, cols) = match TYPES[c.ty].0 {
            "jsonb" | "text[]" => (" USING gin", format!("({})", c.name)),
            _ if c.name != "tenant_id" && self.rng.chance(40) => {
                ("", format!("(tenant_id, {})", c.name))
            }
            _ if self.rng.chance(20) => ("", format!("(lower({}::text))", c.name)),
            _ => ("", format!("({})", c.name)),
        };
        let filter = if self.rng.chance(25) {
            format!(" WHERE {} IS NOT NULL", c.name)
        } else {
            String::new()
        };
        self.tables[t].indexes.push(idx.clone());
        out.push(format!(
            "CREATE {unique}INDEX {concurrently}{if_not}{idx} ON {table}{using} {cols}{filter};"
        ));
    }

    pub(super) fn foreign_key(&mut self, out: &mut Vec<String>) {
        let t = self.table(out);
        let p = self.rng.below(self.tables.len());
        let table = self.tables[t].name.clone();
        let parent = self.tables[p].name.clone();
        let col = self.column_name();
        let fk = format!("{}_fkey", col);
        out.push(format!("ALTER TABLE {table} ADD COLUMN {col} bigint;"));
        self.tables[t].columns.push(Column {
            name: col.clone(),
            ty: 0,
        });
        let on_delete = *self
            .rng
            .pick(&["", " ON DELETE CASCADE", " ON DELETE SET NULL"]);
        if self.rng.chance(70) {
            out.push(format!(
                "ALTER TABLE {table} ADD CONSTRAINT {fk} FOREIGN KEY ({col}) REFERENCES {parent} (id){on_delete} NOT VALID;"
            ));
            out.push(format!("ALTER TABLE {table} VALIDATE CONSTRAINT {fk};"));
        } else {
            out.push(format!(
                "ALTER TABLE {table} ADD CONSTRAINT {fk} FOREIGN KEY ({col}) REFERENCES {parent} (id){on_delete};"
            ));
        }
        self.tables[t].constraints.push(fk);
    }

    pub(super) fn drop_index(&mut self, out: &mut Vec<String>) {
        let t = self.table(out);
        if self.tables[t].indexes.is_empty() {
            self.create_index(out);
            return;
        }
        let idx = self.tables[t].indexes.remove(0);
        let concurrently = if self.rng.chance(60) {
            "CONCURRENTLY "
        } else {
            ""
        };
        out.push(format!("DROP INDEX {concurrently}IF EXISTS {idx};"));
    }

    pub(super) fn check_constraint(&mut self, out: &mut Vec<String>) {
        let t = self.table(out);
        let table = self.tables[t].name.clone();
        let n = self.id();
        let chk = format!("chk_{n}");
        out.push(format!(
            "ALTER TABLE {table} ADD CONSTRAINT {chk} CHECK (created_at <= updated_at) NOT VALID;"
        ));
        if self.rng.chance(50) {
            out.push(format!("ALTER TABLE {table} VALIDATE CONSTRAINT {chk};"));
        }
        self.tables[t].constraints.push(chk);
    }
}
