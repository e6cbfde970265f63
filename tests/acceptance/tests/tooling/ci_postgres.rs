//! `.ci/run`'s throwaway PostgreSQL: a real server while the script runs,
//! and neither the server nor its data directory (~280 MB after a test run)
//! once it exits.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use crate::{both, run_in_repo};

/// The part of `.ci/run` that starts PostgreSQL, then a query against it,
/// then what the tests would need to know: the directory and the port.
const SCRIPT: &str = r#"set -euo pipefail
source .ci/postgres.sh
start_throwaway_postgres
test -d "$pg_dir/data"
echo "query: $("$pg_bin/psql" "$BLUEGREEN_TEST_DATABASE_URL" -tAc 'select 40 + 2')"
echo "dir: $pg_dir"
echo "port: $pg_port"
"#;

#[test]
fn ci_postgres_is_stopped_and_removed_on_exit() {
    let out = run_in_repo("bash", &["-c", SCRIPT]);
    let text = both(&out);
    assert!(
        out.status.success(),
        "starting PostgreSQL the way .ci/run does failed:\n{text}"
    );
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("the script printed no {name:?}:\n{text}"))
            .trim()
            .to_string()
    };
    assert_eq!(field("query"), "42", "PostgreSQL did not answer:\n{text}");
    let dir = field("dir");
    assert!(
        dir.starts_with("/tmp/bluegreen-ci-pg."),
        "unexpected data directory {dir:?}"
    );
    let leftover = Path::new(&dir).exists();
    if leftover {
        // Do not leave it to the next run either.
        let _ = run_in_repo("rm", &["-rf", &dir]);
    }
    assert!(
        !leftover,
        "{dir} is still there after the script exited: .ci/run leaves its PostgreSQL data behind"
    );
    let port: u16 = field("port").parse().expect("a port number");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err(),
        "PostgreSQL still answers on {addr} after the script exited"
    );
}
