//! Set-nested blocks whose elements have a default: the plan must keep each
//! element's own configured values, whatever order cty puts the set in.

use bluegreen_acceptance::harness::{ImportVerify, State, Step, TestCase};

use crate::{bgtest, config, store_is_empty};

fn ports(state: &State) -> Vec<(i64, String)> {
    let a = state.resource("bgtest_thing.p");
    let mut ports: Vec<(i64, String)> = a
        .attr("port")
        .as_array()
        .expect("port is a list in show -json")
        .iter()
        .map(|p| {
            (
                p["number"].as_i64().expect("number"),
                p["kind"].as_str().expect("kind").to_string(),
            )
        })
        .collect();
    ports.sort();
    ports
}

fn thing(ports: &str) -> String {
    config(&format!(
        "\nresource \"bgtest_thing\" \"p\" {{\n  name = \"ports\"\n{ports}}}\n"
    ))
}

#[test]
fn set_nested_blocks() {
    TestCase::new("set_nested_blocks", bgtest())
        .step(
            Step::new(thing(
                "  port {\n    number = 80\n  }\n  port {\n    number = 443\n    kind   = \"udp\"\n  }\n",
            ))
            .check(|state| {
                assert_eq!(ports(state), [(80, "tcp".to_string()), (443, "udp".to_string())]);
            })
            .import_verify(ImportVerify::new("bgtest_thing.p")),
        )
        .step(
            Step::new(thing(
                "  port {\n    number = 80\n    kind   = \"udp\"\n  }\n  port {\n    number = 443\n  }\n  port {\n    number = 8080\n  }\n",
            ))
            .check(|state| {
                assert_eq!(
                    ports(state),
                    [(80, "udp".to_string()), (443, "tcp".to_string()), (8080, "tcp".to_string())]
                );
            }),
        )
        .check_destroy(store_is_empty)
        .run();
}
