//! The Azure client layer against the Azure emulator on loopback (TLS from
//! its own CA, real token endpoints, ARM with LROs and fault scripts): each
//! credential kind, typed GET/PATCH of a Container App and a Front Door
//! route, LROs ending Succeeded and Failed, throttling and server errors
//! retried, an expired token recovered, a wait cancelled, no secret in the
//! trace log, and our request bodies judged by Microsoft's Python SDK.

#[path = "../../azure-emulator/tests/common/mod.rs"]
mod emulator;
mod private_cloud;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bluegreen_azure_emulator::EmulatorInfo;
use private_cloud::{settings_for, NoEnv};
use serde_json::{json, Value};
use terraform_provider_bluegreen::platform::azure::auth::CredentialOptions;
use terraform_provider_bluegreen::platform::azure::client::{ArmClient, ArmOptions};
use terraform_provider_bluegreen::platform::azure::error::AzureError;
use terraform_provider_bluegreen::platform::azure::lock;
use terraform_provider_bluegreen::platform::azure::models::{
    ContainerApp, Ingress, List, Origin, Route, Rule, TrafficWeight, APP_API_VERSION,
    CDN_API_VERSION,
};
use terraform_provider_bluegreen::platform::azure::resource_id::ResourceId;
use terraform_provider_bluegreen::platform::azure::settings::{
    self, AssertionSource, AzureBlock, AzureSettings, CredentialSource, ManagedIdentityEndpoint,
    Sensitive, SubscriptionSource,
};
use terraform_provider_bluegreen::platform::azure::tags::merge_tags;
use tokio_util::sync::CancellationToken;

/// Short backoffs so retried faults cost little; polls stay at ARM's 1 s.
fn options() -> ArmOptions {
    ArmOptions {
        backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(400),
        request_timeout: Duration::from_secs(20),
        operation_timeout: Duration::from_secs(60),
        ..ArmOptions::default()
    }
}

fn client_with(settings: &AzureSettings, cli: CredentialOptions) -> ArmClient {
    ArmClient::new(settings, options(), cli).expect("client")
}

struct Seeded {
    app: ResourceId,
    route: ResourceId,
    blue: ResourceId,
    green: ResourceId,
    split: ResourceId,
    rule_set: ResourceId,
}

async fn seed(info: &EmulatorInfo) -> Seeded {
    let (status, ids) = emulator::admin(info, "POST", "/admin/seed", Some(json!({}))).await;
    assert_eq!(status, 201, "{ids:?}");
    let id = |k: &str| ResourceId::parse(ids[k].as_str().unwrap_or_default()).expect(k);
    Seeded {
        app: id("container_app_id"),
        route: id("front_door_route_id"),
        blue: id("blue_origin_group_id"),
        green: id("green_origin_group_id"),
        split: id("split_origin_group_id"),
        rule_set: id("rule_set_id"),
    }
}

async fn journal(info: &EmulatorInfo) -> Vec<Value> {
    let (status, body) = emulator::admin(info, "GET", "/admin/journal", None).await;
    assert_eq!(status, 200);
    body.as_array()
        .cloned()
        .or_else(|| body["entries"].as_array().cloned())
        .unwrap_or_default()
}

async fn fault(info: &EmulatorInfo, script: Value) {
    let (status, body) = emulator::admin(info, "POST", "/admin/faults", Some(script)).await;
    assert!(status < 300, "fault refused: {status} {body:?}");
}

/// A JWT-shaped federated token for the Entra federation audience.
fn federated_jwt(subject: &str) -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() + 600)
        .unwrap_or(0);
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = URL_SAFE_NO_PAD.encode(
        json!({"aud": "api://AzureADTokenExchange", "iss": "https://token.actions.example",
               "sub": subject, "exp": exp})
        .to_string(),
    );
    format!("{header}.{claims}.c2lnbmF0dXJl")
}

/// Credential options that put the emulator's `az` stand-in first on PATH
/// (the directory lives as long as the returned guard).
fn az_stand_in(info: &EmulatorInfo) -> (tempfile::TempDir, CredentialOptions) {
    let az = target_debug().join("bluegreen-azure-emulator-az");
    assert!(
        az.exists(),
        "{} is missing: run `cargo build -p bluegreen-azure-emulator` first",
        az.display()
    );
    let bin = tempfile::tempdir().expect("temp dir");
    std::os::unix::fs::symlink(&az, bin.path().join("az")).expect("link az");
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let cli = CredentialOptions {
        cli_environment: vec![
            (OsString::from("PATH"), OsString::from(path)),
            (
                OsString::from("BLUEGREEN_AZURE_EMULATOR_ADMIN_URL"),
                OsString::from(info.admin_url.clone()),
            ),
        ],
    };
    (bin, cli)
}

fn target_debug() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.parent()
                .and_then(|deps| deps.parent())
                .map(PathBuf::from)
        })
        .expect("target dir")
}

#[tokio::test]
async fn typed_get_and_patch_of_a_route_and_a_container_app() {
    let emu = emulator::start().await;
    let ids = seed(&emu.info).await;
    let client = client_with(&settings_for(&emu.info), CredentialOptions::default());
    let stop = CancellationToken::new();

    let route: Route = client
        .get(&ids.route, CDN_API_VERSION, &stop)
        .await
        .expect("GET route");
    // Front Door answers `origingroups`; azurerm's ids say `originGroups`.
    assert_eq!(route.origin_group(), Some(&ids.blue));
    assert_eq!(client.credentials().in_use().await, Some("client secret"));

    // The switch: Front Door answers 202 with Azure-AsyncOperation and Location.
    let switched: Route = client
        .patch(
            &ids.route,
            CDN_API_VERSION,
            &Route::origin_group_patch(ids.green.clone()),
            &stop,
        )
        .await
        .expect("PATCH route");
    assert_eq!(switched.origin_group(), Some(&ids.green));
    assert_eq!(
        switched
            .properties
            .as_ref()
            .and_then(|p| p.provisioning_state.as_deref()),
        Some("Succeeded")
    );

    // Container Apps' PATCH answers 202 with Location only.
    let app: ContainerApp = client
        .get(&ids.app, APP_API_VERSION, &stop)
        .await
        .expect("GET app");
    let props = app.properties.as_ref().expect("properties");
    let revision = props.latest_revision_name.clone().expect("latest revision");
    let patch = ContainerApp {
        properties: Some(
            terraform_provider_bluegreen::platform::azure::models::ContainerAppProperties {
                configuration: Some(
                    terraform_provider_bluegreen::platform::azure::models::Configuration {
                        ingress: Some(Ingress {
                            traffic: Some(vec![TrafficWeight {
                                revision_name: Some(revision.clone()),
                                weight: Some(100),
                                label: Some("blue".into()),
                                ..TrafficWeight::default()
                            }]),
                            ..Ingress::default()
                        }),
                        ..Default::default()
                    },
                ),
                ..Default::default()
            },
        ),
        ..ContainerApp::default()
    };
    let patched: ContainerApp = client
        .patch(&ids.app, APP_API_VERSION, &patch, &stop)
        .await
        .expect("PATCH app");
    let traffic = patched
        .properties
        .and_then(|p| p.configuration)
        .and_then(|c| c.ingress)
        .and_then(|i| i.traffic)
        .expect("traffic");
    assert_eq!(traffic.len(), 1);
    assert_eq!(traffic[0].label.as_deref(), Some("blue"));
    assert_eq!(traffic[0].revision_name.as_deref(), Some(revision.as_str()));

    // Exactly one write each, with only what we set in the bodies.
    let entries = journal(&emu.info).await;
    // The app's operation: PATCH, then its Location until done, whose final
    // answer is the app (no extra GET).
    let after_app_patch: Vec<&str> = entries
        .iter()
        .skip_while(|e| {
            !(e["method"] == "PATCH"
                && e["path"]
                    .as_str()
                    .is_some_and(|p| p.contains("containerApps")))
        })
        .filter_map(|e| e["path"].as_str())
        .collect();
    assert!(
        after_app_patch.len() >= 2
            && after_app_patch[1..]
                .iter()
                .all(|p| p.contains("containerappOperationResults")),
        "{after_app_patch:?}"
    );
    let writes: Vec<&Value> = entries.iter().filter(|e| e["method"] == "PATCH").collect();
    assert_eq!(writes.len(), 2, "{writes:?}");
    let route_body: Value = match &writes[0]["body"] {
        Value::String(s) => serde_json::from_str(s).expect("body JSON"),
        other => other.clone(),
    };
    assert_eq!(
        route_body,
        json!({"properties": {"originGroup": {"id": ids.green.as_str()}}})
    );
    // Polls came at least a second apart.
    let polls: Vec<&Value> = entries
        .iter()
        .filter(|e| {
            e["method"] == "GET"
                && e["path"]
                    .as_str()
                    .is_some_and(|p| p.to_ascii_lowercase().contains("operation"))
        })
        .collect();
    assert!(!polls.is_empty(), "no operation polls in {entries:?}");
}

#[tokio::test]
async fn a_failed_operation_reports_code_and_request_id_and_changes_nothing() {
    let emu = emulator::start().await;
    let ids = seed(&emu.info).await;
    let client = client_with(&settings_for(&emu.info), CredentialOptions::default());
    let stop = CancellationToken::new();
    fault(
        &emu.info,
        json!({"method": "PATCH", "path": "/routes/", "lro_failed":
               {"code": "OriginGroupBusy", "message": "the origin group is being updated"}}),
    )
    .await;
    let err = client
        .patch::<_, Route>(
            &ids.route,
            CDN_API_VERSION,
            &Route::origin_group_patch(ids.green.clone()),
            &stop,
        )
        .await
        .expect_err("operation fails");
    let arm = err.arm().expect("ARM error inside");
    assert!(matches!(err, AzureError::OperationFailed { .. }), "{err}");
    assert_eq!(arm.code, "OriginGroupBusy");
    assert!(arm.request_id.is_some(), "{err}");
    let shown = err.to_string();
    assert!(
        shown.contains("OriginGroupBusy") && shown.contains("x-ms-request-id"),
        "{shown}"
    );
    let route: Route = client
        .get(&ids.route, CDN_API_VERSION, &stop)
        .await
        .expect("GET route");
    assert_eq!(
        route.origin_group(),
        Some(&ids.blue),
        "route must be unchanged"
    );

    // The Location flavour (Container Apps) fails the same way.
    fault(
        &emu.info,
        json!({"method": "PATCH", "path": "/containerApps/", "lro_failed":
               {"code": "ContainerAppProvisioningFailed", "message": "image pull failed"}}),
    )
    .await;
    let err = client
        .patch::<_, ContainerApp>(
            &ids.app,
            APP_API_VERSION,
            &json!({"tags": {"k": "v"}}),
            &stop,
        )
        .await
        .expect_err("operation fails");
    let arm = err.arm().expect("ARM error inside");
    assert_eq!(arm.code, "ContainerAppProvisioningFailed", "{err}");
    assert!(arm.request_id.is_some(), "{err}");
    // Told as the write's failure, not as a failed GET of the poll URL.
    assert_eq!(
        (arm.method.as_str(), arm.path.to_ascii_lowercase()),
        ("PATCH", ids.app.as_str().to_ascii_lowercase()),
        "{err}"
    );
}

#[tokio::test]
async fn throttling_is_waited_out_and_server_errors_are_retried() {
    let emu = emulator::start().await;
    let ids = seed(&emu.info).await;
    let client = client_with(&settings_for(&emu.info), CredentialOptions::default());
    let stop = CancellationToken::new();
    // Warm the token so only ARM requests are timed.
    let _: Route = client
        .get(&ids.route, CDN_API_VERSION, &stop)
        .await
        .expect("GET");

    fault(
        &emu.info,
        json!({"method": "GET", "path": "/routes/", "status": 429, "retry_after": 1}),
    )
    .await;
    let started = Instant::now();
    let _: Route = client
        .get(&ids.route, CDN_API_VERSION, &stop)
        .await
        .expect("GET after 429");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(1),
        "Retry-After: 1 not honoured: {waited:?}"
    );

    fault(
        &emu.info,
        json!({"method": "GET", "path": "/routes/", "status": 503, "count": 2}),
    )
    .await;
    let _: Route = client
        .get(&ids.route, CDN_API_VERSION, &stop)
        .await
        .expect("GET after 503s");

    let statuses: Vec<u64> = journal(&emu.info)
        .await
        .iter()
        .filter(|e| {
            e["method"] == "GET" && e["path"].as_str().is_some_and(|p| p.contains("/routes/"))
        })
        .filter_map(|e| e["status"].as_u64())
        .collect();
    assert_eq!(statuses, [200, 429, 200, 503, 503, 200]);

    // Beyond the retry budget the ARM error comes back with its code.
    fault(
        &emu.info,
        json!({"method": "GET", "path": "/routes/", "status": 500, "count": 10, "code": "InternalServerError"}),
    )
    .await;
    let err = client
        .get::<Route>(&ids.route, CDN_API_VERSION, &stop)
        .await
        .expect_err("retries exhausted");
    assert_eq!(
        err.arm().map(|e| e.code.as_str()),
        Some("InternalServerError"),
        "{err}"
    );
    assert!(err.retryable());
}

#[tokio::test]
async fn an_expired_token_is_replaced_once() {
    let emu = emulator::start().await;
    let ids = seed(&emu.info).await;
    let client = client_with(&settings_for(&emu.info), CredentialOptions::default());
    let stop = CancellationToken::new();
    let _: Route = client
        .get(&ids.route, CDN_API_VERSION, &stop)
        .await
        .expect("GET");
    let (status, _) = emulator::admin(&emu.info, "POST", "/admin/tokens/expire", None).await;
    assert!(status < 300);
    let _: Route = client
        .get(&ids.route, CDN_API_VERSION, &stop)
        .await
        .expect("GET after the token expired");
    let entries = journal(&emu.info).await;
    let route_statuses: Vec<u64> = entries
        .iter()
        .filter(|e| e["path"].as_str().is_some_and(|p| p.contains("/routes/")))
        .filter_map(|e| e["status"].as_u64())
        .collect();
    assert_eq!(route_statuses, [200, 401, 200]);
    let token_requests = entries
        .iter()
        .filter(|e| e["path"].as_str().is_some_and(|p| p.ends_with("/token")))
        .count();
    assert_eq!(token_requests, 2, "{entries:?}");
}

#[tokio::test]
async fn stopping_during_a_wait_returns_within_two_seconds() {
    let emu = emulator::start().await;
    let ids = seed(&emu.info).await;
    let client = client_with(&settings_for(&emu.info), CredentialOptions::default());
    fault(
        &emu.info,
        json!({"method": "GET", "path": "/routes/", "status": 429, "retry_after": 60}),
    )
    .await;
    let stop = CancellationToken::new();
    let trigger = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        trigger.cancel();
    });
    let started = Instant::now();
    let err = client
        .get::<Route>(&ids.route, CDN_API_VERSION, &stop)
        .await
        .expect_err("cancelled");
    let took = started.elapsed();
    assert!(matches!(err, AzureError::Cancelled(_)), "{err}");
    assert!(took < Duration::from_secs(2), "stop took {took:?}");
    assert!(
        err.to_string().contains("429"),
        "the wait names what it waited for: {err}"
    );
}

/// Gets a token and reads the route with only `source` configured.
async fn authenticate_with(
    info: &EmulatorInfo,
    route: &ResourceId,
    source: CredentialSource,
    cli: CredentialOptions,
) -> Result<Option<&'static str>, AzureError> {
    let mut settings = settings_for(info);
    settings.credentials = vec![source];
    let client = client_with(&settings, cli);
    let stop = CancellationToken::new();
    client.get::<Route>(route, CDN_API_VERSION, &stop).await?;
    Ok(client.credentials().in_use().await)
}

/// A one-request HTTP server standing in for GitHub Actions' token service:
/// answers `{"value": token}` to a bearer-authenticated request for the
/// federation audience, 401 otherwise.
async fn github_token_service(bearer: &'static str, token: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/token?api-version=2.0",
        listener.local_addr().expect("addr")
    );
    tokio::spawn(async move {
        for _ in 0..4 {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut buf = vec![0u8; 8192];
            let mut read = 0;
            while !buf[..read].windows(4).any(|w| w == b"\r\n\r\n") && read < buf.len() {
                match socket.read(&mut buf[read..]).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => read += n,
                }
            }
            let head = String::from_utf8_lossy(&buf[..read]).to_ascii_lowercase();
            let ok = head.contains(&format!("authorization: bearer {bearer}"))
                && head.contains("audience=api%3a%2f%2fazureadtokenexchange");
            let (status, body) = if ok {
                ("200 OK", json!({"value": token}).to_string())
            } else {
                ("401 Unauthorized", "{}".to_string())
            };
            let reply = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(reply.as_bytes()).await;
        }
    });
    url
}

#[tokio::test]
async fn every_credential_kind_gets_a_token() {
    let emu = emulator::start().await;
    let ids = seed(&emu.info).await;
    let info = &emu.info;
    let none = CredentialOptions::default;

    let kind = authenticate_with(
        info,
        &ids.route,
        CredentialSource::ClientAssertion {
            tenant_id: info.tenant_id.clone(),
            client_id: info.client_id.clone(),
            assertion: AssertionSource::Token(Sensitive::new(federated_jwt("repo:agog/app"))),
        },
        none(),
    )
    .await
    .expect("OIDC token");
    assert_eq!(kind, Some("OIDC token (client assertion)"));

    let service = github_token_service("gh-bearer", federated_jwt("repo:agog/app:ref:main")).await;
    let kind = authenticate_with(
        info,
        &ids.route,
        CredentialSource::ClientAssertion {
            tenant_id: info.tenant_id.clone(),
            client_id: info.client_id.clone(),
            assertion: AssertionSource::GitHubActions {
                request_url: service,
                request_token: Sensitive::new("gh-bearer"),
            },
        },
        none(),
    )
    .await
    .expect("GitHub Actions OIDC");
    assert_eq!(kind, Some("OIDC from GitHub Actions (client assertion)"));

    let dir = tempfile::tempdir().expect("temp dir");
    let token_file = dir.path().join("federated-token");
    std::fs::write(&token_file, federated_jwt("system:serviceaccount:ns:app")).expect("token file");
    let kind = authenticate_with(
        info,
        &ids.route,
        CredentialSource::WorkloadIdentity {
            tenant_id: info.tenant_id.clone(),
            client_id: info.client_id.clone(),
            token_file,
        },
        none(),
    )
    .await
    .expect("workload identity");
    assert_eq!(kind, Some("workload identity (OIDC token file)"));

    for endpoint in [
        ManagedIdentityEndpoint::Imds(format!("{}/metadata/identity/oauth2/token", info.base_url)),
        ManagedIdentityEndpoint::AppService {
            endpoint: info.identity_endpoint.clone(),
            header: Sensitive::new(info.identity_header.clone()),
        },
    ] {
        let kind = authenticate_with(
            info,
            &ids.route,
            CredentialSource::ManagedIdentity {
                client_id: None,
                endpoint: endpoint.clone(),
            },
            none(),
        )
        .await
        .unwrap_or_else(|e| panic!("managed identity {endpoint:?}: {e}"));
        assert_eq!(kind, Some("managed identity"));
    }

    // The Azure CLI: the emulator's `az` stand-in first on PATH.
    let (_bin, cli) = az_stand_in(info);
    let kind = authenticate_with(
        info,
        &ids.route,
        CredentialSource::AzureCli { tenant_id: None },
        cli.clone(),
    )
    .await
    .expect("Azure CLI");
    assert_eq!(kind, Some("Azure CLI"));

    // The first configured credential that works wins; when none does, the
    // error lists each one tried with its reason.
    let (status, _) = emulator::admin(
        info,
        "PATCH",
        "/admin/settings",
        Some(json!({"cli_logged_in": false})),
    )
    .await;
    assert!(status < 300);
    let mut settings = settings_for(info);
    settings.credentials = vec![
        CredentialSource::ClientSecret {
            tenant_id: info.tenant_id.clone(),
            client_id: info.client_id.clone(),
            client_secret: Sensitive::new("wrong-secret-value"),
        },
        CredentialSource::AzureCli { tenant_id: None },
    ];
    let client = client_with(&settings, cli.clone());
    let err = client
        .get::<Route>(&ids.route, CDN_API_VERSION, &CancellationToken::new())
        .await
        .expect_err("no credential works");
    let shown = err.to_string();
    assert!(
        shown.contains("1. client secret:") && shown.contains("2. Azure CLI:"),
        "{shown}"
    );
    assert!(shown.contains("az login"), "{shown}");
    assert!(!shown.contains("wrong-secret-value"), "{shown}");

    settings.credentials.push(CredentialSource::ClientSecret {
        tenant_id: info.tenant_id.clone(),
        client_id: info.client_id.clone(),
        client_secret: Sensitive::new(info.client_secret.clone()),
    });
    let client = client_with(&settings, cli);
    client
        .get::<Route>(&ids.route, CDN_API_VERSION, &CancellationToken::new())
        .await
        .expect("the third credential works");
    assert_eq!(client.credentials().in_use().await, Some("client secret"));
}

/// Everything tracing emits, fields included.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={value:?} ", field.name()));
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut line = format!(
            "{} {}: ",
            event.metadata().level(),
            event.metadata().target()
        );
        event.record(&mut Fields(&mut line));
        if let Ok(mut all) = self.0.lock() {
            all.push_str(&line);
            all.push('\n');
        }
    }

    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut line = format!("span {}: ", attrs.metadata().name());
        attrs.record(&mut Fields(&mut line));
        if let Ok(mut all) = self.0.lock() {
            all.push_str(&line);
            all.push('\n');
        }
    }

    fn on_record(
        &self,
        _: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut line = String::from("record: ");
        values.record(&mut Fields(&mut line));
        if let Ok(mut all) = self.0.lock() {
            all.push_str(&line);
            all.push('\n');
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn trace_logs_carry_no_secret_token_or_assertion() {
    use tracing_subscriber::layer::SubscriberExt;
    let capture = Capture::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));

    let emu = emulator::start().await;
    let ids = seed(&emu.info).await;
    let info = &emu.info;
    let stop = CancellationToken::new();
    let assertion = federated_jwt("repo:agog/app");

    let mut settings = settings_for(info);
    settings.credentials.insert(
        0,
        CredentialSource::ClientAssertion {
            tenant_id: info.tenant_id.clone(),
            client_id: "not-the-client".into(),
            assertion: AssertionSource::Token(Sensitive::new(assertion.clone())),
        },
    );
    let client = client_with(&settings, CredentialOptions::default());
    let _: Route = client
        .get(&ids.route, CDN_API_VERSION, &stop)
        .await
        .expect("GET");
    let first = client
        .credentials()
        .token(&stop)
        .await
        .expect("token")
        .secret()
        .to_string();
    // A 401 and a re-authentication, a PATCH with its LRO, a throttled retry.
    emulator::admin(info, "POST", "/admin/tokens/expire", None).await;
    let _: Route = client
        .patch(
            &ids.route,
            CDN_API_VERSION,
            &Route::origin_group_patch(ids.green.clone()),
            &stop,
        )
        .await
        .expect("PATCH");
    // Another test of this binary may have registered the retry event's callsite
    // on its own thread, where no subscriber listens: its cached "never" would hide
    // the event from this thread's capture.
    tracing::callsite::rebuild_interest_cache();
    fault(
        info,
        json!({"method": "GET", "path": "/routes/", "status": 429, "retry_after": 1}),
    )
    .await;
    let _: Route = client
        .get(&ids.route, CDN_API_VERSION, &stop)
        .await
        .expect("GET");
    let second = client
        .credentials()
        .token(&stop)
        .await
        .expect("token")
        .secret()
        .to_string();
    assert_ne!(first, second, "the expired token was replaced");

    let logged = capture.0.lock().map(|s| s.clone()).unwrap_or_default();
    assert!(
        logged.contains("azure http request"),
        "nothing captured: {logged}"
    );
    assert!(
        logged.contains("azure asked to retry"),
        "retry not logged: {logged}"
    );
    for (what, secret) in [
        ("client secret", info.client_secret.as_str()),
        ("first token", first.as_str()),
        ("second token", second.as_str()),
        ("client assertion", assertion.as_str()),
        ("identity header", info.identity_header.as_str()),
    ] {
        assert!(
            !logged.contains(secret),
            "the {what} appears in the trace log"
        );
    }
    // Tokens are JWTs: no part of one may show either (e.g. a truncated header).
    for part in second.split('.') {
        assert!(
            !logged.contains(part),
            "part of a token appears in the trace log"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microsofts_sdk_models_accept_our_request_bodies() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let venv = std::env::var_os("AZURE_SDK_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".tools/azure-sdk-venv"));
    let python = venv.join("bin/python");
    if !venv.join(".installed").exists() {
        // CI builds the venv (`make tools`); there its absence is a failure.
        assert!(
            std::env::var_os("CI").is_none(),
            "Microsoft's Python SDK is not installed in {}: run `make azure-sdk-venv`",
            venv.display()
        );
        eprintln!(
            "skipped: Microsoft's Python SDK is not installed in {} (run `make azure-sdk-venv`)",
            venv.display()
        );
        return;
    }

    let emu = emulator::start().await;
    let ids = seed(&emu.info).await;
    let client = client_with(&settings_for(&emu.info), CredentialOptions::default());
    let stop = CancellationToken::new();

    let _: Route = client
        .patch(
            &ids.route,
            CDN_API_VERSION,
            &Route::origin_group_patch(ids.green.clone()),
            &stop,
        )
        .await
        .expect("PATCH route");
    let app: ContainerApp = client
        .get(&ids.app, APP_API_VERSION, &stop)
        .await
        .expect("GET app");
    // A deploy-shaped PATCH: the template read back with a new image and suffix.
    let mut template = app.properties.and_then(|p| p.template).expect("template");
    template.revision_suffix = Some("v2-0-0".into());
    if let Some(c) = template.containers.as_mut().and_then(|c| c.first_mut()) {
        c.image = Some("agog/orders:2.0.0".into());
    }
    let patch = json!({"properties": {"template": template}});
    let _: ContainerApp = client
        .patch(&ids.app, APP_API_VERSION, &patch, &stop)
        .await
        .expect("PATCH app");
    let rule = Rule::header_override(1, "x-tenant", vec!["acme".into()], ids.green.clone());
    let _: Rule = client
        .put(
            &ids.rule_set.child("rules", "tenants"),
            CDN_API_VERSION,
            &rule,
            &stop,
        )
        .await
        .expect("PUT rule");
    let origins: List<Origin> = client
        .get_path(
            &format!("{}/origins", ids.split),
            CDN_API_VERSION,
            &[],
            &stop,
        )
        .await
        .expect("list origins");
    let origin = origins.value[0].id.clone().expect("origin id");
    let _: Origin = client
        .patch(&origin, CDN_API_VERSION, &Origin::weight_patch(600), &stop)
        .await
        .expect("PATCH origin");

    let tags = BTreeMap::from([(lock::LOCK_TAG.to_string(), "value".to_string())]);
    merge_tags(&client, &ids.app, &tags, &stop)
        .await
        .expect("PATCH tags at scope");

    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("journal.json");
    let (_, body) = emulator::admin(&emu.info, "GET", "/admin/journal", None).await;
    std::fs::write(&file, body.to_string()).expect("journal file");
    let output = tokio::process::Command::new(&python)
        .arg(root.join("tests/azure-emulator/sdk/body_check.py"))
        .arg(&file)
        .output()
        .await
        .expect("run body_check.py");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the SDK judge flagged our bodies: {report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let checked: Value = serde_json::from_str(&report).expect("the judge's JSON report");
    assert_eq!(
        checked["checked"], 5,
        "route, app, rule, origin and tags bodies: {report}"
    );
    assert_eq!(checked["unknown"], json!([]), "{report}");
    assert_eq!(checked["readonly"], json!([]), "{report}");
}

#[tokio::test]
async fn a_token_near_its_expiry_is_refreshed_before_use() {
    let emu = emulator::start().await;
    let ids = seed(&emu.info).await;
    // Two minutes left is inside the five-minute refresh margin: every use asks anew.
    let (status, _) = emulator::admin(
        &emu.info,
        "PATCH",
        "/admin/settings",
        Some(json!({"token_lifetime_s": 120})),
    )
    .await;
    assert!(status < 300);
    let client = client_with(&settings_for(&emu.info), CredentialOptions::default());
    let stop = CancellationToken::new();
    for _ in 0..2 {
        let _: Route = client
            .get(&ids.route, CDN_API_VERSION, &stop)
            .await
            .expect("GET");
    }
    let entries = journal(&emu.info).await;
    let tokens = entries
        .iter()
        .filter(|e| e["path"].as_str().is_some_and(|p| p.ends_with("/token")))
        .count();
    assert_eq!(tokens, 2, "one fresh token per use: {entries:?}");
    assert!(
        entries.iter().all(|e| e["status"] != 401),
        "no request went out with a stale token: {entries:?}"
    );

    // With an hour left, the cached token serves every request.
    let (status, _) = emulator::admin(
        &emu.info,
        "PATCH",
        "/admin/settings",
        Some(json!({"token_lifetime_s": 3600})),
    )
    .await;
    assert!(status < 300);
    emulator::admin(&emu.info, "DELETE", "/admin/journal", None).await;
    let client = client_with(&settings_for(&emu.info), CredentialOptions::default());
    for _ in 0..3 {
        let _: Route = client
            .get(&ids.route, CDN_API_VERSION, &stop)
            .await
            .expect("GET");
    }
    let tokens = journal(&emu.info)
        .await
        .iter()
        .filter(|e| e["path"].as_str().is_some_and(|p| p.ends_with("/token")))
        .count();
    assert_eq!(tokens, 1, "the token is cached");
}

#[tokio::test]
async fn deleting_a_rule_is_idempotent() {
    let emu = emulator::start().await;
    let ids = seed(&emu.info).await;
    let client = client_with(&settings_for(&emu.info), CredentialOptions::default());
    let stop = CancellationToken::new();
    let rule_id = ids.rule_set.child("rules", "tenants");
    let rule = Rule::header_override(1, "x-tenant", vec!["acme".into()], ids.green.clone());
    let created: Rule = client
        .put(&rule_id, CDN_API_VERSION, &rule, &stop)
        .await
        .expect("PUT rule");
    assert_eq!(created.origin_group_override(), Some(&ids.green));
    client
        .delete(&rule_id, CDN_API_VERSION, &stop)
        .await
        .expect("DELETE rule");
    let gone = client
        .get::<Rule>(&rule_id, CDN_API_VERSION, &stop)
        .await
        .expect_err("deleted");
    assert_eq!(gone.arm().map(|e| e.status), Some(404), "{gone}");
    client
        .delete(&rule_id, CDN_API_VERSION, &stop)
        .await
        .expect("a second DELETE finds nothing and is fine");
}

#[tokio::test]
async fn stopping_while_an_operation_runs_returns_within_two_seconds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = bluegreen_azure_emulator::EmulatorConfig::loopback(dir.path());
    // An operation that would take a minute.
    config.settings.lro_ms = 60_000;
    let emu = bluegreen_azure_emulator::Emulator::start(config)
        .await
        .expect("emulator starts");
    let info = emu.info().clone();
    let ids = seed(&info).await;
    let client = client_with(&settings_for(&info), CredentialOptions::default());
    let stop = CancellationToken::new();
    let trigger = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        trigger.cancel();
    });
    let started = Instant::now();
    let err = client
        .patch::<_, Route>(
            &ids.route,
            CDN_API_VERSION,
            &Route::origin_group_patch(ids.green.clone()),
            &stop,
        )
        .await
        .expect_err("stopped");
    let after_stop = started
        .elapsed()
        .saturating_sub(Duration::from_millis(1500));
    assert!(matches!(err, AzureError::Cancelled(_)), "{err}");
    assert!(
        after_stop < Duration::from_secs(2),
        "stop took {after_stop:?}"
    );
    assert!(err.to_string().contains("to finish"), "{err}");
}

#[tokio::test]
async fn monitor_metrics_tell_no_data_from_zero() {
    use terraform_provider_bluegreen::platform::azure::metrics::{Aggregation, MetricsQuery};
    let emu = emulator::start().await;
    let (status, seeded) = emulator::admin(&emu.info, "POST", "/admin/seed", Some(json!({}))).await;
    assert_eq!(status, 201);
    let profile =
        ResourceId::parse(seeded["profile_id"].as_str().unwrap_or_default()).expect("profile id");
    let sample = |group: &str, delayed: bool| {
        json!({"resource_id": profile.as_str(), "metric": "RequestCount",
               "dimensions": {"HttpStatusGroup": group}, "value": 1.0, "delayed": delayed})
    };
    let (status, body) = emulator::admin(
        &emu.info,
        "POST",
        "/admin/metrics",
        Some(json!([
            sample("2XX", false),
            sample("2XX", false),
            sample("2XX", false),
            sample("5XX", false),
            // Still inside the ingestion delay: not visible yet.
            sample("5XX", true),
        ])),
    )
    .await;
    assert!(status < 300, "{body:?}");

    let client = client_with(&settings_for(&emu.info), CredentialOptions::default());
    let stop = CancellationToken::new();
    let now = azure_core::time::OffsetDateTime::now_utc();
    let query = |names: &[&str], filter: Option<&str>| MetricsQuery {
        metric_names: names.iter().map(|n| n.to_string()).collect(),
        start: now - azure_core::time::Duration::minutes(5),
        end: now + azure_core::time::Duration::minutes(1),
        interval: "PT1M".into(),
        aggregations: vec![Aggregation::Total, Aggregation::Average],
        filter: filter.map(str::to_string),
    };
    let answer = client
        .metrics(
            &profile,
            &query(&["RequestCount"], Some("HttpStatusGroup eq '*'")),
            &stop,
        )
        .await
        .expect("metrics");
    let requests = answer.metric("RequestCount").expect("RequestCount");
    assert_eq!(requests.sum(Aggregation::Total), Some(4.0));
    assert_eq!(
        requests.sum_for(Aggregation::Total, "HttpStatusGroup", "5xx"),
        Some(1.0)
    );
    assert_eq!(
        requests.sum_for(Aggregation::Total, "HttpStatusGroup", "4xx"),
        None
    );

    let answer = client
        .metrics(&profile, &query(&["Percentage5XX"], None), &stop)
        .await
        .expect("metrics");
    let percentage = answer.metric("Percentage5XX").expect("Percentage5XX");
    assert_eq!(
        percentage.sum(Aggregation::Average),
        None,
        "no samples is no data, not 0%"
    );

    let err = client
        .metrics(&profile, &query(&["NotAMetric"], None), &stop)
        .await
        .expect_err("unknown metric");
    assert_eq!(err.arm().map(|e| e.status), Some(400), "{err}");
}

#[tokio::test]
async fn lists_follow_next_link_page_by_page_up_to_a_bound() {
    let emu = emulator::start().await;
    let ids = seed(&emu.info).await;
    let client = client_with(&settings_for(&emu.info), CredentialOptions::default());
    let stop = CancellationToken::new();
    let origins_path = format!("{}/origins", ids.split);
    let origins_gets = |entries: Vec<Value>| -> Vec<Value> {
        entries
            .into_iter()
            .filter(|e| {
                e["method"] == "GET"
                    && e["path"]
                        .as_str()
                        .is_some_and(|p| p.eq_ignore_ascii_case(&origins_path))
            })
            .collect()
    };

    let whole: Vec<Origin> = client
        .list_all(&origins_path, CDN_API_VERSION, &[], &stop)
        .await
        .expect("one page");
    assert_eq!(whole.len(), 2, "blue and green");
    assert_eq!(origins_gets(journal(&emu.info).await).len(), 1);

    let (status, _) = emulator::admin(
        &emu.info,
        "PATCH",
        "/admin/settings",
        Some(json!({"page_size": 1})),
    )
    .await;
    assert_eq!(status, 200);
    emulator::admin(&emu.info, "DELETE", "/admin/journal", None).await;
    let paged: Vec<Origin> = client
        .list_all(&origins_path, CDN_API_VERSION, &[], &stop)
        .await
        .expect("two pages");
    let names = |list: &[Origin]| {
        let mut names: Vec<String> = list.iter().filter_map(|o| o.name.clone()).collect();
        names.sort();
        names
    };
    assert_eq!(names(&paged), names(&whole), "the same items, page by page");
    let gets = origins_gets(journal(&emu.info).await);
    assert_eq!(gets.len(), 2, "{gets:?}");
    assert_eq!(gets[1]["query"]["$skiptoken"], "1", "{gets:?}");

    let err = client
        .list_all_bounded::<Origin>(&origins_path, CDN_API_VERSION, &[], 1, &stop)
        .await
        .expect_err("more pages than allowed");
    assert!(err.to_string().contains("past 1 pages"), "{err}");
}

#[test]
fn a_ca_file_that_does_not_load_is_named_with_its_attribute() {
    let dir = tempfile::tempdir().expect("temp dir");
    let garbage = dir.path().join("corporate-ca.pem");
    std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\nnot base64\n").expect("write");
    let missing = dir.path().join("missing.pem");
    for (file, says) in [(&garbage, "not a PEM bundle"), (&missing, "cannot read")] {
        let block = AzureBlock {
            subscription_id: Some("00000000-0000-0000-0000-000000000001".into()),
            ca_certificate_file: Some(file.display().to_string()),
            use_cli: Some(true),
            ..AzureBlock::default()
        };
        let settings = settings::resolve(&block, &NoEnv).expect("settings resolve");
        let err = ArmClient::new(&settings, options(), CredentialOptions::default())
            .expect_err("the CA file does not load");
        let shown = err.to_string();
        assert!(matches!(err, AzureError::Settings(_)), "{shown}");
        assert!(shown.starts_with("azure.ca_certificate_file: "), "{shown}");
        assert!(shown.contains(&file.display().to_string()), "{shown}");
        assert!(shown.contains(says), "{shown}");
    }
}

/// A well-formed CA file that lacks the endpoint's CA: the token request is
/// refused at the TLS handshake once, not retried, and the error says which
/// attribute and file to fix.
#[tokio::test]
async fn a_ca_file_without_the_endpoints_ca_is_named_and_not_retried() {
    let emu = emulator::start().await;
    let ids = seed(&emu.info).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let other = rcgen::generate_simple_self_signed(vec!["ca.other-cloud.example".into()])
        .expect("a self-signed certificate");
    let wrong = dir.path().join("other-cloud-ca.pem");
    std::fs::write(&wrong, other.cert.pem()).expect("write");
    let mut settings = settings_for(&emu.info);
    settings.ca_certificate_file = Some(wrong.clone());
    let client = client_with(&settings, CredentialOptions::default());
    let started = Instant::now();
    let err = client
        .get::<ContainerApp>(&ids.app, APP_API_VERSION, &CancellationToken::new())
        .await
        .expect_err("the endpoint's certificate is not trusted");
    let shown = err.to_string();
    for needle in [
        "not trusted",
        "azure.ca_certificate_file",
        wrong.display().to_string().as_str(),
    ] {
        assert!(shown.contains(needle), "{needle:?} missing from {shown}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a refused certificate was retried for {:?}",
        started.elapsed()
    );
    assert!(
        journal(&emu.info).await.is_empty(),
        "a request got through TLS"
    );
}

#[tokio::test]
async fn without_a_subscription_the_azure_clis_is_used_and_without_one_the_error_says_what_to_set()
{
    let emu = emulator::start().await;
    let ids = seed(&emu.info).await;
    let block = AzureBlock {
        subscription_id: None,
        tenant_id: Some(emu.info.tenant_id.clone()),
        client_id: Some(emu.info.client_id.clone()),
        client_secret: Some(emu.info.client_secret.clone()),
        resource_manager_endpoint: Some(format!("{}/", emu.info.base_url)),
        authority_host: Some(emu.info.base_url.clone()),
        ca_certificate_file: Some(emu.info.ca_file.display().to_string()),
        use_cli: Some(true),
        ..AzureBlock::default()
    };
    let settings = settings::resolve(&block, &NoEnv).expect("the CLI's subscription will do");
    assert_eq!(settings.subscription_id, SubscriptionSource::AzureCli);
    let (_bin, cli) = az_stand_in(&emu.info);
    let stop = CancellationToken::new();

    let client = client_with(&settings, cli.clone());
    let subscription = client.subscription(&stop).await.expect("az account show");
    assert_eq!(subscription, emu.info.subscription_id);
    let apps: Vec<ContainerApp> = client
        .list_all(
            &format!(
                "/subscriptions/{subscription}/resourceGroups/{}/providers/Microsoft.App/containerApps",
                ids.app.resource_group()
            ),
            APP_API_VERSION,
            &[],
            &stop,
        )
        .await
        .expect("list in the CLI's subscription");
    assert_eq!(apps.len(), 1);

    let (status, _) = emulator::admin(
        &emu.info,
        "PATCH",
        "/admin/settings",
        Some(json!({"cli_logged_in": false})),
    )
    .await;
    assert!(status < 300);
    let logged_out = client_with(&settings, cli);
    let err = logged_out
        .subscription(&stop)
        .await
        .expect_err("a logged-out CLI has no subscription");
    let shown = err.to_string();
    assert!(matches!(err, AzureError::Settings(_)), "{shown}");
    for needle in [
        "azure.subscription_id",
        "ARM_SUBSCRIPTION_ID",
        "az login",
        "Please run 'az login'",
    ] {
        assert!(shown.contains(needle), "{needle}: {shown}");
    }
}
