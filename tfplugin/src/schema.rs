//! Schemas: what a provider, resource or data source accepts and reports.
//!
//! A [`Schema`] is a versioned [`Block`]; a block has attributes and nested
//! blocks. The block's implied cty object type is what every config, plan and
//! state value of that resource is decoded with.

use std::collections::BTreeMap;

use serde_json::{json, Map as JsonMap, Value as Json};

use crate::proto::tfplugin6 as pb;
use crate::value::{Type, Value};

/// A schema with its version (bumped when stored state must be upgraded).
#[derive(Debug, Clone, Default)]
pub struct Schema {
    /// Schema version recorded in state.
    pub version: i64,
    /// The top-level block.
    pub block: Block,
}

/// A block: attributes plus nested block types.
#[derive(Debug, Clone, Default)]
pub struct Block {
    /// Attributes, in declaration order.
    pub attributes: Vec<Attribute>,
    /// Nested block types, in declaration order.
    pub blocks: Vec<NestedBlock>,
    /// Markdown description.
    pub description: String,
    /// Deprecated as a whole.
    pub deprecated: bool,
}

/// One attribute.
#[derive(Debug, Clone)]
pub struct Attribute {
    /// Name in configuration.
    pub name: String,
    /// Its type (for nested attributes, the implied type of `nested`).
    pub ty: Type,
    /// Nested attribute object (protocol 6 nested attributes), if any.
    pub nested: Option<NestedAttributes>,
    /// Markdown description.
    pub description: String,
    /// Must be set in configuration.
    pub required: bool,
    /// May be set in configuration.
    pub optional: bool,
    /// The provider may set it.
    pub computed: bool,
    /// Hidden in plan output and logs.
    pub sensitive: bool,
    /// Deprecated; the description should say what to use instead.
    pub deprecated: bool,
    /// The value the plan takes when configuration leaves it null
    /// (requires optional + computed).
    pub default: Option<Value>,
    /// Changing it destroys and re-creates the resource.
    pub force_new: bool,
}

/// Nesting of nested attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectNesting {
    /// One object.
    Single,
    /// A list of objects.
    List,
    /// A set of objects.
    Set,
    /// A map of objects.
    Map,
}

/// Nested attributes of an attribute (protocol 6 `nested_type`).
#[derive(Debug, Clone)]
pub struct NestedAttributes {
    /// How the objects nest.
    pub nesting: ObjectNesting,
    /// The attributes of each object.
    pub attributes: Vec<Attribute>,
}

/// Nesting of nested blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockNesting {
    /// At most one block; null when absent.
    Single,
    /// Exactly one block; an absent block is an object of nulls.
    Group,
    /// An ordered list of blocks.
    List,
    /// An unordered set of blocks.
    Set,
    /// Blocks keyed by label.
    Map,
}

/// A nested block type.
#[derive(Debug, Clone)]
pub struct NestedBlock {
    /// Block type name.
    pub name: String,
    /// How the blocks nest.
    pub nesting: BlockNesting,
    /// The block's own schema.
    pub block: Block,
    /// Lower bound on the number of blocks (0 = none).
    pub min_items: i64,
    /// Upper bound on the number of blocks (0 = none).
    pub max_items: i64,
    /// Changing anything in it destroys and re-creates the resource.
    pub force_new: bool,
}

impl Schema {
    /// A version-0 schema for `block`.
    pub fn new(block: Block) -> Self {
        Self { version: 0, block }
    }
    /// With a schema version.
    #[must_use]
    pub fn version(mut self, v: i64) -> Self {
        self.version = v;
        self
    }
    /// The implied object type of the top-level block.
    pub fn value_type(&self) -> Type {
        self.block.value_type()
    }
    /// The protocol form.
    pub fn to_proto(&self) -> pb::Schema {
        pb::Schema {
            version: self.version,
            block: Some(self.block.to_proto()),
        }
    }
    /// The shape `terraform providers schema -json` prints.
    pub fn to_json(&self) -> Json {
        json!({ "version": self.version, "block": self.block.to_json() })
    }
}

impl Block {
    /// An empty block.
    pub fn new() -> Self {
        Self::default()
    }
    /// With an attribute.
    #[must_use]
    pub fn attr(mut self, a: Attribute) -> Self {
        self.attributes.push(a);
        self
    }
    /// With a nested block type.
    #[must_use]
    pub fn block(mut self, b: NestedBlock) -> Self {
        self.blocks.push(b);
        self
    }
    /// With a description.
    #[must_use]
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }
    /// The attribute called `name`.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }
    /// The nested block type called `name`.
    pub fn nested(&self, name: &str) -> Option<&NestedBlock> {
        self.blocks.iter().find(|b| b.name == name)
    }
    /// The implied cty object type.
    pub fn value_type(&self) -> Type {
        let mut attrs: BTreeMap<String, Type> = self
            .attributes
            .iter()
            .map(|a| (a.name.clone(), a.ty.clone()))
            .collect();
        for b in &self.blocks {
            attrs.insert(b.name.clone(), b.value_type());
        }
        Type::Object(attrs)
    }
    /// Terraform never holds a null list, set or map of nested blocks: "no
    /// blocks" is an empty collection (Terraform 1.0 reports null → [] as a
    /// change). Replaces such nulls in a non-null object value, recursively.
    pub fn normalize_blocks(&self, value: &mut Value) {
        if !matches!(value, Value::Object(_)) {
            return;
        }
        for nested in &self.blocks {
            let Some(slot) = value.get_mut(&nested.name) else {
                continue;
            };
            match nested.nesting {
                BlockNesting::List if slot.is_null() => *slot = Value::List(Vec::new()),
                BlockNesting::Set if slot.is_null() => *slot = Value::Set(Vec::new()),
                BlockNesting::Map if slot.is_null() => *slot = Value::Map(BTreeMap::new()),
                BlockNesting::Single | BlockNesting::Group => nested.block.normalize_blocks(slot),
                BlockNesting::List | BlockNesting::Set => {
                    if let Value::List(items) | Value::Set(items) = slot {
                        for item in items {
                            nested.block.normalize_blocks(item);
                        }
                    }
                }
                BlockNesting::Map => {
                    if let Value::Map(items) = slot {
                        for item in items.values_mut() {
                            nested.block.normalize_blocks(item);
                        }
                    }
                }
            }
        }
    }

    /// The protocol form.
    pub fn to_proto(&self) -> pb::schema::Block {
        pb::schema::Block {
            version: 0,
            attributes: self.attributes.iter().map(Attribute::to_proto).collect(),
            block_types: self.blocks.iter().map(NestedBlock::to_proto).collect(),
            description: self.description.clone(),
            description_kind: pb::StringKind::Markdown as i32,
            deprecated: self.deprecated,
        }
    }
    /// JSON as `terraform providers schema -json` prints it.
    pub fn to_json(&self) -> Json {
        let mut out = JsonMap::new();
        if !self.attributes.is_empty() {
            let attrs: JsonMap<String, Json> = self
                .attributes
                .iter()
                .map(|a| (a.name.clone(), a.to_json()))
                .collect();
            out.insert("attributes".into(), Json::Object(attrs));
        }
        if !self.blocks.is_empty() {
            let blocks: JsonMap<String, Json> = self
                .blocks
                .iter()
                .map(|b| (b.name.clone(), b.to_json()))
                .collect();
            out.insert("block_types".into(), Json::Object(blocks));
        }
        if !self.description.is_empty() {
            out.insert("description".into(), self.description.clone().into());
        }
        out.insert("description_kind".into(), "markdown".into());
        if self.deprecated {
            out.insert("deprecated".into(), true.into());
        }
        Json::Object(out)
    }
}

impl Attribute {
    /// An attribute of type `ty`; call one of `required`/`optional`/`computed`.
    pub fn new(name: impl Into<String>, ty: Type) -> Self {
        Self {
            name: name.into(),
            ty,
            nested: None,
            description: String::new(),
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            deprecated: false,
            default: None,
            force_new: false,
        }
    }
    /// A string attribute.
    pub fn string(name: impl Into<String>) -> Self {
        Self::new(name, Type::String)
    }
    /// A number attribute.
    pub fn number(name: impl Into<String>) -> Self {
        Self::new(name, Type::Number)
    }
    /// A bool attribute.
    pub fn bool(name: impl Into<String>) -> Self {
        Self::new(name, Type::Bool)
    }
    /// An attribute of nested attributes.
    pub fn nested(
        name: impl Into<String>,
        nesting: ObjectNesting,
        attributes: Vec<Attribute>,
    ) -> Self {
        let nested = NestedAttributes {
            nesting,
            attributes,
        };
        let mut a = Self::new(name, nested.value_type());
        a.nested = Some(nested);
        a
    }
    /// Must be set.
    #[must_use]
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    /// May be set.
    #[must_use]
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }
    /// Set by the provider.
    #[must_use]
    pub fn computed(mut self) -> Self {
        self.computed = true;
        self
    }
    /// Hidden in plans and logs.
    #[must_use]
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    /// Deprecated.
    #[must_use]
    pub fn deprecated(mut self) -> Self {
        self.deprecated = true;
        self
    }
    /// Replacing the resource when it changes.
    #[must_use]
    pub fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }
    /// Optional + computed with a default the plan shows.
    #[must_use]
    pub fn default(mut self, v: impl Into<Value>) -> Self {
        self.optional = true;
        self.computed = true;
        self.default = Some(v.into());
        self
    }
    /// Markdown description.
    #[must_use]
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }
    /// The protocol form.
    pub fn to_proto(&self) -> pb::schema::Attribute {
        pb::schema::Attribute {
            name: self.name.clone(),
            // Terraform wants either a type or a nested type, never both.
            r#type: if self.nested.is_some() {
                Vec::new()
            } else {
                self.ty.to_json_bytes()
            },
            nested_type: self.nested.as_ref().map(NestedAttributes::to_proto),
            description: self.description.clone(),
            required: self.required,
            optional: self.optional,
            computed: self.computed,
            sensitive: self.sensitive,
            description_kind: pb::StringKind::Markdown as i32,
            deprecated: self.deprecated,
            write_only: false,
        }
    }
    /// JSON as `terraform providers schema -json` prints it.
    pub fn to_json(&self) -> Json {
        let mut out = JsonMap::new();
        match &self.nested {
            Some(n) => {
                out.insert("nested_type".into(), n.to_json());
            }
            None => {
                out.insert("type".into(), self.ty.to_json());
            }
        }
        if !self.description.is_empty() {
            out.insert("description".into(), self.description.clone().into());
        }
        out.insert("description_kind".into(), "markdown".into());
        for (flag, on) in [
            ("required", self.required),
            ("optional", self.optional),
            ("computed", self.computed),
            ("sensitive", self.sensitive),
            ("deprecated", self.deprecated),
        ] {
            if on {
                out.insert(flag.into(), true.into());
            }
        }
        Json::Object(out)
    }
}

impl NestedAttributes {
    /// The implied type.
    pub fn value_type(&self) -> Type {
        let obj = Type::Object(
            self.attributes
                .iter()
                .map(|a| (a.name.clone(), a.ty.clone()))
                .collect(),
        );
        match self.nesting {
            ObjectNesting::Single => obj,
            ObjectNesting::List => Type::list(obj),
            ObjectNesting::Set => Type::set(obj),
            ObjectNesting::Map => Type::map(obj),
        }
    }
    fn to_proto(&self) -> pb::schema::Object {
        use pb::schema::object::NestingMode as M;
        pb::schema::Object {
            attributes: self.attributes.iter().map(Attribute::to_proto).collect(),
            nesting: match self.nesting {
                ObjectNesting::Single => M::Single,
                ObjectNesting::List => M::List,
                ObjectNesting::Set => M::Set,
                ObjectNesting::Map => M::Map,
            } as i32,
        }
    }
    fn to_json(&self) -> Json {
        let attrs: JsonMap<String, Json> = self
            .attributes
            .iter()
            .map(|a| (a.name.clone(), a.to_json()))
            .collect();
        let mode = match self.nesting {
            ObjectNesting::Single => "single",
            ObjectNesting::List => "list",
            ObjectNesting::Set => "set",
            ObjectNesting::Map => "map",
        };
        json!({ "attributes": attrs, "nesting_mode": mode })
    }
}

impl NestedBlock {
    /// A nested block type.
    pub fn new(name: impl Into<String>, nesting: BlockNesting, block: Block) -> Self {
        Self {
            name: name.into(),
            nesting,
            block,
            min_items: 0,
            max_items: 0,
            force_new: false,
        }
    }
    /// At most one block of this type.
    pub fn single(name: impl Into<String>, block: Block) -> Self {
        Self::new(name, BlockNesting::Single, block)
    }
    /// A list of blocks.
    pub fn list(name: impl Into<String>, block: Block) -> Self {
        Self::new(name, BlockNesting::List, block)
    }
    /// A set of blocks.
    pub fn set(name: impl Into<String>, block: Block) -> Self {
        Self::new(name, BlockNesting::Set, block)
    }
    /// With item bounds.
    #[must_use]
    pub fn items(mut self, min: i64, max: i64) -> Self {
        self.min_items = min;
        self.max_items = max;
        self
    }
    /// Replacing the resource when it changes.
    #[must_use]
    pub fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }
    /// The implied type.
    pub fn value_type(&self) -> Type {
        let obj = self.block.value_type();
        match self.nesting {
            BlockNesting::Single | BlockNesting::Group => obj,
            BlockNesting::List => Type::list(obj),
            BlockNesting::Set => Type::set(obj),
            BlockNesting::Map => Type::map(obj),
        }
    }
    fn to_proto(&self) -> pb::schema::NestedBlock {
        use pb::schema::nested_block::NestingMode as M;
        pb::schema::NestedBlock {
            type_name: self.name.clone(),
            block: Some(self.block.to_proto()),
            nesting: match self.nesting {
                BlockNesting::Single => M::Single,
                BlockNesting::Group => M::Group,
                BlockNesting::List => M::List,
                BlockNesting::Set => M::Set,
                BlockNesting::Map => M::Map,
            } as i32,
            min_items: self.min_items,
            max_items: self.max_items,
        }
    }
    fn to_json(&self) -> Json {
        let mode = match self.nesting {
            BlockNesting::Single => "single",
            BlockNesting::Group => "group",
            BlockNesting::List => "list",
            BlockNesting::Set => "set",
            BlockNesting::Map => "map",
        };
        let mut out = JsonMap::new();
        out.insert("nesting_mode".into(), mode.into());
        out.insert("block".into(), self.block.to_json());
        if self.min_items > 0 {
            out.insert("min_items".into(), self.min_items.into());
        }
        if self.max_items > 0 {
            out.insert("max_items".into(), self.max_items.into());
        }
        Json::Object(out)
    }
}
