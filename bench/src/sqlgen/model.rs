//! What the generator remembers of the schema it has written so far.

#[derive(Clone)]
pub(super) struct Column {
    pub(super) name: String,
    pub(super) ty: usize,
}

pub(super) struct TableModel {
    pub(super) name: String,
    pub(super) columns: Vec<Column>,
    pub(super) indexes: Vec<String>,
    pub(super) constraints: Vec<String>,
}
