//! Pages of a list answer, as ARM gives them: `value` and a `nextLink` that
//! is the same request with a `$skiptoken`. Off by default (one page with
//! everything); the setting `page_size` turns it on, so that a client's
//! following of `nextLink` can be tested with a page size of 1.

use serde_json::{json, Value};

use crate::front::Incoming;
use crate::reply::Reply;

/// The query parameter that carries where the next page starts.
const SKIP_TOKEN: &str = "$skiptoken";

/// The page of `items` the request asks for: `{"value", "nextLink"}`, the
/// next link absolute on `base_url`; `nextLink` is null on the last page,
/// and absent when paging is off unless `always_next_link` (revisions carry
/// `"nextLink": null`, as their example shows).
pub fn page(
    base_url: &str,
    page_size: Option<usize>,
    req: &Incoming,
    items: Vec<Value>,
    always_next_link: bool,
) -> Result<Value, Reply> {
    let Some(size) = page_size.filter(|s| *s > 0) else {
        let mut body = json!({ "value": items });
        if always_next_link {
            body["nextLink"] = Value::Null;
        }
        return Ok(body);
    };
    let start = match req.query(SKIP_TOKEN) {
        None => 0,
        Some(token) => token.parse::<usize>().map_err(|_| {
            Reply::arm_error(
                400,
                "InvalidSkipToken",
                format!("The $skiptoken '{token}' is not one this list issued."),
            )
        })?,
    };
    let total = items.len();
    let end = start.saturating_add(size).min(total);
    let value: Vec<Value> = items.into_iter().take(end).skip(start).collect();
    let next_link = (end < total).then(|| next_url(base_url, req, end));
    Ok(json!({ "value": value, "nextLink": next_link }))
}

fn next_url(base_url: &str, req: &Incoming, next: usize) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in req.query.iter().filter(|(k, _)| k != SKIP_TOKEN) {
        query.append_pair(k, v);
    }
    query.append_pair(SKIP_TOKEN, &next.to_string());
    let path: String =
        percent_encoding::utf8_percent_encode(&req.path, percent_encoding::CONTROLS).collect();
    format!("{base_url}{path}?{}", query.finish())
}
