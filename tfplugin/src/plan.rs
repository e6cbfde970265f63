//! Generic planning rules every managed resource shares.
//!
//! Terraform sends a *proposed* new state (config merged with prior computed
//! values). What it never does is mark computed values unknown or fill
//! defaults: those are the provider's job, and getting them wrong makes plans
//! that never converge or applies that Terraform rejects as inconsistent.

use crate::provider::PlanResponse;
use crate::schema::{Attribute, Block, BlockNesting, Schema};
use crate::value::{AttributePath, Value};

/// The plan before any resource-specific rule: defaults filled where config
/// is null, computed attributes unknown on create, and replacement required
/// where a `force_new` attribute or block changes.
pub fn base_plan(schema: &Schema, prior: &Value, proposed: &Value, config: &Value) -> PlanResponse {
    if proposed.is_null() {
        return PlanResponse {
            planned: Value::Null,
            ..PlanResponse::default()
        };
    }
    let creating = prior.is_null();
    let mut planned = proposed.clone();
    fill_block(&schema.block, &mut planned, config, creating);
    let mut requires_replace = Vec::new();
    if !creating {
        replacement_paths(
            &schema.block,
            prior,
            &planned,
            &AttributePath::root(),
            &mut requires_replace,
        );
    }
    PlanResponse {
        planned,
        requires_replace,
        ..PlanResponse::default()
    }
}

fn fill_attribute(attr: &Attribute, slot: &mut Value, config: &Value, creating: bool) {
    if config.is_null() {
        if let Some(default) = &attr.default {
            *slot = default.clone();
            return;
        }
        if creating && attr.computed && slot.is_null() {
            *slot = Value::Unknown;
        }
    }
}

fn fill_block(block: &Block, planned: &mut Value, config: &Value, creating: bool) {
    if !matches!(planned, Value::Object(_)) {
        return;
    }
    for attr in &block.attributes {
        let cfg = config.get(&attr.name).clone();
        if let Some(slot) = planned.get_mut(&attr.name) {
            fill_attribute(attr, slot, &cfg, creating);
        }
    }
    for nested in &block.blocks {
        let cfg = config.get(&nested.name).clone();
        let Some(slot) = planned.get_mut(&nested.name) else {
            continue;
        };
        match (nested.nesting, slot) {
            (BlockNesting::Single | BlockNesting::Group, slot @ Value::Object(_)) => {
                fill_block(&nested.block, slot, &cfg, creating)
            }
            (BlockNesting::List, Value::List(items)) => {
                let cfg_items = cfg.as_seq().unwrap_or(&[]);
                for (i, item) in items.iter_mut().enumerate() {
                    let c = cfg_items.get(i).cloned().unwrap_or(Value::Null);
                    fill_block(&nested.block, item, &c, creating);
                }
            }
            (BlockNesting::Set, Value::Set(items)) => {
                // Terraform orders set elements by their encoding, so the n-th
                // planned element need not come from the n-th config element:
                // pair each with the config element it was built from.
                let cfg_items = cfg.as_seq().unwrap_or(&[]);
                let mut used = vec![false; cfg_items.len()];
                for item in items.iter_mut() {
                    let found = cfg_items
                        .iter()
                        .enumerate()
                        .find(|(i, c)| !used[*i] && config_matches(&nested.block, item, c))
                        .map(|(i, c)| (i, c.clone()));
                    let c = match found {
                        Some((i, c)) => {
                            used[i] = true;
                            c
                        }
                        None => Value::Null,
                    };
                    fill_block(&nested.block, item, &c, creating);
                }
            }
            (BlockNesting::Map, Value::Map(items)) => {
                for (k, item) in items.iter_mut() {
                    let c = cfg.get(k).clone();
                    fill_block(&nested.block, item, &c, creating);
                }
            }
            _ => {}
        }
    }
}

/// Whether `planned` was built from `config`: every value the configuration
/// sets is what the plan holds (defaults and computed values fill the rest).
fn config_matches(block: &Block, planned: &Value, config: &Value) -> bool {
    if config.is_null() {
        return false;
    }
    let attrs_match = block.attributes.iter().all(|a| {
        let c = config.get(&a.name);
        c.is_null() || c.semantically_equal(planned.get(&a.name))
    });
    attrs_match
        && block.blocks.iter().all(|nb| {
            let (c, p) = (config.get(&nb.name), planned.get(&nb.name));
            match nb.nesting {
                BlockNesting::Single | BlockNesting::Group => {
                    c.is_null() || config_matches(&nb.block, p, c)
                }
                BlockNesting::List | BlockNesting::Set => {
                    let (cs, ps) = (c.as_seq().unwrap_or(&[]), p.as_seq().unwrap_or(&[]));
                    cs.len() == ps.len()
                        && cs
                            .iter()
                            .all(|ce| ps.iter().any(|pe| config_matches(&nb.block, pe, ce)))
                }
                BlockNesting::Map => match (c.as_map(), p.as_map()) {
                    (Some(cm), Some(pm)) => {
                        cm.len() == pm.len()
                            && cm.iter().all(|(k, ce)| {
                                pm.get(k)
                                    .is_some_and(|pe| config_matches(&nb.block, pe, ce))
                            })
                    }
                    _ => c.is_null(),
                },
            }
        })
}

fn replacement_paths(
    block: &Block,
    prior: &Value,
    planned: &Value,
    at: &AttributePath,
    out: &mut Vec<AttributePath>,
) {
    for attr in block.attributes.iter().filter(|a| a.force_new) {
        if !prior
            .get(&attr.name)
            .semantically_equal(planned.get(&attr.name))
        {
            out.push(at.clone().then_attr(attr.name.clone()));
        }
    }
    for nested in &block.blocks {
        let (p, n) = (prior.get(&nested.name), planned.get(&nested.name));
        let path = at.clone().then_attr(nested.name.clone());
        if nested.force_new {
            if !p.semantically_equal(n) {
                out.push(path);
            }
        } else if matches!(nested.nesting, BlockNesting::Single | BlockNesting::Group) {
            replacement_paths(&nested.block, p, n, &path, out);
        }
    }
}

/// Marks the named top-level attributes unknown in a plan: for computed values
/// an update will change (a resource-specific decision).
pub fn mark_unknown(planned: &mut Value, names: &[&str]) {
    for name in names {
        planned.set(name, Value::Unknown);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::NestedBlock;

    fn schema() -> Schema {
        Schema::new(
            Block::new()
                .attr(Attribute::string("name").required().force_new())
                .attr(Attribute::string("id").computed())
                .attr(Attribute::bool("keep").default(true))
                .block(NestedBlock::single(
                    "inner",
                    Block::new().attr(Attribute::string("out").computed()),
                )),
        )
    }

    fn obj(name: &str, id: Value, keep: Value, inner: Value) -> Value {
        Value::object([
            ("name", Value::from(name)),
            ("id", id),
            ("keep", keep),
            ("inner", inner),
        ])
    }

    #[test]
    fn create_marks_computed_unknown_and_fills_defaults() {
        let inner = Value::object([("out", Value::Null)]);
        let config = obj("a", Value::Null, Value::Null, inner.clone());
        let plan = base_plan(&schema(), &Value::Null, &config, &config);
        assert_eq!(plan.planned.get("id"), &Value::Unknown);
        assert_eq!(plan.planned.get("keep"), &Value::Bool(true));
        assert_eq!(plan.planned.get("inner").get("out"), &Value::Unknown);
        assert!(plan.requires_replace.is_empty());
    }

    #[test]
    fn update_keeps_prior_computed_and_flags_force_new() {
        let inner = Value::object([("out", Value::from("x"))]);
        let prior = obj("a", Value::from("id-1"), Value::Bool(true), inner.clone());
        let config = obj(
            "b",
            Value::Null,
            Value::Null,
            Value::object([("out", Value::Null)]),
        );
        let proposed = obj("b", Value::from("id-1"), Value::Bool(true), inner);
        let plan = base_plan(&schema(), &prior, &proposed, &config);
        assert_eq!(plan.planned.get("id"), &Value::from("id-1"));
        assert_eq!(plan.requires_replace, vec![AttributePath::attr("name")]);
    }

    #[test]
    fn set_elements_get_defaults_from_their_own_config_element() {
        let port = Block::new()
            .attr(Attribute::string("kind").default("tcp"))
            .attr(Attribute::number("number").required());
        let schema = Schema::new(Block::new().block(NestedBlock::set("port", port)));
        let elem = |kind: Value, n: i64| Value::object([("kind", kind), ("number", Value::int(n))]);
        // Config order differs from the planned (sorted) order.
        let config = Value::object([(
            "port",
            Value::Set(vec![elem(Value::Null, 80), elem(Value::from("udp"), 443)]),
        )]);
        let proposed = Value::object([(
            "port",
            Value::Set(vec![elem(Value::from("udp"), 443), elem(Value::Null, 80)]),
        )]);
        let plan = base_plan(&schema, &Value::Null, &proposed, &config);
        let ports = plan.planned.get("port").as_seq().unwrap().to_vec();
        assert!(ports.contains(&elem(Value::from("udp"), 443)), "{ports:?}");
        assert!(ports.contains(&elem(Value::from("tcp"), 80)), "{ports:?}");
    }

    #[test]
    fn destroy_plans_null() {
        let prior = obj("a", Value::from("id"), Value::Bool(true), Value::Null);
        let plan = base_plan(&schema(), &prior, &Value::Null, &Value::Null);
        assert!(plan.planned.is_null());
    }
}
