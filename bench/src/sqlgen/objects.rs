//! Other schema objects: functions, enums, views, DO blocks, grants, row-level security.

use super::generator::Generator;

impl Generator {
    pub(super) fn function(&mut self, out: &mut Vec<String>) {
        let t = self.table(out);
        let table = self.tables[t].name.clone();
        let n = self.id();
        if self.rng.chance(60) {
            let f = format!("touch_updated_at_{n}");
            out.push(format!(
                "CREATE OR REPLACE FUNCTION {f}() RETURNS trigger\n    LANGUAGE plpgsql\n    AS $$\nBEGIN\n    IF NEW IS DISTINCT FROM OLD THEN\n        NEW.updated_at := now();\n    END IF;\n    RETURN NEW;\nEND;\n$$;"
            ));
            out.push(format!(
                "CREATE TRIGGER trg_{f}\n    BEFORE UPDATE ON {table}\n    FOR EACH ROW EXECUTE FUNCTION {f}();"
            ));
            self.functions.push(f);
        } else {
            let f = format!("tenant_total_{n}");
            out.push(format!(
                "CREATE OR REPLACE FUNCTION {f}(p_tenant bigint)\nRETURNS bigint\nLANGUAGE sql STABLE\nAS $fn$\n    SELECT count(*) FROM {table} WHERE tenant_id = p_tenant; -- ';' inside the body\n$fn$;"
            ));
            self.functions.push(f);
        }
    }

    pub(super) fn enum_type(&mut self, out: &mut Vec<String>) {
        if self.enums.is_empty() || self.rng.chance(40) {
            let n = self.id();
            let e = format!("order_state_{n}");
            out.push(format!(
                "CREATE TYPE {e} AS ENUM ('draft', 'open', 'closed');"
            ));
            self.enums.push(e);
        } else {
            let e = self.rng.pick(&self.enums).clone();
            let n = self.id();
            out.push(format!(
                "ALTER TYPE {e} ADD VALUE IF NOT EXISTS 'state_{n}';"
            ));
        }
    }

    pub(super) fn view(&mut self, out: &mut Vec<String>) {
        let t = self.table(out);
        let c = self.column(t, out);
        let table = self.tables[t].name.clone();
        let n = self.id();
        if self.rng.chance(70) {
            out.push(format!(
                "CREATE OR REPLACE VIEW recent_{n} AS\nSELECT t.id, t.tenant_id, t.{c}, t.created_at\nFROM {table} AS t\nWHERE t.created_at > now() - interval '7 days'\nORDER BY t.created_at DESC;",
                c = c.name
            ));
        } else {
            out.push(format!(
                "CREATE MATERIALIZED VIEW IF NOT EXISTS daily_{n} AS\nSELECT tenant_id, date_trunc('day', created_at) AS day, count(*) AS n\nFROM {table}\nGROUP BY 1, 2\nWITH NO DATA;"
            ));
            out.push(format!(
                "CREATE UNIQUE INDEX daily_{n}_key ON daily_{n} (tenant_id, day);"
            ));
            out.push(format!("REFRESH MATERIALIZED VIEW daily_{n};"));
        }
    }

    pub(super) fn do_block(&mut self, out: &mut Vec<String>) {
        let n = self.id();
        out.push(format!(
            "DO $$\nBEGIN\n    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'reporting_{n}') THEN\n        CREATE ROLE reporting_{n} NOLOGIN;\n    END IF;\nEND\n$$;"
        ));
    }

    pub(super) fn grant(&mut self, out: &mut Vec<String>) {
        let t = self.table(out);
        let table = self.tables[t].name.clone();
        let privs = *self
            .rng
            .pick(&["SELECT", "SELECT, INSERT, UPDATE", "ALL PRIVILEGES"]);
        let role = *self.rng.pick(&["app_rw", "app_ro", "reporting"]);
        out.push(format!("GRANT {privs} ON {table} TO {role};"));
    }

    pub(super) fn misc_objects(&mut self, out: &mut Vec<String>) {
        let n = self.id();
        match self.rng.below(3) {
            0 => out.push("CREATE EXTENSION IF NOT EXISTS pgcrypto;".into()),
            1 => out.push(format!(
                "CREATE SEQUENCE IF NOT EXISTS invoice_number_{n} START WITH 1000 INCREMENT BY 1;"
            )),
            _ => out.push("CREATE SCHEMA IF NOT EXISTS app;".into()),
        }
    }

    pub(super) fn row_level_security(&mut self, out: &mut Vec<String>) {
        let t = self.table(out);
        let table = self.tables[t].name.clone();
        let n = self.id();
        out.push(format!("ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;"));
        out.push(format!(
            "CREATE POLICY tenant_isolation_{n} ON {table}\n    USING (tenant_id = current_setting('app.tenant_id')::bigint);"
        ));
    }
}
