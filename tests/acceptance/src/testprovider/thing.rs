//! `bgtest_thing`: the managed resource that exercises every part of the
//! protocol a real resource needs.
//!
//! Schema version 1; version 0 called `value` `old_value`. `length` is the
//! character count of `value`: unknown in any plan that changes `value`, known
//! after apply. `rule[*].out` is derived from `key` and `val`, so the plan
//! knows it whenever they are known. `port` blocks form a set whose `kind`
//! defaults to `tcp` (and sorts before `number`, so cty orders config and
//! planned elements differently). `delay` makes create and update wait,
//! and give up promptly when Terraform asks the provider to stop.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use tfplugin::plan::mark_unknown;
use tfplugin::provider::{ApplyRequest, Ctx, PlanRequest, PlanResponse, Resource, StateResponse};
use tfplugin::schema::{Attribute, Block, NestedBlock, Schema};
use tfplugin::timeouts::{format_duration, parse_duration, timeout_for, timeouts_block};
use tfplugin::value::decode_json_lenient;
use tfplugin::{AttributePath, Diagnostic, Diagnostics, Type, Value};

use super::store::Store;
use super::Shared;

/// The resource type name.
pub const TYPE_NAME: &str = "bgtest_thing";
/// The store kind things are kept under (`<store_dir>/thing/<id>.json`).
pub const STORE_KIND: &str = "thing";
/// The current schema version.
pub const SCHEMA_VERSION: i64 = 1;
/// Default `timeouts.create`.
pub const DEFAULT_CREATE_TIMEOUT: Duration = Duration::from_secs(600);

/// A thing as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThingRecord {
    /// Unique id, assigned at create.
    pub id: String,
    /// Name (changing it replaces the thing).
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub value: Option<String>,
    /// Sensitive text.
    #[serde(default)]
    pub secret: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Option<BTreeMap<String, String>>,
    /// Labels (a set).
    #[serde(default)]
    pub labels: Option<Vec<String>>,
    /// Rules, in order.
    #[serde(default)]
    pub rules: Vec<RuleRecord>,
    /// Ports (a set of blocks).
    #[serde(default)]
    pub ports: Vec<PortRecord>,
    /// The settings block, when configured.
    #[serde(default)]
    pub settings: Option<SettingsRecord>,
    /// The configured delay.
    #[serde(default)]
    pub delay: Option<String>,
}

/// One `rule` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleRecord {
    /// Key.
    pub key: String,
    /// Value.
    #[serde(default)]
    pub val: Option<String>,
}

/// One `port` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortRecord {
    /// Port number.
    pub number: i64,
    /// Kind (defaults to `tcp`).
    #[serde(default)]
    pub kind: Option<String>,
}

/// The `settings` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingsRecord {
    /// Mode (defaults to `fast`).
    #[serde(default)]
    pub mode: Option<String>,
}

/// `rule[*].out`: what a rule's computed attribute is, given its key and val.
fn rule_out(key: &Value, val: &Value) -> Value {
    if key.is_unknown() || val.is_unknown() {
        return Value::Unknown;
    }
    match key.as_str() {
        Some(k) => Value::String(format!("{k}={}", val.as_str().unwrap_or(""))),
        None => Value::Null,
    }
}

fn known_str(v: &Value, path: &str) -> Result<Option<String>, Diagnostic> {
    if v.is_unknown() {
        return Err(Diagnostic::error(
            format!("{path} is not known at apply"),
            "Terraform sent an unknown value where the plan promised a known one; this is a bug.",
        )
        .at(AttributePath::parse(path)));
    }
    Ok(v.as_str().map(str::to_string))
}

impl ThingRecord {
    /// The record an apply writes, from the planned value.
    pub fn from_planned(planned: &Value, id: String) -> Result<Self, Diagnostic> {
        let name = known_str(planned.get("name"), "name")?.ok_or_else(|| {
            Diagnostic::error("name is required", "Set name.").at(AttributePath::attr("name"))
        })?;
        let strings = |v: &Value, path: &str| -> Result<Vec<(String, String)>, Diagnostic> {
            let mut out = Vec::new();
            let entries: Vec<(String, &Value)> = match v.inner() {
                Value::Map(m) => m.iter().map(|(k, v)| (k.clone(), v)).collect(),
                Value::Set(items) | Value::List(items) => {
                    items.iter().map(|v| (String::new(), v)).collect()
                }
                _ => Vec::new(),
            };
            for (k, item) in entries {
                let s = known_str(item, path)?.ok_or_else(|| {
                    Diagnostic::error(format!("{path} holds a null"), "Remove the null element.")
                        .at(AttributePath::attr(path))
                })?;
                out.push((k, s));
            }
            Ok(out)
        };
        let tags = match planned.get("tags") {
            v if v.is_null() => None,
            v => Some(strings(v, "tags")?.into_iter().collect()),
        };
        let labels = match planned.get("labels") {
            v if v.is_null() => None,
            v => Some(strings(v, "labels")?.into_iter().map(|(_, s)| s).collect()),
        };
        let mut rules = Vec::new();
        for (i, rule) in planned
            .get("rule")
            .as_seq()
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let key = known_str(rule.get("key"), &format!("rule[{i}].key"))?.unwrap_or_default();
            let val = known_str(rule.get("val"), &format!("rule[{i}].val"))?;
            rules.push(RuleRecord { key, val });
        }
        let mut ports = Vec::new();
        for port in planned.get("port").as_seq().unwrap_or(&[]) {
            let number = port.get("number").as_i64().ok_or_else(|| {
                Diagnostic::error(
                    "port number must be a known whole number",
                    "Set number to a port number.",
                )
                .at(AttributePath::attr("port"))
            })?;
            ports.push(PortRecord {
                number,
                kind: known_str(port.get("kind"), "port")?,
            });
        }
        let settings = match planned.get("settings") {
            v if v.is_null() => None,
            v => Some(SettingsRecord {
                mode: known_str(v.get("mode"), "settings.mode")?,
            }),
        };
        Ok(Self {
            id,
            name,
            value: known_str(planned.get("value"), "value")?,
            secret: known_str(planned.get("secret"), "secret")?,
            tags,
            labels,
            rules,
            ports,
            settings,
            delay: known_str(planned.get("delay"), "delay")?,
        })
    }

    /// The record in the store, as JSON.
    pub fn to_json(&self) -> Json {
        // Serializing plain strings, maps and vectors cannot fail.
        serde_json::to_value(self).unwrap_or(Json::Null)
    }

    /// Reads a record from the store's JSON.
    pub fn from_json(json: Json) -> Result<Self, serde_json::Error> {
        serde_json::from_value(json)
    }

    /// The resource state for this record; `timeouts` is configuration only,
    /// so it comes from the caller (config, plan or prior state).
    pub fn to_value(&self, timeouts: Value) -> Value {
        let opt = |s: &Option<String>| s.clone().map_or(Value::Null, Value::String);
        let length = self
            .value
            .as_deref()
            .map_or(0, |v| v.chars().count() as i64);
        Value::object([
            ("id", Value::from(self.id.as_str())),
            ("name", Value::from(self.name.as_str())),
            ("value", opt(&self.value)),
            ("secret", opt(&self.secret)),
            (
                "tags",
                self.tags.as_ref().map_or(Value::Null, |m| {
                    Value::Map(
                        m.iter()
                            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                            .collect(),
                    )
                }),
            ),
            (
                "labels",
                self.labels.as_ref().map_or(Value::Null, |l| {
                    Value::Set(l.iter().map(|s| Value::from(s.as_str())).collect())
                }),
            ),
            ("length", Value::int(length)),
            ("delay", opt(&self.delay)),
            (
                "rule",
                Value::List(
                    self.rules
                        .iter()
                        .map(|r| {
                            let (key, val) = (Value::from(r.key.as_str()), opt(&r.val));
                            let out = rule_out(&key, &val);
                            Value::object([("key", key), ("val", val), ("out", out)])
                        })
                        .collect(),
                ),
            ),
            (
                "port",
                Value::Set(
                    self.ports
                        .iter()
                        .map(|p| {
                            Value::object([
                                ("number", Value::int(p.number)),
                                ("kind", opt(&p.kind)),
                            ])
                        })
                        .collect(),
                ),
            ),
            (
                "settings",
                self.settings
                    .as_ref()
                    .map_or(Value::Null, |s| Value::object([("mode", opt(&s.mode))])),
            ),
            ("timeouts", timeouts),
        ])
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A fresh id: unique across provider processes (pid, time) and within one (counter).
fn new_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    format!(
        "thing-{:x}-{:x}-{}",
        std::process::id(),
        nanos,
        NEXT_ID.fetch_add(1, Ordering::Relaxed)
    )
}

/// Waits `delay`, giving up at `limit` or as soon as Terraform asks to stop.
async fn wait_delay(
    ctx: &Ctx,
    name: &str,
    delay: Duration,
    limit: Duration,
) -> Result<(), Diagnostic> {
    let stopped = || {
        Diagnostic::error(
            format!("bgtest_thing {name:?}: stopped by Terraform"),
            "Terraform asked the provider to stop (interrupt) while it waited for `delay`; the change was not made.",
        )
    };
    if ctx.is_stopped() {
        return Err(stopped());
    }
    if delay.is_zero() {
        return Ok(());
    }
    tracing::info!(name, delay = %format_duration(delay), "waiting for the configured delay");
    tokio::select! {
        () = tokio::time::sleep(delay.min(limit)) => {
            if delay > limit {
                Err(Diagnostic::error(
                    format!("bgtest_thing {name:?}: timed out after {}", format_duration(limit)),
                    "The delay is longer than the operation's timeout; raise timeouts.create or shorten delay.",
                )
                .at(AttributePath::attr("timeouts").then_attr("create")))
            } else {
                Ok(())
            }
        }
        () = ctx.stopped() => {
            tracing::info!(name, "stop requested: abandoning the delay");
            Err(stopped())
        }
    }
}

fn delay_of(value: &Value) -> Result<Duration, Diagnostic> {
    match value.get("delay").as_str() {
        None => Ok(Duration::ZERO),
        Some(s) => parse_duration(s).map_err(|e| {
            Diagnostic::error("Invalid delay", format!("{e}.")).at(AttributePath::attr("delay"))
        }),
    }
}

/// The `bgtest_thing` resource.
#[derive(Debug)]
pub struct Thing {
    shared: Arc<Shared>,
}

impl Thing {
    /// The resource, using the provider's shared store.
    pub fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    fn record(store: &Store, id: &str) -> Result<Option<ThingRecord>, Diagnostic> {
        let json = store.get(STORE_KIND, id).map_err(|e| {
            Diagnostic::error(
                "Cannot read the store",
                format!("{e}. Check store_dir and its permissions."),
            )
        })?;
        json.map(|j| {
            ThingRecord::from_json(j).map_err(|e| {
                Diagnostic::error(
                    format!("Stored thing {id:?} is corrupt"),
                    format!("{e}. Fix or delete the file under store_dir."),
                )
            })
        })
        .transpose()
    }

    fn put(store: &Store, record: &ThingRecord) -> Result<(), Diagnostic> {
        store
            .put(STORE_KIND, &record.id, &record.to_json())
            .map_err(|e| {
                Diagnostic::error(
                    "Cannot write the store",
                    format!("{e}. Check store_dir and its permissions."),
                )
            })
    }

    /// The body shared by create and update: wait, then write the record.
    async fn apply(
        &self,
        ctx: &Ctx,
        req: &ApplyRequest<'_>,
        id: String,
        limit: Duration,
    ) -> Result<Value, Diagnostic> {
        let store = self.shared.store()?;
        let record = ThingRecord::from_planned(req.planned, id)?;
        wait_delay(ctx, &record.name, delay_of(req.planned)?, limit).await?;
        Self::put(&store, &record)?;
        Ok(record.to_value(req.planned.get("timeouts").clone()))
    }
}

#[async_trait]
impl Resource for Thing {
    fn type_name(&self) -> &str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        let rule = Block::new()
            .description("A key/value rule; `out` is computed from them.")
            .attr(
                Attribute::string("key")
                    .required()
                    .description("Must not be empty."),
            )
            .attr(
                Attribute::string("val")
                    .optional()
                    .description("Optional value."),
            )
            .attr(
                Attribute::string("out")
                    .computed()
                    .description("`key=val`."),
            );
        let port = Block::new()
            .description("A port; the blocks form a set.")
            .attr(
                Attribute::number("number")
                    .required()
                    .description("Port number."),
            )
            .attr(
                Attribute::string("kind")
                    .default("tcp")
                    .description("Defaults to `tcp`."),
            );
        let settings = Block::new().attr(
            Attribute::string("mode")
                .default("fast")
                .description("Defaults to `fast`."),
        );
        Schema::new(
            Block::new()
                .description("A test object kept in the provider's JSON file store.")
                .attr(
                    Attribute::string("id")
                        .computed()
                        .description("Assigned at create."),
                )
                .attr(
                    Attribute::string("name")
                        .required()
                        .force_new()
                        .description("Changing it replaces the thing."),
                )
                .attr(
                    Attribute::string("value")
                        .optional()
                        .description("Free text; `invalid` is rejected."),
                )
                .attr(
                    Attribute::string("secret")
                        .optional()
                        .sensitive()
                        .description("Sensitive text."),
                )
                .attr(
                    Attribute::new("tags", Type::map(Type::String))
                        .optional()
                        .description("Tags."),
                )
                .attr(
                    Attribute::new("labels", Type::set(Type::String))
                        .optional()
                        .description("Labels."),
                )
                .attr(
                    Attribute::number("length")
                        .computed()
                        .description("Characters in `value`."),
                )
                .attr(
                    Attribute::string("delay")
                        .optional()
                        .description("How long create and update take, e.g. `5s`."),
                )
                .block(NestedBlock::list("rule", rule))
                .block(NestedBlock::set("port", port))
                .block(NestedBlock::single("settings", settings))
                .block(timeouts_block(&["create"], &[DEFAULT_CREATE_TIMEOUT])),
        )
        .version(SCHEMA_VERSION)
    }

    async fn validate(&self, _ctx: &Ctx, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        if config.get("value").as_str() == Some("invalid") {
            diags.error_at(
                AttributePath::attr("value"),
                "value must not be \"invalid\"",
                "bgtest_thing rejects the value \"invalid\" so that tests see a diagnostic pointing at it. Use any other string.",
            );
        }
        for (i, rule) in config
            .get("rule")
            .as_seq()
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            if rule.get("key").as_str() == Some("") {
                diags.error_at(
                    AttributePath::attr("rule")
                        .then_index(i as i64)
                        .then_attr("key"),
                    "rule key must not be empty",
                    "Give every rule block a non-empty key.",
                );
            }
        }
        if let Err(d) = delay_of(config) {
            diags.push(d);
        }
        if let Err(d) = timeout_for(config, "create", DEFAULT_CREATE_TIMEOUT) {
            diags.push(d);
        }
        diags
    }

    async fn upgrade_state(
        &self,
        _ctx: &Ctx,
        version: i64,
        json: &[u8],
    ) -> Result<Value, Diagnostics> {
        let ty = self.schema().value_type();
        let bad = |e: String| -> Diagnostics {
            Diagnostic::error(
                "Stored state of bgtest_thing cannot be read",
                format!("{e}. Remove the resource from state and import it again."),
            )
            .into()
        };
        let current = match version {
            SCHEMA_VERSION => json.to_vec(),
            0 => {
                // Version 0 called `value` `old_value`.
                let mut doc: Json = serde_json::from_slice(json).map_err(|e| bad(e.to_string()))?;
                let obj = doc.as_object_mut().ok_or_else(|| bad("state is not a JSON object".into()))?;
                if let Some(old) = obj.remove("old_value") {
                    obj.insert("value".into(), old);
                }
                tracing::debug!("upgraded bgtest_thing state from schema version 0");
                serde_json::to_vec(&doc).map_err(|e| bad(e.to_string()))?
            }
            other => {
                return Err(bad(format!(
                    "schema version {other} is unknown to this provider (it reads 0 and {SCHEMA_VERSION})"
                )))
            }
        };
        decode_json_lenient(&current, &ty).map_err(|e| bad(e.to_string()))
    }

    async fn plan(
        &self,
        _ctx: &Ctx,
        req: PlanRequest<'_>,
        mut planned: PlanResponse,
    ) -> PlanResponse {
        if let Some(Value::List(rules)) = planned.planned.get_mut("rule") {
            for rule in rules.iter_mut() {
                let out = rule_out(rule.get("key"), rule.get("val"));
                rule.set("out", out);
            }
        }
        if !req.prior.is_null()
            && !req
                .prior
                .get("value")
                .semantically_equal(planned.planned.get("value"))
        {
            mark_unknown(&mut planned.planned, &["length"]);
        }
        planned
    }

    async fn create(&self, ctx: &Ctx, req: ApplyRequest<'_>) -> StateResponse {
        let limit = match timeout_for(req.planned, "create", DEFAULT_CREATE_TIMEOUT) {
            Ok(l) => l,
            Err(d) => return StateResponse::with_diagnostics(Value::Null, d.into()),
        };
        match self.apply(ctx, &req, new_id(), limit).await {
            Ok(state) => {
                tracing::info!(
                    id = state.get("id").as_str().unwrap_or(""),
                    "created bgtest_thing"
                );
                StateResponse::ok(state)
            }
            // Nothing was written: the object does not exist.
            Err(d) => StateResponse::with_diagnostics(Value::Null, d.into()),
        }
    }

    async fn read(&self, _ctx: &Ctx, state: &Value, _private: &[u8]) -> StateResponse {
        let found = self.shared.store().and_then(|store| {
            let id = state.get("id").as_str().ok_or_else(|| {
                Diagnostic::error(
                    "bgtest_thing has no id in state",
                    "Remove it from state and import it again.",
                )
            })?;
            Self::record(&store, id)
        });
        match found {
            Ok(Some(record)) => {
                tracing::debug!(id = %record.id, "read bgtest_thing");
                StateResponse::ok(record.to_value(state.get("timeouts").clone()))
            }
            Ok(None) => StateResponse::ok(Value::Null),
            Err(d) => StateResponse::with_diagnostics(state.clone(), d.into()),
        }
    }

    async fn update(&self, ctx: &Ctx, req: ApplyRequest<'_>) -> StateResponse {
        let Some(id) = req.prior.get("id").as_str().map(str::to_string) else {
            let d = Diagnostic::error(
                "bgtest_thing has no id in state",
                "Remove it from state and import it again.",
            );
            return StateResponse::with_diagnostics(req.prior.clone(), d.into());
        };
        match self.apply(ctx, &req, id, Duration::MAX).await {
            Ok(state) => {
                tracing::info!(
                    id = state.get("id").as_str().unwrap_or(""),
                    "updated bgtest_thing"
                );
                StateResponse::ok(state)
            }
            // The store still holds the prior object.
            Err(d) => StateResponse::with_diagnostics(req.prior.clone(), d.into()),
        }
    }

    async fn delete(&self, _ctx: &Ctx, prior: &Value, _private: &[u8]) -> Diagnostics {
        let result = self.shared.store().and_then(|store| {
            let id = prior.get("id").as_str().unwrap_or_default();
            store.delete(STORE_KIND, id).map_err(|e| {
                Diagnostic::error(
                    "Cannot delete from the store",
                    format!("{e}. Check store_dir."),
                )
            })
        });
        match result {
            Ok(()) => {
                tracing::info!(
                    id = prior.get("id").as_str().unwrap_or(""),
                    "deleted bgtest_thing"
                );
                Diagnostics::new()
            }
            Err(d) => d.into(),
        }
    }

    async fn import(&self, _ctx: &Ctx, id: &str) -> StateResponse {
        let found = self
            .shared
            .store()
            .and_then(|store| Self::record(&store, id).map(|r| (store, r)));
        match found {
            Ok((_, Some(record))) => StateResponse::ok(record.to_value(Value::Null)),
            Ok((store, None)) => StateResponse::with_diagnostics(
                Value::Null,
                Diagnostic::error(
                    format!("Cannot import bgtest_thing {id:?}: it does not exist"),
                    format!(
                        "No thing with that id is in the store at {}. Check the id.",
                        store.dir().display()
                    ),
                )
                .into(),
            ),
            Err(d) => StateResponse::with_diagnostics(Value::Null, d.into()),
        }
    }
}
