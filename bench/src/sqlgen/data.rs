//! Data changes inside migrations: inserts, backfills, deletes.

use super::generator::Generator;
use super::model::Column;

impl Generator {
    pub(super) fn insert(&mut self, out: &mut Vec<String>) {
        let t = self.table(out);
        let table = self.tables[t].name.clone();
        let cols: Vec<Column> = self.tables[t].columns.iter().take(4).cloned().collect();
        let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
        let mut rows = Vec::new();
        for _ in 0..self.rng.range(1, 8) {
            let vals: Vec<String> = cols.iter().map(|c| self.literal(c.ty)).collect();
            rows.push(format!("    ({})", vals.join(", ")));
        }
        let conflict = match self.rng.below(3) {
            0 => "\nON CONFLICT DO NOTHING".to_owned(),
            1 if names.len() > 1 => format!(
                "\nON CONFLICT (id) DO UPDATE SET {} = EXCLUDED.{}",
                names[1], names[1]
            ),
            _ => String::new(),
        };
        out.push(format!(
            "INSERT INTO {table} ({})\nVALUES\n{}{conflict};",
            names.join(", "),
            rows.join(",\n")
        ));
    }

    pub(super) fn backfill(&mut self, out: &mut Vec<String>) {
        let t = self.table(out);
        let c = self.column(t, out);
        let table = self.tables[t].name.clone();
        let value = self.literal(c.ty);
        match self.rng.below(3) {
            0 => {
                let lo = self.rng.range(0, 100) * 10_000;
                out.push(format!(
                    "UPDATE {table} SET {c} = {value}, updated_at = now()\nWHERE {c} IS NULL AND id BETWEEN {lo} AND {};",
                    lo + 9_999,
                    c = c.name
                ));
            }
            1 => {
                let p = self.rng.below(self.tables.len());
                let parent = self.tables[p].name.clone();
                out.push(format!(
                    "UPDATE {table} AS t\nSET {c} = s.{c}\nFROM (\n    SELECT id, {value} AS {c}\n    FROM {parent}\n    WHERE created_at > now() - interval '30 days'\n) AS s\nWHERE t.id = s.id AND t.{c} IS DISTINCT FROM s.{c};",
                    c = c.name
                ));
            }
            _ => out.push(format!(
                "WITH batch AS (\n    SELECT id FROM {table} WHERE {c} IS NULL ORDER BY id LIMIT 5000 FOR UPDATE SKIP LOCKED\n)\nUPDATE {table} SET {c} = {value} WHERE id IN (SELECT id FROM batch);",
                c = c.name
            )),
        }
    }

    pub(super) fn delete(&mut self, out: &mut Vec<String>) {
        let t = self.table(out);
        let table = self.tables[t].name.clone();
        let days = self.rng.pick(&[30, 90, 365]);
        out.push(format!(
            "DELETE FROM {table} WHERE created_at < now() - interval '{days} days';"
        ));
    }
}
