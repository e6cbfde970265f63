//! Only Terraform's client certificate gets an answer, and Shutdown makes the
//! process exit at once.

use std::path::Path;
use std::time::Duration;

use bluegreen_acceptance::harness::announce;
use bluegreen_acceptance::harness::plugin::{ClientIdentity, PluginProcess};
use tfplugin::proto::tfplugin6::get_provider_schema;
use tfplugin::proto::tfplugin6::provider_client::ProviderClient;
use tonic::transport::Channel;

use crate::{bgtest_binary, bluegreen_binary};

/// Time allowed between the Shutdown reply and the process exit. What
/// matters to a user is that the provider exits by itself, well before
/// Terraform's 2 s kill timer; how fast it exits is benchmark 2a's
/// "exit after Shutdown" column (under 4 ms), since a 100 ms budget here
/// failed on a machine at load 24.
const SHUTDOWN_BUDGET: Duration = Duration::from_millis(1000);

async fn schema(channel: Channel) -> Result<get_provider_schema::Response, String> {
    let mut client = ProviderClient::new(channel).max_decoding_message_size(usize::MAX);
    let call = client.get_provider_schema(get_provider_schema::Request {});
    match tokio::time::timeout(Duration::from_secs(10), call).await {
        Ok(Ok(reply)) => Ok(reply.into_inner()),
        Ok(Err(status)) => Err(format!("gRPC error: {status}")),
        Err(_) => Err("no reply within 10s".into()),
    }
}

/// A client that is not Terraform gets no response at all: the connection or
/// the first call fails.
async fn assert_refused(plugin: &PluginProcess, who: &str, client: Option<&ClientIdentity>) {
    match plugin.connect(client).await {
        Err(e) => announce(&format!(
            "acceptance: mtls: {who}: connection refused ({e})"
        )),
        Ok(channel) => match schema(channel).await {
            Ok(_) => {
                panic!("{who} got a GetProviderSchema reply; only Terraform's certificate may")
            }
            Err(e) => announce(&format!("acceptance: mtls: {who}: call refused ({e})")),
        },
    }
}

async fn mtls_and_shutdown(binary: &Path, resource: Option<&str>) {
    let terraform = ClientIdentity::generate().expect("generate Terraform's client certificate");
    let stranger = ClientIdentity::generate().expect("generate another certificate");
    let mut plugin = PluginProcess::start(binary, Some(&terraform.cert_pem))
        .await
        .expect("start the plugin");
    let hs = plugin.handshake.clone();
    assert_eq!(
        (hs.core_version, hs.protocol_version, hs.network.as_str()),
        (1, 6, "unix"),
        "{}",
        hs.line
    );
    assert!(
        hs.server_cert.is_some(),
        "with PLUGIN_CLIENT_CERT the plugin must serve TLS: {}",
        hs.line
    );

    // (a) Terraform's certificate: served.
    let trusted = plugin
        .connect(Some(&terraform))
        .await
        .expect("connect with Terraform's certificate");
    let reply = schema(trusted.clone())
        .await
        .expect("GetProviderSchema with Terraform's certificate");
    assert!(
        reply.provider.is_some(),
        "the reply carries the provider schema"
    );
    assert!(reply.diagnostics.is_empty(), "{:?}", reply.diagnostics);
    if let Some(resource) = resource {
        assert!(
            reply.resource_schemas.contains_key(resource),
            "{resource} in {:?}",
            reply.resource_schemas.keys()
        );
    }

    // (b) another self-signed certificate, (c) none: refused.
    assert_refused(&plugin, "a different certificate", Some(&stranger)).await;
    assert_refused(&plugin, "no certificate", None).await;
    assert!(
        plugin.try_wait().is_none(),
        "refused clients must not stop the plugin:\n{}",
        plugin.stderr()
    );
    schema(trusted.clone())
        .await
        .expect("Terraform is still served after the refusals");

    // (d) Shutdown: the process is gone within the budget.
    let exit = plugin
        .shutdown(trusted, Duration::from_secs(5))
        .await
        .expect("Shutdown");
    announce(&format!(
        "acceptance: mtls: {}: handshake after {:?}, exited {exit:?} after the Shutdown reply",
        binary.file_name().unwrap_or_default().to_string_lossy(),
        plugin.time_to_handshake
    ));
    assert!(
        exit <= SHUTDOWN_BUDGET,
        "exit took {exit:?} after Shutdown (budget {SHUTDOWN_BUDGET:?})"
    );
    assert!(
        !Path::new(&hs.address).exists(),
        "the socket {} was left behind",
        hs.address
    );
    assert_eq!(
        plugin.stdout_after_handshake(),
        "",
        "nothing but the handshake may go to stdout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_and_shutdown_test_provider() {
    mtls_and_shutdown(&bgtest_binary(), Some("bgtest_thing")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_and_shutdown_real_provider() {
    mtls_and_shutdown(&bluegreen_binary(), None).await;
}
