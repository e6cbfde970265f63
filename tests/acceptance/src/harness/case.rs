//! Test cases of steps, run on every Terraform CLI the way
//! terraform-plugin-testing runs them.
//!
//! Each step: plan (saved) → apply it → check the state → plan must be empty
//! → refresh → plan must be empty → import-verify. After the last step:
//! destroy, then the destroy check.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use regex::Regex;

use super::provider::ProviderBinary;
use super::state::State;
use super::terraform::Terraform;
use super::workspace::{Output, Workspace};

/// What an expected error must look like.
#[derive(Debug, Clone)]
pub enum Expect {
    /// The output contains this text.
    Contains(String),
    /// The output matches this regular expression.
    Matches(Regex),
}

impl Expect {
    /// A regular expression; panics when it is invalid (a test bug).
    pub fn regex(pattern: &str) -> Expect {
        Expect::Matches(
            Regex::new(pattern).unwrap_or_else(|e| panic!("invalid regex {pattern:?}: {e}")),
        )
    }

    /// True when `text` satisfies the expectation.
    pub fn is_met_by(&self, text: &str) -> bool {
        match self {
            Expect::Contains(s) => text.contains(s.as_str()),
            Expect::Matches(r) => r.is_match(text),
        }
    }
}

impl std::fmt::Display for Expect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expect::Contains(s) => write!(f, "text {s:?}"),
            Expect::Matches(r) => write!(f, "regex /{}/", r.as_str()),
        }
    }
}

impl From<&str> for Expect {
    fn from(s: &str) -> Self {
        Expect::Contains(s.to_string())
    }
}

impl From<String> for Expect {
    fn from(s: String) -> Self {
        Expect::Contains(s)
    }
}

impl From<Regex> for Expect {
    fn from(r: Regex) -> Self {
        Expect::Matches(r)
    }
}

/// Where the id for `terraform import` comes from.
#[derive(Debug, Clone)]
pub enum ImportId {
    /// This attribute of the resource in state.
    Attribute(String),
    /// This literal id.
    Fixed(String),
}

/// Import the resource in a fresh directory and compare with the original.
#[derive(Debug, Clone)]
pub struct ImportVerify {
    /// The resource address.
    pub address: String,
    /// The id to import by.
    pub id: ImportId,
    /// Attributes (and everything under them) left out of the comparison.
    pub ignore: Vec<String>,
}

impl ImportVerify {
    /// Imports `address` by its `id` attribute.
    pub fn new(address: &str) -> Self {
        Self {
            address: address.to_string(),
            id: ImportId::Attribute("id".into()),
            ignore: Vec::new(),
        }
    }
    /// Imports by a literal id.
    #[must_use]
    pub fn id(mut self, id: &str) -> Self {
        self.id = ImportId::Fixed(id.to_string());
        self
    }
    /// Imports by the value of another attribute.
    #[must_use]
    pub fn id_from(mut self, attribute: &str) -> Self {
        self.id = ImportId::Attribute(attribute.to_string());
        self
    }
    /// Attributes not compared (configuration-only ones, like `timeouts`).
    #[must_use]
    pub fn ignore(mut self, attributes: &[&str]) -> Self {
        self.ignore
            .extend(attributes.iter().map(|s| (*s).to_string()));
        self
    }
    fn ignores(&self, key: &str) -> bool {
        self.ignore.iter().any(|i| {
            key == i
                || key
                    .strip_prefix(i.as_str())
                    .is_some_and(|rest| rest.starts_with('.'))
        })
    }
}

/// Runs `test` once per CLI of [`Terraform::all`], printing
/// `acceptance: <name> on Terraform vX.Y.Z: ok` (or `FAILED`) after each, for
/// tests that drive a [`Workspace`] directly rather than through steps. A
/// failure on one CLI does not skip the others; the test fails at the end,
/// naming every CLI it failed on.
pub fn on_every_cli(name: &str, test: impl Fn(&Terraform)) {
    let mut failed = Vec::new();
    for tf in Terraform::all() {
        let started = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| test(tf)));
        let verdict = if outcome.is_ok() { "ok" } else { "FAILED" };
        super::announce(&format!(
            "acceptance: {name} on Terraform v{}: {verdict} ({:.1}s)",
            tf.version_string(),
            started.elapsed().as_secs_f64()
        ));
        if let Err(panic) = outcome {
            failed.push(format!(
                "v{}: {}",
                tf.version_string(),
                panic_message(panic.as_ref())
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "{name} failed on {} of {} Terraform CLIs:\n{}",
        failed.len(),
        Terraform::all().len(),
        failed.join("\n")
    );
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
        .unwrap_or_else(|| "panic".into())
}

type StateCheck = Box<dyn Fn(&State)>;
type OutputCheck = Box<dyn Fn(&Output)>;
type Hook = Box<dyn Fn(&Workspace)>;

/// One configuration to apply and what must hold afterwards.
pub struct Step {
    config: String,
    expect_error: Option<Expect>,
    before: Option<Hook>,
    plan_check: Option<OutputCheck>,
    check: Option<StateCheck>,
    import_verify: Option<ImportVerify>,
    after: Option<Hook>,
}

impl Step {
    /// A step applying `config` (`{{workdir}}` stands for the work directory).
    pub fn new(config: impl Into<String>) -> Self {
        Self {
            config: config.into(),
            expect_error: None,
            before: None,
            plan_check: None,
            check: None,
            import_verify: None,
            after: None,
        }
    }
    /// The plan or apply must fail with output (diagnostic boxes removed, see
    /// [`Output::plain`]) matching `expect`; nothing else runs for this step.
    #[must_use]
    pub fn expect_error(mut self, expect: impl Into<Expect>) -> Self {
        self.expect_error = Some(expect.into());
        self
    }
    /// Runs before the step's plan, after its configuration is written (e.g.
    /// to change objects behind Terraform's back).
    #[must_use]
    pub fn before(mut self, hook: impl Fn(&Workspace) + 'static) -> Self {
        self.before = Some(Box::new(hook));
        self
    }
    /// Checks the output of the plan that is then applied.
    #[must_use]
    pub fn plan_check(mut self, check: impl Fn(&Output) + 'static) -> Self {
        self.plan_check = Some(Box::new(check));
        self
    }
    /// Checks the state after apply.
    #[must_use]
    pub fn check(mut self, check: impl Fn(&State) + 'static) -> Self {
        self.check = Some(Box::new(check));
        self
    }
    /// Runs at the end of a step that applied (after refresh and import
    /// verify), e.g. to look at the store or the trace log.
    #[must_use]
    pub fn after(mut self, hook: impl Fn(&Workspace) + 'static) -> Self {
        self.after = Some(Box::new(hook));
        self
    }
    /// Verifies that importing gives the same state.
    #[must_use]
    pub fn import_verify(mut self, verify: ImportVerify) -> Self {
        self.import_verify = Some(verify);
        self
    }
}

/// A named sequence of steps against one provider.
pub struct TestCase {
    name: String,
    provider: ProviderBinary,
    steps: Vec<Step>,
    check_destroy: Option<Hook>,
}

impl TestCase {
    /// A test case; `name` names its work directories and its report lines.
    pub fn new(name: &str, provider: ProviderBinary) -> Self {
        Self {
            name: name.to_string(),
            provider,
            steps: Vec::new(),
            check_destroy: None,
        }
    }
    /// Adds a step.
    #[must_use]
    pub fn step(mut self, step: Step) -> Self {
        self.steps.push(step);
        self
    }
    /// Runs after the final destroy.
    #[must_use]
    pub fn check_destroy(mut self, check: impl Fn(&Workspace) + 'static) -> Self {
        self.check_destroy = Some(Box::new(check));
        self
    }

    /// Runs the case on every CLI of [`Terraform::all`].
    pub fn run(&self) {
        on_every_cli(&self.name, |tf| self.run_on(tf));
    }

    /// Runs the case on one CLI.
    pub fn run_on(&self, tf: &Terraform) {
        let ws = Workspace::new(&self.name, tf, &self.provider);
        if let Some(first) = self.steps.first() {
            ws.write_config(&first.config);
        }
        ws.init();
        let mut last_applied: Option<String> = None;
        for (i, step) in self.steps.iter().enumerate() {
            let label = format!("step {}/{}", i + 1, self.steps.len());
            if self.run_step(&ws, step, &label) {
                last_applied = Some(ws.config());
            }
        }
        // Destroy with the last configuration that applied: a failing step's
        // configuration may not even validate.
        if let Some(config) = last_applied {
            ws.write_config(&config);
        }
        ws.destroy();
        let state = ws.show();
        let left = state.managed_addresses();
        if !left.is_empty() {
            ws.fail(None, &format!("after destroy, state still holds {left:?}"));
        }
        if let Some(check) = &self.check_destroy {
            guard(&ws, None, "destroy check", None, || check(&ws));
        }
    }

    /// Runs one step; true when it applied (false for an expected error).
    fn run_step(&self, ws: &Workspace, step: &Step, label: &str) -> bool {
        ws.write_config(&step.config);
        if let Some(before) = &step.before {
            guard(ws, None, &format!("{label}: before hook"), None, || {
                before(ws)
            });
        }
        let plan = ws.run(&["plan", "-out=tfplan", "-detailed-exitcode"]);
        if !matches!(plan.code, Some(0 | 2)) {
            return expected_failure(ws, step, &plan, label);
        }
        if let Some(check) = &step.plan_check {
            guard(
                ws,
                Some(&plan),
                &format!("{label}: plan check"),
                None,
                || check(&plan),
            );
        }
        let apply = ws.run(&["apply", "tfplan"]);
        if !apply.success() {
            return expected_failure(ws, step, &apply, label);
        }
        if let Some(expect) = &step.expect_error {
            ws.fail(
                Some(&apply),
                &format!(
                    "{label}: expected an error matching {expect}, but plan and apply succeeded"
                ),
            );
        }
        let state = ws.show();
        if let Some(check) = &step.check {
            let what = format!("{label}: state check");
            guard(ws, Some(&apply), &what, Some(&state), || check(&state));
        }
        ws.assert_plan_empty(&format!("{label}: after apply"));
        ws.refresh();
        ws.assert_plan_empty(&format!("{label}: after refresh"));
        if let Some(verify) = &step.import_verify {
            import_verify(ws, &state, verify, label);
        }
        if let Some(after) = &step.after {
            guard(ws, None, &format!("{label}: after hook"), None, || {
                after(ws)
            });
        }
        true
    }
}

/// A failed plan or apply: fine when the step expects that error, else a test failure.
fn expected_failure(ws: &Workspace, step: &Step, out: &Output, label: &str) -> bool {
    match &step.expect_error {
        Some(expect) if expect.is_met_by(&out.plain()) => false,
        Some(expect) => ws.fail(
            Some(out),
            &format!("{label}: the error does not match {expect}"),
        ),
        None => ws.fail(
            Some(out),
            &format!("{label}: `terraform {}` failed", out.args.join(" ")),
        ),
    }
}

/// Runs a test's closure; if it panics, prints the failure report around it.
fn guard(
    ws: &Workspace,
    out: Option<&Output>,
    what: &str,
    context: Option<&State>,
    f: impl FnOnce(),
) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(f)) {
        if panic
            .downcast_ref::<String>()
            .is_some_and(|m| m.contains("work dir kept at"))
        {
            // Already reported by `Workspace::fail`.
            std::panic::resume_unwind(panic);
        }
        let msg = panic_message(panic.as_ref());
        let context = context
            .map(|state| format!("\nthe state it looked at:\n{:#}", state.json()["values"]))
            .unwrap_or_default();
        ws.fail(out, &format!("{what} failed: {msg}{context}"));
    }
}

fn import_verify(ws: &Workspace, state: &State, verify: &ImportVerify, label: &str) {
    let Some(original) = state.get(&verify.address) else {
        ws.fail(
            None,
            &format!(
                "{label}: import verify: no {} in state ({:?})",
                verify.address,
                state.addresses()
            ),
        )
    };
    let id = match &verify.id {
        ImportId::Fixed(id) => id.clone(),
        ImportId::Attribute(attr) => match original.get(attr).and_then(|v| v.as_str()) {
            Some(id) => id.to_string(),
            None => ws.fail(
                None,
                &format!(
                    "{label}: import verify: {}.{attr} is not a string",
                    verify.address
                ),
            ),
        },
    };
    let sibling = ws.sibling("import");
    sibling.write_config(&ws.config());
    sibling.init();
    sibling.run_ok(&["import", &verify.address, &id]);
    let imported_state = sibling.show();
    let Some(imported) = imported_state.get(&verify.address) else {
        sibling.fail(
            None,
            &format!(
                "{label}: import verify: {} not in the imported state",
                verify.address
            ),
        )
    };
    let keep = |m: std::collections::BTreeMap<String, String>| -> std::collections::BTreeMap<String, String> {
        m.into_iter().filter(|(k, _)| !verify.ignores(k)).collect()
    };
    let (want, got) = (keep(original.flatten()), keep(imported.flatten()));
    if want != got {
        let mut diff = Vec::new();
        for key in want
            .keys()
            .chain(got.keys())
            .collect::<std::collections::BTreeSet<_>>()
        {
            let (w, g) = (want.get(key), got.get(key));
            if w != g {
                diff.push(format!(
                    "  {key}: applied {} / imported {}",
                    w.map_or("(absent)", String::as_str),
                    g.map_or("(absent)", String::as_str)
                ));
            }
        }
        sibling.fail(
            None,
            &format!(
                "{label}: import verify of {} (id {id:?}): imported state differs:\n{}",
                verify.address,
                diff.join("\n")
            ),
        );
    }
}
