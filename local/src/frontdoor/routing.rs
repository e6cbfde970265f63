//! The compiled routing table the proxy reads on every request.

use std::collections::HashSet;
use std::sync::Arc;

use hyper::http::{HeaderName, HeaderValue};

use super::rng;
use super::ColorStats;
use crate::api::Color;

/// Where a colour is reached.
#[derive(Debug, Clone)]
pub struct Target {
    /// The colour.
    pub color: Color,
    /// Loopback port of its process.
    pub port: u16,
    /// `127.0.0.1:PORT`, for requests without a Host header.
    pub host: HeaderValue,
    /// Value of the `x-bluegreen-color` response header.
    pub header: HeaderValue,
    /// Its counters.
    pub stats: Arc<ColorStats>,
}

/// The canary part of the table.
#[derive(Debug, Clone)]
pub struct CanaryTarget {
    /// Where canary traffic goes.
    pub target: Target,
    /// Percentage of header-less requests.
    pub weight: u8,
    /// Tenants always routed to the canary, in ASCII lower case: tenant ids compare
    /// case-insensitively, as Front Door's `Lowercase` transform makes them on Azure.
    pub tenants: HashSet<String>,
}

/// An immutable routing table, swapped as a whole so a request sees one revision.
#[derive(Debug, Clone)]
pub struct RoutingTable {
    /// Revision it was compiled from.
    pub revision: u64,
    /// Primary colour.
    pub primary: Option<Target>,
    /// Canary.
    pub canary: Option<CanaryTarget>,
    /// Header carrying the tenant id.
    pub tenant_header: HeaderName,
}

impl RoutingTable {
    /// A table routing nothing.
    pub fn empty(tenant_header: HeaderName) -> Self {
        Self {
            revision: 0,
            primary: None,
            canary: None,
            tenant_header,
        }
    }

    /// Whether a request's header named `name` (any case) is the tenant header.
    pub fn is_tenant_header(&self, name: &[u8]) -> bool {
        // HeaderName keeps names in lower case.
        self.tenant_header
            .as_str()
            .as_bytes()
            .eq_ignore_ascii_case(name)
    }

    /// Picks the target for a request whose tenant header has the value `tenant`:
    /// listed tenants go to the canary, other tenants to the primary (a tenant never sees
    /// two versions), header-less requests to the canary with probability `weight`%.
    pub fn pick(&self, tenant: Option<&[u8]>) -> Option<&Target> {
        let Some(canary) = &self.canary else {
            return self.primary.as_ref();
        };
        match tenant {
            Some(v) => {
                let listed = std::str::from_utf8(v).is_ok_and(|t| {
                    let t = t.trim();
                    // Lower-cased only when it has upper case: most ids already are.
                    if t.bytes().any(|b| b.is_ascii_uppercase()) {
                        canary.tenants.contains(&t.to_ascii_lowercase())
                    } else {
                        canary.tenants.contains(t)
                    }
                });
                if listed {
                    Some(&canary.target)
                } else {
                    self.primary.as_ref()
                }
            }
            None if canary.weight > 0 && rng::percent() < canary.weight => Some(&canary.target),
            None => self.primary.as_ref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(color: Color) -> Target {
        Target {
            color,
            port: 1,
            host: HeaderValue::from_static("127.0.0.1:1"),
            header: HeaderValue::from_static("x"),
            stats: Arc::new(ColorStats::default()),
        }
    }

    fn table(weight: u8) -> RoutingTable {
        RoutingTable {
            revision: 1,
            primary: Some(target(Color::Blue)),
            canary: Some(CanaryTarget {
                target: target(Color::Green),
                weight,
                tenants: ["pilot".to_owned()].into_iter().collect(),
            }),
            tenant_header: HeaderName::from_static("x-tenant-id"),
        }
    }

    fn pick(t: &RoutingTable, tenant: Option<&'static str>) -> Option<Color> {
        t.pick(tenant.map(str::as_bytes)).map(|t| t.color)
    }

    #[test]
    fn tenants_are_sticky_to_one_colour() {
        let t = table(100);
        assert_eq!(pick(&t, Some("pilot")), Some(Color::Green));
        // Even at weight 100 an unlisted tenant stays on the primary.
        assert_eq!(pick(&t, Some("other")), Some(Color::Blue));
        assert_eq!(pick(&t, None), Some(Color::Green));
        assert_eq!(pick(&table(0), None), Some(Color::Blue));
    }

    #[test]
    fn tenant_ids_compare_in_any_case_as_on_azure() {
        let t = table(0);
        for id in ["pilot", "Pilot", "PILOT", " pilot "] {
            assert_eq!(pick(&t, Some(id)), Some(Color::Green), "{id:?}");
        }
        assert_eq!(pick(&t, Some("pilots")), Some(Color::Blue));
    }

    #[test]
    fn weight_splits_headerless_traffic() {
        let t = table(25);
        let green = (0..10_000)
            .filter(|_| pick(&t, None) == Some(Color::Green))
            .count();
        assert!((2_000..3_000).contains(&green), "{green}");
    }

    #[test]
    fn the_tenant_header_matches_in_any_case() {
        let t = table(0);
        assert!(t.is_tenant_header(b"X-Tenant-ID"));
        assert!(!t.is_tenant_header(b"x-tenant"));
    }

    #[test]
    fn empty_table_routes_nothing() {
        let t = RoutingTable::empty(HeaderName::from_static("x-tenant-id"));
        assert!(pick(&t, None).is_none());
    }
}
