//! `trait Platform` on Azure: colours are the `blue`/`green` revision labels of
//! one Container App, the switch is one PATCH of a Front Door route's origin
//! group, canary and tenants are origin weights plus a rule (colors.rs,
//! routing.rs). What a fresh process needs and no handle carries (the image
//! template, the probe path, the ids for `locate`) is kept in tags on the app,
//! written through the tags API at scope (tags.rs), so neither they nor the
//! lock (lock.rs, the `bluegreen-lock` tag) ever PATCH the app.
//!
//! Stop: every ARM request and wait of this platform ends at once when the
//! token given to [`AzurePlatform::with_stop`] is cancelled; the engine also
//! drops the futures of its polls (status, propagation) when it stops.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::auth::CredentialOptions;
use super::client::{ArmClient, ArmOptions};
use super::colors::{self, DeployPlan};
use super::error::AzureError;
use super::hosts;
use super::lock;
use super::models::{
    ContainerApp, List, Origin, ResourceReference, Revision, Route, RouteProperties, Rule,
    APP_API_VERSION, CDN_API_VERSION,
};
use super::monitor;
use super::propagation::{Expected, Prober};
use super::recent::{RecentReads, FRESH_FOR};
use super::resource_id::ResourceId;
use super::routing::{self, Observed};
use super::settings::AzureSettings;
use super::tags;
use super::target::{AzureTarget, KeptDefinition, ENVIRONMENT_TAG, ID_TAGS, MAX_TAG_VALUE};
use crate::http::Http;
use crate::platform::{
    Color, ColorState, EnvironmentRef, EnvironmentState, Lease, Metrics, Platform, PlatformError,
    Propagation, RouteChange, RoutingRevision, TargetRef, TargetSpec,
};

/// How often the engine reads while it waits. A status is 3 ARM reads, but
/// the waits read less: readiness one revision, propagation the route (with
/// the app and its revisions reused for [`APP_FRESH_FOR`]), so a wait stays
/// near 30 reads a minute against ARM's 12,000 an hour (200 a minute) for a
/// whole subscription.
const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// How long the propagation wait reuses the app and its revisions (which
/// colour runs which version, the probe path), read again after any write
/// through this platform. Nothing else changes them while the release holds
/// the lock; a change by hand outside it is seen within this time.
pub const APP_FRESH_FOR: Duration = Duration::from_secs(30);

/// How long releasing the environment lock may go on after Terraform asked
/// the provider to stop: two ARM calls (read the tags, delete ours) take a
/// fraction of it, and Ctrl-C must end an apply within 2 s.
pub const UNLOCK_GRACE: Duration = Duration::from_millis(1200);

/// The Azure platform: an ARM client for one subscription.
#[derive(Clone)]
pub struct AzurePlatform {
    client: ArmClient,
    stop: CancellationToken,
    prober: Arc<Prober>,
    host_map: Option<PathBuf>,
    /// Endpoint host names by route id: Azure fixes an endpoint's name at
    /// creation, so it is read once per process rather than on every poll.
    endpoint_hosts: Arc<Mutex<HashMap<ResourceId, String>>>,
    /// Reads reused for a moment (recent.rs), forgotten on every write.
    recent: Arc<RecentReads<Option<Read>>>,
    /// The app and its revisions, reused by the propagation wait for
    /// [`APP_FRESH_FOR`], forgotten on every write.
    apps: Arc<RecentReads<Option<AppRead>>>,
    /// What each colour's last deploy in this process named: the readiness
    /// wait reads that revision alone. Set by the deploy (a write's own
    /// result, not a read), dropped by define and delete.
    deployed: Arc<Mutex<HashMap<String, Deployed>>>,
}

/// A colour's deploy, as the readiness wait needs it.
#[derive(Debug, Clone)]
struct Deployed {
    revision: String,
    /// The label's host name (resolved through the host map at each read:
    /// a test's map learns a new label's address after the deploy).
    label_host: Option<String>,
    image_template: String,
    container_name: Option<String>,
}

impl std::fmt::Debug for AzurePlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzurePlatform")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl AzurePlatform {
    /// Builds the ARM client (no network yet).
    pub fn new(settings: &AzureSettings) -> Result<AzurePlatform, AzureError> {
        let client = ArmClient::new(
            settings,
            ArmOptions::default(),
            CredentialOptions::default(),
        )?;
        Self::with_client(client, settings)
    }

    /// The platform over a client built by the caller (options for tests).
    pub fn with_client(
        client: ArmClient,
        settings: &AzureSettings,
    ) -> Result<AzurePlatform, AzureError> {
        // Edge probes trust what the gates trust: the web PKI plus the CA file.
        let http = match &settings.ca_certificate_file {
            Some(file) => {
                Http::with_ca_file(file).map_err(|e| AzureError::Transport(e.to_string()))?
            }
            None => Http::new(),
        };
        Ok(AzurePlatform {
            client,
            stop: CancellationToken::new(),
            prober: Arc::new(Prober::new(http)),
            host_map: None,
            endpoint_hosts: Arc::default(),
            recent: Arc::new(RecentReads::new(FRESH_FOR)),
            apps: Arc::new(RecentReads::new(APP_FRESH_FOR)),
            deployed: Arc::default(),
        })
    }

    /// Ends every ARM request and wait of this platform when `stop` is
    /// cancelled (Terraform's Stop), with an error saying what was cut short.
    pub fn with_stop(mut self, stop: CancellationToken) -> Self {
        self.stop = stop;
        self
    }

    /// Reads host names from this host map file instead of the one
    /// `BLUEGREEN_AZURE_HOST_MAP` names (hosts.rs).
    pub fn with_host_map(mut self, file: impl Into<PathBuf>) -> Self {
        self.host_map = Some(file.into());
        self
    }

    /// The ARM client in use.
    pub fn client(&self) -> &ArmClient {
        &self.client
    }

    /// The handle of the environment whose Container App is `app` (import by
    /// app id), from the tags `define` wrote on it.
    pub async fn locate_by_app_id(
        &self,
        app: &ResourceId,
    ) -> Result<EnvironmentRef, PlatformError> {
        let found: ContainerApp = self
            .client
            .get(app, APP_API_VERSION, &self.stop)
            .await
            .map_err(|e| attribute_error("container_app_id", app, e))?;
        let kept = KeptDefinition::from_tags(app, &found.tags.unwrap_or_default()).map_err(|why| {
            PlatformError::Api(format!(
                "{why}: the provider tags the Container App when it manages an environment there; import an app that a bluegreen_environment manages, or create the environment with terraform apply"
            ))
        })?;
        Ok(EnvironmentRef {
            name: kept.environment,
            target: TargetRef::Azure(kept.target),
        })
    }

    async fn app(&self, target: &AzureTarget) -> Result<Option<ContainerApp>, PlatformError> {
        match self
            .client
            .get::<ContainerApp>(&target.container_app_id, APP_API_VERSION, &self.stop)
            .await
        {
            Ok(app) => Ok(Some(app)),
            Err(AzureError::Arm(e)) if e.status == 404 => Ok(None),
            Err(e) => Err(PlatformError::from(e)),
        }
    }

    async fn revisions(&self, target: &AzureTarget) -> Result<Vec<Revision>, PlatformError> {
        let path = format!("{}/revisions", target.container_app_id);
        // Every page: an app keeps up to 100 inactive revisions, and ARM pages lists.
        self.client
            .list_all(&path, APP_API_VERSION, &[], &self.stop)
            .await
            .map_err(PlatformError::from)
    }

    /// The route, the split group's origins (when the route uses it) and the tenant rule.
    async fn observe(
        &self,
        target: &AzureTarget,
        environment: &str,
    ) -> Result<(Route, Observed), PlatformError> {
        let route: Route = self
            .client
            .get(&target.front_door_route_id, CDN_API_VERSION, &self.stop)
            .await
            .map_err(|e| attribute_error("front_door_route_id", &target.front_door_route_id, e))?;
        let uses_split = route.origin_group().is_some()
            && route.origin_group() == target.split_origin_group_id.as_ref();
        let split = match (&target.split_origin_group_id, uses_split) {
            (Some(split), true) => Some(self.origins(split).await?),
            _ => None,
        };
        // The rule only routes while the route runs its rule set.
        let runs_rule_set = target.rule_set_id.as_ref().is_some_and(|set| {
            route
                .properties
                .as_ref()
                .and_then(|p| p.rule_sets.as_ref())
                .is_some_and(|sets| sets.iter().any(|s| s.id == *set))
        });
        let rule = match routing::rule_id(target, environment) {
            Some(id) if runs_rule_set => self.rule(&id).await?,
            _ => None,
        };
        let unlisted = match routing::unlisted_rule_id(target, environment) {
            Some(id) if runs_rule_set => self.rule(&id).await?,
            _ => None,
        };
        let observed = Observed::new(&route, split, (rule, unlisted), target);
        Ok((route, observed))
    }

    /// Every origin of `group`, page after page.
    async fn origins(&self, group: &ResourceId) -> Result<List<Origin>, PlatformError> {
        let value = self
            .client
            .list_all(
                &format!("{group}/origins"),
                CDN_API_VERSION,
                &[],
                &self.stop,
            )
            .await
            .map_err(|e| attribute_error("split_origin_group_id", group, e))?;
        Ok(List {
            value,
            next_link: None,
        })
    }

    async fn rule(&self, id: &ResourceId) -> Result<Option<Rule>, PlatformError> {
        match self
            .client
            .get::<Rule>(id, CDN_API_VERSION, &self.stop)
            .await
        {
            Ok(rule) => Ok(Some(rule)),
            Err(AzureError::Arm(e)) if e.status == 404 => Ok(None),
            Err(e) => Err(PlatformError::from(e)),
        }
    }

    /// The endpoint's host name (the route's parent `afdEndpoints/{e}`).
    async fn endpoint_host(&self, target: &AzureTarget) -> Result<String, PlatformError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Endpoint {
            properties: Option<EndpointProperties>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct EndpointProperties {
            host_name: Option<String>,
        }
        let cached = self
            .endpoint_hosts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&target.front_door_route_id)
            .cloned();
        if let Some(host) = cached {
            return Ok(host);
        }
        let id = target.front_door_route_id.parent().ok_or_else(|| {
            PlatformError::Api(format!(
                "azure.front_door_route_id {} does not name a route of an endpoint (…/afdEndpoints/<endpoint>/routes/<route>)",
                target.front_door_route_id
            ))
        })?;
        let endpoint: Endpoint = self
            .client
            .get(&id, CDN_API_VERSION, &self.stop)
            .await
            .map_err(PlatformError::from)?;
        let host = endpoint
            .properties
            .and_then(|p| p.host_name)
            .ok_or_else(|| {
                PlatformError::Api(format!("the Front Door endpoint {id} has no hostName yet"))
            })?;
        self.endpoint_hosts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(target.front_door_route_id.clone(), host.clone());
        Ok(host)
    }

    /// Everything `status` reports, plus the endpoint's host and the kept
    /// definition: a read of the last second if nothing was written since
    /// (recent.rs), else [`AzurePlatform::read_now`].
    async fn read(&self, environment: &EnvironmentRef) -> Result<Option<Read>, PlatformError> {
        let key = format!("{environment:?}");
        if let Some(read) = self.recent.get(&key) {
            return Ok(read);
        }
        let generation = self.recent.generation();
        let read = self.read_now(environment).await?;
        self.recent.keep(key, generation, read.clone());
        Ok(read)
    }

    /// The deploys of this process by colour.
    fn deployed_now(&self) -> std::sync::MutexGuard<'_, HashMap<String, Deployed>> {
        self.deployed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets recent reads now and when the returned guard drops: held for
    /// the whole of every write, so no read overlapping a write is reused.
    fn writing(&self) -> Writing<'_> {
        self.recent.forget();
        self.apps.forget();
        Writing(self)
    }

    /// The environment as ARM reports it now.
    async fn read_now(&self, environment: &EnvironmentRef) -> Result<Option<Read>, PlatformError> {
        let target = azure_target(environment)?;
        let Some(app) = self.app_read(target).await? else {
            return Ok(None);
        };
        self.compose(environment, app).await.map(Some)
    }

    /// The app and its revisions: two GETs (more for a paged list).
    async fn app_read(&self, target: &AzureTarget) -> Result<Option<AppRead>, PlatformError> {
        let Some(app) = self.app(target).await? else {
            return Ok(None);
        };
        let revisions = self.revisions(target).await?;
        Ok(Some(AppRead { app, revisions }))
    }

    /// What the propagation wait needs: the route now, and the app with its
    /// revisions from a read of the last [`APP_FRESH_FOR`] when nothing was
    /// written since. A whole status of the last second serves as it is.
    async fn read_for_propagation(
        &self,
        environment: &EnvironmentRef,
    ) -> Result<Option<Read>, PlatformError> {
        let key = format!("{environment:?}");
        if let Some(read) = self.recent.get(&key) {
            return Ok(read);
        }
        let target = azure_target(environment)?;
        let app = match self.apps.get(&key) {
            Some(app) => app,
            None => {
                let generation = self.apps.generation();
                let app = self.app_read(target).await?;
                self.apps.keep(key, generation, app.clone());
                app
            }
        };
        let Some(app) = app else {
            return Ok(None);
        };
        self.compose(environment, app).await.map(Some)
    }

    /// The environment from the app and its revisions as read, and the route
    /// (with its split group and rules) read now.
    async fn compose(
        &self,
        environment: &EnvironmentRef,
        app_read: AppRead,
    ) -> Result<Read, PlatformError> {
        let target = azure_target(environment)?;
        let AppRead { app, revisions } = app_read;
        let (_, observed) = self.observe(target, &environment.name).await?;
        let host = self.endpoint_host(target).await?;
        let kept = KeptDefinition::from_tags(
            &target.container_app_id,
            app.tags.as_ref().unwrap_or(&BTreeMap::new()),
        )
        .ok()
        .filter(|k| k.environment == environment.name);
        let image = kept
            .as_ref()
            .map(|k| k.image.clone())
            .filter(|i| i.contains("{version}"));
        let container = kept.as_ref().and_then(|k| k.container_name.clone());
        let colors = colors::color_states(
            &app,
            &revisions,
            container.as_deref(),
            image.as_deref(),
            |c| {
                colors::label_host(&app, c)
                    .and_then(|h| hosts::url_of(self.host_map.as_deref(), &h).ok())
            },
        );
        let mut routing = observed.table(target);
        if routing.primary.is_some_and(|c| !colors.contains_key(&c)) {
            // The route's group names a label no revision carries yet (a
            // fresh environment): nothing is served, so nothing is live.
            routing.primary = None;
        }
        let endpoint =
            hosts::url_of(self.host_map.as_deref(), &host).map_err(PlatformError::Api)?;
        let derived_image = || {
            let live = routing.primary.and_then(|c| colors.get(&c))?;
            let version = live.version.as_ref()?;
            let revision = live.instance_id.as_ref()?;
            let r = revisions
                .iter()
                .find(|r| r.name.as_deref() == Some(revision.as_str()))?;
            let t = r.properties.as_ref()?.template.as_ref()?;
            let i = colors::container_index(t, container.as_deref()).ok()?;
            let image = t.containers.as_deref()?.get(i)?.image.clone()?;
            Some(image.replace(version.as_str(), "{version}"))
        };
        let spec = image
            .clone()
            .or_else(derived_image)
            .map(|image| TargetSpec::Azure {
                target: target.clone(),
                container_name: container.clone(),
                image,
                probe_path: kept
                    .as_ref()
                    .map(|k| k.probe_path.clone())
                    .unwrap_or_else(|| "/".into()),
            });
        let state = EnvironmentState {
            endpoint,
            routing,
            colors,
            spec,
            front_door_down: None,
        };
        Ok(Read {
            state,
            host,
            kept,
            observed,
        })
    }

    /// Writes the kept definition into the app's tags when they differ.
    async fn keep(&self, app: &ContainerApp, kept: &KeptDefinition) -> Result<(), PlatformError> {
        let wanted = kept.to_tags();
        if let Some((name, value)) = wanted
            .iter()
            .find(|(_, v)| v.chars().count() > MAX_TAG_VALUE)
        {
            return Err(PlatformError::Api(format!(
                "the value of tag {name} would be {} characters, more than the {MAX_TAG_VALUE} Azure allows: {value}; use shorter resource names",
                value.chars().count()
            )));
        }
        let current = app.tags.clone().unwrap_or_default();
        if wanted.iter().all(|(k, v)| current.get(k) == Some(v)) {
            return Ok(());
        }
        tags::merge_tags(
            &self.client,
            &kept.target.container_app_id,
            &wanted,
            &self.stop,
        )
        .await
        .map(|_| ())
        .map_err(PlatformError::from)
    }
}

/// Forgets the platform's recent reads when dropped ([`AzurePlatform::writing`]).
struct Writing<'a>(&'a AzurePlatform);

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        self.0.recent.forget();
        self.0.apps.forget();
    }
}

/// The app and its revisions as read.
#[derive(Clone)]
struct AppRead {
    app: ContainerApp,
    revisions: Vec<Revision>,
}

/// One read of the environment.
#[derive(Clone)]
struct Read {
    state: EnvironmentState,
    host: String,
    kept: Option<KeptDefinition>,
    observed: Observed,
}

/// The key of a colour's deploy in [`AzurePlatform::deployed_now`].
fn deployed_key(environment: &EnvironmentRef, color: Color) -> String {
    format!("{environment:?}|{}", color.as_str())
}

fn azure_target(environment: &EnvironmentRef) -> Result<&AzureTarget, PlatformError> {
    match &environment.target {
        TargetRef::Azure(target) => Ok(target),
        TargetRef::Local => Err(PlatformError::Api(format!(
            "environment {:?} has a local block, but the provider is configured for Azure; give it an azure block (container_app_id, front_door_route_id, …) or remove the provider's azure block",
            environment.name
        ))),
    }
}

/// A failure reading the resource of attribute `azure.<attribute>`: a 404
/// names the attribute and the fix.
fn attribute_error(attribute: &str, id: &ResourceId, e: AzureError) -> PlatformError {
    match &e {
        AzureError::Arm(arm) if arm.status == 404 => PlatformError::Api(format!(
            "azure.{attribute}: {id} does not exist ({} {}, x-ms-request-id {}); set azure.{attribute} to the id of an existing resource (for example the id attribute of the azurerm resource that creates it)",
            arm.code,
            arm.message,
            arm.request_id.as_deref().unwrap_or("none")
        )),
        _ => PlatformError::from(e),
    }
}

#[async_trait]
impl Platform for AzurePlatform {
    fn poll_interval(&self) -> Duration {
        POLL_INTERVAL
    }

    async fn propagation(
        &self,
        environment: &EnvironmentRef,
        revision: &RoutingRevision,
    ) -> Result<Propagation, PlatformError> {
        let Some(read) = self.read_for_propagation(environment).await? else {
            return Err(PlatformError::Api(format!(
                "environment {:?}: its Container App no longer exists",
                environment.name
            )));
        };
        let state = &read.state;
        let version_of = |c: Color| state.color(c).version;
        let expected = match &state.routing.canary {
            Some(c) if c.weight > 0 || !c.tenants.is_empty() => {
                version_of(c.color).map(|version| Expected::Canary {
                    version,
                    tenant: c
                        .tenants
                        .first()
                        .map(|t| (state.routing.tenant_header.clone(), t.clone())),
                })
            }
            _ => state
                .routing
                .primary
                .and_then(version_of)
                .map(Expected::Version),
        };
        let Some(expected) = expected else {
            // Nothing is served that a probe could recognise.
            return Ok(Propagation::Complete);
        };
        let locations =
            hosts::urls_of(self.host_map.as_deref(), &read.host).map_err(PlatformError::Api)?;
        let probe_path = read
            .kept
            .as_ref()
            .map(|k| k.probe_path.clone())
            .unwrap_or_else(|| "/".into());
        let key = format!(
            "{}|{}|{}",
            environment.name,
            revision,
            read.observed.revision(azure_target(environment)?)
        );
        Ok(self
            .prober
            .poll(&key, &read.host, &locations, &probe_path, &expected)
            .await)
    }

    async fn locate(&self, name: &str) -> Result<EnvironmentRef, PlatformError> {
        // The subscription may come from the Azure CLI, asked on first use.
        let subscription = self
            .client
            .subscription(&self.stop)
            .await
            .map_err(PlatformError::from)?
            .to_string();
        let path = format!("/subscriptions/{subscription}/providers/Microsoft.App/containerApps");
        // Every page: ARM pages the subscription's list, and the app sought may be on any.
        let apps: Vec<ContainerApp> = self
            .client
            .list_all(&path, APP_API_VERSION, &[], &self.stop)
            .await
            .map_err(PlatformError::from)?;
        let tagged: Vec<&ContainerApp> = apps
            .iter()
            .filter(|a| {
                a.tags
                    .as_ref()
                    .and_then(|t| t.get(ENVIRONMENT_TAG))
                    .is_some_and(|v| v == name)
            })
            .collect();
        match tagged.as_slice() {
            [app] => {
                let id = app.id.clone().ok_or_else(|| {
                    PlatformError::Api("Azure listed a Container App without an id".into())
                })?;
                let kept = KeptDefinition::from_tags(&id, app.tags.as_ref().unwrap_or(&BTreeMap::new()))
                    .map_err(PlatformError::Api)?;
                Ok(EnvironmentRef {
                    name: name.to_string(),
                    target: TargetRef::Azure(kept.target),
                })
            }
            [] => Err(PlatformError::Api(format!(
                "no Container App in subscription {subscription} has the tag {ENVIRONMENT_TAG} = {name:?}: the environment was never created by this provider there, or its tags were removed; import it by its Container App id, or declare its azure block"
            ))),
            several => Err(PlatformError::Api(format!(
                "{} Container Apps have the tag {ENVIRONMENT_TAG} = {name:?} ({}); remove the tag from all but one",
                several.len(),
                several
                    .iter()
                    .filter_map(|a| a.id.as_ref().map(ToString::to_string))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    async fn define(
        &self,
        environment: &EnvironmentRef,
        spec: &TargetSpec,
        _lease: &Lease,
    ) -> Result<(), PlatformError> {
        let _writing = self.writing();
        self.deployed_now().clear();
        let TargetSpec::Azure {
            target,
            container_name,
            image,
            probe_path,
        } = spec
        else {
            return Err(PlatformError::Api(format!(
                "environment {:?} has a local block, but the provider is configured for Azure; give it an azure block instead",
                environment.name
            )));
        };
        if !image.contains("{version}") {
            return Err(PlatformError::Api(format!(
                "azure.image {image:?} has no {{version}} placeholder; write the image with {{version}} where the release's version goes, e.g. \"myregistry.azurecr.io/orders:{{version}}\""
            )));
        }
        let app: ContainerApp = self
            .client
            .get(&target.container_app_id, APP_API_VERSION, &self.stop)
            .await
            .map_err(|e| attribute_error("container_app_id", &target.container_app_id, e))?;
        let props = app.properties.as_ref();
        let mode = props
            .and_then(|p| p.configuration.as_ref())
            .and_then(|c| c.active_revisions_mode.clone())
            .unwrap_or_else(|| "Single".into());
        if !mode.eq_ignore_ascii_case("Multiple") {
            return Err(PlatformError::Api(format!(
                "azure.container_app_id: the Container App {} runs in {mode} revision mode; blue-green needs two labelled revisions side by side: set revision_mode = \"Multiple\" on its azurerm_container_app (configuration.activeRevisionsMode = Multiple)",
                target.container_app_id
            )));
        }
        if props
            .and_then(|p| p.configuration.as_ref())
            .and_then(|c| c.ingress.as_ref())
            .is_none()
        {
            return Err(PlatformError::Api(format!(
                "azure.container_app_id: the Container App {} has no ingress, so its revision labels have no address; enable ingress on it",
                target.container_app_id
            )));
        }
        if let Some(template) = props.and_then(|p| p.template.as_ref()) {
            colors::container_index(template, container_name.as_deref())
                .map_err(PlatformError::Api)?;
        }
        let mut checks: Vec<(&str, &ResourceId)> = vec![
            ("front_door_route_id", &target.front_door_route_id),
            ("blue_origin_group_id", &target.blue_origin_group_id),
            ("green_origin_group_id", &target.green_origin_group_id),
        ];
        if let Some(split) = &target.split_origin_group_id {
            checks.push(("split_origin_group_id", split));
        }
        if let Some(set) = &target.rule_set_id {
            checks.push(("rule_set_id", set));
        }
        for (attribute, id) in checks {
            self.client
                .get::<serde_json::Value>(id, CDN_API_VERSION, &self.stop)
                .await
                .map_err(|e| attribute_error(attribute, id, e))?;
        }
        let kept = KeptDefinition {
            environment: environment.name.clone(),
            target: target.clone(),
            image: image.clone(),
            container_name: container_name.clone(),
            probe_path: probe_path.clone(),
        };
        if let Some(other) = app
            .tags
            .as_ref()
            .and_then(|t| t.get(ENVIRONMENT_TAG))
            .filter(|n| **n != environment.name)
        {
            return Err(PlatformError::Api(format!(
                "azure.container_app_id: the Container App {} already belongs to environment {other:?} (tag {ENVIRONMENT_TAG}); one app holds one environment's two colours: use another app, or destroy {other:?} first",
                target.container_app_id
            )));
        }
        self.keep(&app, &kept).await
    }

    async fn status(
        &self,
        environment: &EnvironmentRef,
    ) -> Result<Option<EnvironmentState>, PlatformError> {
        Ok(self.read(environment).await?.map(|r| r.state))
    }

    async fn deploy(
        &self,
        environment: &EnvironmentRef,
        color: Color,
        version: &str,
        _lease: &Lease,
    ) -> Result<(), PlatformError> {
        let _writing = self.writing();
        let target = azure_target(environment)?;
        let app = self.app(target).await?.ok_or_else(|| {
            PlatformError::Api(format!(
                "azure.container_app_id: {} does not exist",
                target.container_app_id
            ))
        })?;
        let kept = KeptDefinition::from_tags(
            &target.container_app_id,
            app.tags.as_ref().unwrap_or(&BTreeMap::new()),
        )
        .ok()
        .filter(|k| k.image.contains("{version}"))
        .ok_or_else(|| {
            PlatformError::Api(format!(
                "the Container App {} carries no image template of environment {:?} (tag bluegreen-image): terraform apply defines the environment before it deploys; run it again",
                target.container_app_id, environment.name
            ))
        })?;
        let existing: Vec<String> = self
            .revisions(target)
            .await?
            .into_iter()
            .filter_map(|r| r.name)
            .collect();
        let key = deployed_key(environment, color);
        // A deploy that fails leaves no revision for readiness to read.
        self.deployed_now().remove(&key);
        let DeployPlan { body, revision } = colors::deploy_plan(
            &app,
            color,
            version,
            &kept.image,
            kept.container_name.as_deref(),
            &existing,
        )
        .map_err(PlatformError::Api)?;
        tracing::debug!(environment = %environment, %color, version, revision, "deploying: one PATCH of the Container App");
        self.client
            .patch::<_, serde_json::Value>(
                &target.container_app_id,
                APP_API_VERSION,
                &body,
                &self.stop,
            )
            .await
            .map_err(PlatformError::from)?;
        // The PATCH set the label to this revision by name: the readiness
        // wait reads it alone instead of the app, its revisions and the route.
        self.deployed_now().insert(
            key,
            Deployed {
                revision,
                label_host: colors::label_host(&app, color),
                image_template: kept.image,
                container_name: kept.container_name,
            },
        );
        Ok(())
    }

    async fn readiness(
        &self,
        environment: &EnvironmentRef,
        color: Color,
    ) -> Result<Option<ColorState>, PlatformError> {
        let deployed = self
            .deployed_now()
            .get(&deployed_key(environment, color))
            .cloned();
        let from_status = || async {
            Ok(self
                .status(environment)
                .await?
                .map(|s: EnvironmentState| s.color(color)))
        };
        // No deploy of this colour in this process: the whole status says.
        let Some(deployed) = deployed else {
            return from_status().await;
        };
        let target = azure_target(environment)?;
        let id = target
            .container_app_id
            .child("revisions", &deployed.revision);
        let revision = match self
            .client
            .get::<Revision>(&id, APP_API_VERSION, &self.stop)
            .await
        {
            Ok(revision) => revision,
            // Gone, or the app with it: the status tells which, as before.
            Err(AzureError::Arm(e)) if e.status == 404 => return from_status().await,
            Err(e) => return Err(PlatformError::from(e)),
        };
        let address = deployed
            .label_host
            .and_then(|h| hosts::url_of(self.host_map.as_deref(), &h).ok());
        Ok(Some(colors::revision_state(
            deployed.revision,
            Some(&revision),
            color,
            deployed.container_name.as_deref(),
            Some(&deployed.image_template),
            address,
        )))
    }

    async fn stop(
        &self,
        environment: &EnvironmentRef,
        color: Color,
        _lease: &Lease,
    ) -> Result<(), PlatformError> {
        // The idle label keeps its revision: Container Apps scale it by its
        // own rules (to zero with minReplicas 0), and it is what an instant
        // rollback switches back to. Deactivating it would drop the label.
        tracing::info!(environment = %environment, %color, "keep_previous = false on Azure: the idle revision stays, scaled by the app's own scale rules");
        Ok(())
    }

    async fn route(
        &self,
        environment: &EnvironmentRef,
        change: RouteChange,
        _lease: &Lease,
    ) -> Result<RoutingRevision, PlatformError> {
        let _writing = self.writing();
        let target = azure_target(environment)?;
        let (route, observed) = self.observe(target, &environment.name).await?;
        if observed.revision(target) != change.if_revision {
            return Err(PlatformError::Conflict {
                environment: environment.name.clone(),
                request_id: None,
            });
        }
        let Some(primary) = change.primary else {
            return Err(PlatformError::Api(format!(
                "environment {:?}: Front Door cannot route nothing to a Container App; the route and its origin groups belong to their owner (destroy leaves them)",
                environment.name
            )));
        };
        let canary = change
            .canary
            .clone()
            .filter(|c| c.color != primary && (c.weight > 0 || !c.tenants.is_empty()));
        let rule_id = routing::rule_id(target, &environment.name);
        let header = change
            .tenant_header
            .clone()
            .unwrap_or_else(|| observed.table(target).tenant_header);

        // Where untagged traffic goes.
        let group = match &canary {
            Some(c) if c.weight >= 100 => routing::color_group(target, c.color).clone(),
            Some(c) if c.weight > 0 => {
                let split = target.split_origin_group_id.clone().ok_or_else(|| {
                    PlatformError::Api(format!(
                        "environment {:?}: a canary with a share of untagged traffic needs azure.split_origin_group_id (an origin group with both label addresses as origins)",
                        environment.name
                    ))
                })?;
                self.weigh(target, &split, c.color, c.weight).await?;
                split
            }
            _ => routing::color_group(target, primary).clone(),
        };
        // The tenant rule, written before the route runs it.
        let tenants = canary.as_ref().filter(|c| !c.tenants.is_empty());
        let mut rule_sets: Vec<ResourceReference> = route
            .properties
            .as_ref()
            .and_then(|p| p.rule_sets.clone())
            .unwrap_or_default();
        if let Some(c) = tenants {
            let (Some(set), Some(rule_id)) = (&target.rule_set_id, &rule_id) else {
                return Err(PlatformError::Api(format!(
                    "environment {:?}: routing tenants to the canary needs azure.rule_set_id (a rule set of the route's Front Door profile, where the provider writes the tenant rule)",
                    environment.name
                )));
            };
            let wanted = Rule::header_override(
                routing::TENANT_RULE_ORDER,
                &header,
                c.tenants.clone(),
                routing::color_group(target, c.color).clone(),
            );
            self.put_rule(rule_id, observed.rule.as_ref(), &wanted)
                .await?;
            if !rule_sets.iter().any(|r| r.id == *set) {
                rule_sets.push(ResourceReference { id: set.clone() });
            }
        }
        // While untagged requests leave the live colour's group, the guard
        // keeps tagged ones not listed on it (DESIGN §3), written before the
        // route moves so that no such request reaches the canary meanwhile.
        let guarded = canary.as_ref().filter(|c| c.weight > 0);
        if let Some(c) = guarded {
            let (Some(set), Some(unlisted_id)) = (
                &target.rule_set_id,
                routing::unlisted_rule_id(target, &environment.name),
            ) else {
                return Err(PlatformError::Api(format!(
                    "environment {:?}: a canary with a share of untagged traffic needs azure.rule_set_id (a rule set of the route's Front Door profile, where the provider writes the rule that keeps tenants not listed on the live colour)",
                    environment.name
                )));
            };
            let wanted = Rule::unlisted_override(
                routing::UNLISTED_RULE_ORDER,
                &header,
                &c.tenants,
                routing::color_group(target, primary).clone(),
            );
            self.put_rule(&unlisted_id, observed.unlisted.as_ref(), &wanted)
                .await?;
            if !rule_sets.iter().any(|r| r.id == *set) {
                rule_sets.push(ResourceReference { id: set.clone() });
            }
        }
        let route_changes_group = route.origin_group() != Some(&group);
        let current_sets = route
            .properties
            .as_ref()
            .and_then(|p| p.rule_sets.clone())
            .unwrap_or_default();
        if route_changes_group || rule_sets != current_sets {
            let body = Route {
                properties: Some(RouteProperties {
                    origin_group: Some(ResourceReference { id: group }),
                    rule_sets: (rule_sets != current_sets).then_some(rule_sets),
                    ..RouteProperties::default()
                }),
                ..Route::default()
            };
            tracing::debug!(environment = %environment, reason = ?change.reason, "routing: one PATCH of the Front Door route");
            self.client
                .patch::<_, serde_json::Value>(
                    &target.front_door_route_id,
                    CDN_API_VERSION,
                    &body,
                    &self.stop,
                )
                .await
                .map_err(PlatformError::from)?;
        }
        // A rule no longer wanted goes after the route stopped needing it.
        if tenants.is_none() {
            if let (Some(id), Some(_)) = (&rule_id, &observed.rule) {
                self.client
                    .delete(id, CDN_API_VERSION, &self.stop)
                    .await
                    .map_err(PlatformError::from)?;
            }
        }
        if guarded.is_none() {
            let id = routing::unlisted_rule_id(target, &environment.name);
            if let (Some(id), Some(_)) = (&id, &observed.unlisted) {
                self.client
                    .delete(id, CDN_API_VERSION, &self.stop)
                    .await
                    .map_err(PlatformError::from)?;
            }
        }
        let (_, after) = self.observe(target, &environment.name).await?;
        Ok(after.revision(target))
    }

    async fn metrics(
        &self,
        environment: &EnvironmentRef,
        color: Color,
        since_ms: u64,
        until_ms: u64,
    ) -> Result<Option<Metrics>, PlatformError> {
        let target = azure_target(environment)?;
        let Some(app) = self.app(target).await? else {
            return Ok(None);
        };
        let Some(revision) = colors::label_revision(&app, color) else {
            return Ok(None);
        };
        let answer = self
            .client
            .metrics(
                &target.container_app_id,
                &monitor::query(&revision, since_ms, until_ms),
                &self.stop,
            )
            .await
            .map_err(PlatformError::from)?;
        Ok(monitor::figures(&answer))
    }

    async fn lock(
        &self,
        environment: &EnvironmentRef,
        owner: &str,
        ttl: Duration,
    ) -> Result<Lease, PlatformError> {
        let _writing = self.writing();
        let target = azure_target(environment)?;
        lock::acquire(
            &self.client,
            &target.container_app_id,
            &environment.name,
            owner,
            ttl,
            &self.stop,
        )
        .await
    }

    async fn renew(
        &self,
        environment: &EnvironmentRef,
        lease: &Lease,
        ttl: Duration,
    ) -> Result<(), PlatformError> {
        let _writing = self.writing();
        let target = azure_target(environment)?;
        lock::renew(
            &self.client,
            &target.container_app_id,
            &environment.name,
            lease,
            ttl,
            &self.stop,
        )
        .await
    }

    async fn unlock(
        &self,
        environment: &EnvironmentRef,
        lease: &Lease,
    ) -> Result<(), PlatformError> {
        let _writing = self.writing();
        let target = azure_target(environment)?;
        // A stop is what most often leads here (Ctrl-C), and a release cut
        // short by it would keep the next apply out until the lock lapses:
        // the release runs on a token of its own, which a stop cancels only
        // after UNLOCK_GRACE, so an interrupted apply still ends promptly.
        let release = CancellationToken::new();
        let work = lock::release(
            &self.client,
            &target.container_app_id,
            &environment.name,
            lease,
            &release,
        );
        // Never ends by itself: it cancels the release, which then ends.
        let grace_after_stop = async {
            self.stop.cancelled().await;
            tokio::time::sleep(UNLOCK_GRACE).await;
            release.cancel();
            std::future::pending::<Result<(), PlatformError>>().await
        };
        tokio::select! {
            result = work => result,
            result = grace_after_stop => result,
        }
    }

    async fn delete(
        &self,
        environment: &EnvironmentRef,
        _lease: &Lease,
    ) -> Result<(), PlatformError> {
        let _writing = self.writing();
        self.deployed_now().clear();
        // Compute, the route and the origin groups belong to their owner
        // (azurerm): destroy removes only what the provider created.
        let target = azure_target(environment)?;
        let rules = [
            routing::rule_id(target, &environment.name),
            routing::unlisted_rule_id(target, &environment.name),
        ];
        for id in rules.iter().flatten() {
            self.client
                .delete(id, CDN_API_VERSION, &self.stop)
                .await
                .map_err(PlatformError::from)?;
        }
        if self.app(target).await?.is_some() {
            // By name whatever the value (an empty value in ARM's Delete).
            let ours: BTreeMap<String, String> = ID_TAGS
                .iter()
                .map(|name| (name.to_string(), String::new()))
                .collect();
            tags::delete_tags(&self.client, &target.container_app_id, &ours, &self.stop).await?;
        }
        Ok(())
    }
}

impl AzurePlatform {
    /// Writes rule `id` as `wanted` unless what was read is already that.
    async fn put_rule(
        &self,
        id: &ResourceId,
        current: Option<&Rule>,
        wanted: &Rule,
    ) -> Result<(), PlatformError> {
        // Compared as sent: read-only fields (provisioning and deployment
        // states) and the nulls ARM fills in for unset properties differ
        // from the body without the rule being any different.
        let body =
            |r: &Rule| without_nulls(serde_json::to_value(&r.properties).unwrap_or_default());
        if current.is_some_and(|r| body(r) == body(wanted)) {
            return Ok(());
        }
        self.client
            .put::<_, serde_json::Value>(id, CDN_API_VERSION, wanted, &self.stop)
            .await
            .map_err(PlatformError::from)?;
        Ok(())
    }

    /// Sets the split group's origin weights for a canary of `share` percent,
    /// PATCHing only the origins whose weight changes.
    async fn weigh(
        &self,
        target: &AzureTarget,
        split: &ResourceId,
        canary: Color,
        share: u8,
    ) -> Result<(), PlatformError> {
        let _writing = self.writing();
        let origins = self.origins(split).await?;
        let mut seen = [false, false];
        for origin in &origins.value {
            let Some(color) = routing::origin_color(target, origin) else {
                continue;
            };
            seen[color.index()] = true;
            let wanted = routing::split_weight(color, canary, share);
            let current = origin.properties.as_ref().and_then(|p| p.weight);
            if current == Some(wanted) {
                continue;
            }
            let id = origin
                .id
                .clone()
                .unwrap_or_else(|| split.child("origins", origin.name.as_deref().unwrap_or("")));
            self.client
                .patch::<_, serde_json::Value>(
                    &id,
                    CDN_API_VERSION,
                    &Origin::weight_patch(wanted),
                    &self.stop,
                )
                .await
                .map_err(PlatformError::from)?;
        }
        if !seen.iter().all(|s| *s) {
            return Err(PlatformError::Api(format!(
                "azure.split_origin_group_id: {split} needs one origin per colour, on the label addresses {0}---blue.<domain> and {0}---green.<domain>",
                target.container_app_id.name().to_ascii_lowercase()
            )));
        }
        Ok(())
    }
}

/// `value` with every null member of an object left out, recursively.
fn without_nulls(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => map
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k, without_nulls(v)))
            .collect(),
        serde_json::Value::Array(items) => items.into_iter().map(without_nulls).collect(),
        other => other,
    }
}
