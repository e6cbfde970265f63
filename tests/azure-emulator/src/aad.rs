//! Microsoft Entra ID (AAD) as clients see it: OpenID discovery, the v2.0 token
//! endpoint (client secret and client assertion), and the two managed-identity
//! endpoint shapes (IMDS and App Service).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::front::Incoming;
use crate::reply::Reply;
use crate::state::State;
use crate::{clock, ids, Shared};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Audience of federated (workload identity, GitHub OIDC) assertions.
const FEDERATED_AUDIENCE: &str = "api://AzureADTokenExchange";

/// Whether `path` belongs to AAD or managed identity rather than ARM.
pub fn handles(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.starts_with("/metadata/identity/")
        || lower.starts_with("/msi/")
        || lower.ends_with("/.well-known/openid-configuration")
        || lower.ends_with("/oauth2/v2.0/token")
        || lower.ends_with("/oauth2/token")
        || lower.ends_with("/discovery/instance")
        || lower.ends_with("/discovery/v2.0/keys")
}

/// Answers an AAD or managed-identity request.
pub fn handle(shared: &Shared, req: &Incoming) -> Reply {
    let lower = req.path.to_ascii_lowercase();
    if lower.starts_with("/metadata/identity/oauth2/token") {
        return imds(shared, req);
    }
    if lower.starts_with("/msi/token") {
        return app_service_identity(shared, req);
    }
    let tenant = req
        .path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("");
    if lower.ends_with("/discovery/instance") {
        return instance_discovery(shared, req);
    }
    if lower.ends_with("/discovery/v2.0/keys") {
        return Reply::json(200, json!({"keys": []}));
    }
    if !known_tenant(shared, tenant) {
        return aad_error(
            400,
            "invalid_tenant",
            90002,
            &format!("AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID."),
        );
    }
    if lower.ends_with("/.well-known/openid-configuration") {
        return Reply::json(200, openid_configuration(&shared.base_url, tenant));
    }
    if req.method != "POST" {
        return aad_error(
            405,
            "invalid_request",
            900561,
            "AADSTS900561: The endpoint only accepts POST requests.",
        );
    }
    token(shared, req, lower.ends_with("/oauth2/token"))
}

fn known_tenant(shared: &Shared, tenant: &str) -> bool {
    tenant.eq_ignore_ascii_case(&shared.credentials.tenant_id)
        || ["organizations", "common"].contains(&tenant.to_ascii_lowercase().as_str())
}

/// The document MSAL and azure_identity fetch before the first token.
fn openid_configuration(base: &str, tenant: &str) -> Value {
    let t = format!("{base}/{tenant}");
    json!({
        "token_endpoint": format!("{t}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{t}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{t}/v2.0"),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": format!("{base}/oidc/userinfo"),
        "authorization_endpoint": format!("{t}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{t}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{t}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid"],
        "kerberos_endpoint": format!("{t}/kerberos"),
        "tenant_region_scope": "NA",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net"
    })
}

/// MSAL's instance discovery, for clients that do not disable it.
fn instance_discovery(shared: &Shared, req: &Incoming) -> Reply {
    let host = shared.base_url.trim_start_matches("https://").to_string();
    let tenant = req
        .path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("common");
    Reply::json(
        200,
        json!({
            "tenant_discovery_endpoint": format!("{}/{tenant}/v2.0/.well-known/openid-configuration", shared.base_url),
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}]
        }),
    )
}

/// AAD's OAuth error shape.
fn aad_error(status: u16, error: &str, code: u32, description: &str) -> Reply {
    Reply::json(
        status,
        json!({
            "error": error,
            "error_description": description,
            "error_codes": [code],
            "timestamp": clock::rfc3339_seconds(clock::real_now_ms()),
            "trace_id": ids::uuid(),
            "correlation_id": ids::uuid(),
        }),
    )
}

/// The client-credentials grant, with a secret or a JWT client assertion.
fn token(shared: &Shared, req: &Incoming, v1: bool) -> Reply {
    let form: Vec<(String, String)> = form_urlencoded::parse(&req.body).into_owned().collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let creds = &shared.credentials;
    if field("grant_type") != Some("client_credentials") {
        return aad_error(
            400,
            "unsupported_grant_type",
            70003,
            "AADSTS70003: The app requested an unsupported grant type; this emulator supports 'client_credentials'.",
        );
    }
    let client_id = field("client_id").unwrap_or("");
    if !client_id.eq_ignore_ascii_case(&creds.client_id) {
        return aad_error(
            400,
            "unauthorized_client",
            700016,
            &format!("AADSTS700016: Application with identifier '{client_id}' was not found in the directory."),
        );
    }
    match (field("client_secret"), field("client_assertion")) {
        (Some(secret), _) => {
            if secret != creds.client_secret {
                return aad_error(
                    401,
                    "invalid_client",
                    7000215,
                    "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
                );
            }
        }
        (None, Some(assertion)) => {
            if field("client_assertion_type") != Some(JWT_BEARER) {
                return aad_error(
                    400,
                    "invalid_request",
                    90014,
                    &format!("AADSTS90014: The request must contain client_assertion_type '{JWT_BEARER}'."),
                );
            }
            if let Err(reason) = check_assertion(assertion, &creds.client_id) {
                return aad_error(
                    400,
                    "invalid_client",
                    700027,
                    &format!("AADSTS700027: {reason}"),
                );
            }
        }
        (None, None) => {
            return aad_error(
                401,
                "invalid_client",
                7000218,
                "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            );
        }
    }
    let audience = if v1 {
        field("resource").unwrap_or("").to_string()
    } else {
        let scope = field("scope").unwrap_or("");
        match scope.split_whitespace().find(|s| s.ends_with("/.default")) {
            Some(s) => s.trim_end_matches("/.default").to_string(),
            None => {
                return aad_error(
                    400,
                    "invalid_scope",
                    1002012,
                    &format!("AADSTS1002012: The provided value for scope '{scope}' is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier."),
                )
            }
        }
    };
    let mut st = shared.lock();
    let lifetime = st.settings.token_lifetime_s;
    let Some(access_token) = issue(&mut st, shared, &audience) else {
        return aad_error(
            500,
            "temporarily_unavailable",
            50000,
            "AADSTS50000: no randomness for a token.",
        );
    };
    Reply::json(
        200,
        json!({
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access_token,
        }),
    )
}

/// Checks a client assertion's shape and claims. Signatures are not verified:
/// the emulator has no certificate or federation trust store (see README).
fn check_assertion(assertion: &str, client_id: &str) -> Result<(), String> {
    let parts: Vec<&str> = assertion.split('.').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        return Err("Client assertion is not a signed JWT (header.claims.signature).".into());
    }
    let claims: Value = URL_SAFE_NO_PAD
        .decode(parts[1].trim_end_matches('='))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("Client assertion claims are not base64url JSON.")?;
    let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
    if exp * 1000 <= clock::real_now_ms() {
        return Err("Client assertion has expired or has no 'exp' claim.".into());
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let federated = audiences.contains(&FEDERATED_AUDIENCE);
    let own = claims.get("sub").and_then(Value::as_str) == Some(client_id)
        && claims.get("iss").and_then(Value::as_str) == Some(client_id);
    if federated || own {
        Ok(())
    } else {
        Err(format!("Client assertion must have iss = sub = the client id (certificate credential) or aud '{FEDERATED_AUDIENCE}' (federated credential)."))
    }
}

/// Issues a JWT-shaped access token for `audience`, valid for the configured lifetime.
pub fn issue(st: &mut State, shared: &Shared, audience: &str) -> Option<String> {
    let now_s = clock::real_now_ms() / 1000;
    let exp = now_s + st.settings.token_lifetime_s;
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": "bluegreen-azure-emulator"});
    let claims = json!({
        "aud": audience,
        "iss": format!("{}/{}/", shared.base_url, shared.credentials.tenant_id),
        "iat": now_s, "nbf": now_s, "exp": exp,
        "appid": shared.credentials.client_id,
        "tid": shared.credentials.tenant_id,
        "oid": shared.credentials.client_id,
        "sub": shared.credentials.client_id,
        "ver": "1.0",
    });
    let token = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        ids::secret_hex(32)?
    );
    st.tokens.insert(token.clone(), exp * 1000);
    Some(token)
}

fn resource_param(req: &Incoming) -> Option<String> {
    req.query("resource")
        .or_else(|| req.query("scope"))
        .map(|r| r.trim_end_matches("/.default").to_string())
}

/// Azure Instance Metadata Service shape (`Metadata: true` required).
fn imds(shared: &Shared, req: &Incoming) -> Reply {
    if !req
        .header("metadata")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return Reply::json(
            400,
            json!({"error": "invalid_request", "error_description": "Required metadata header not specified"}),
        );
    }
    let Some(resource) = resource_param(req) else {
        return Reply::json(
            400,
            json!({"error": "invalid_request", "error_description": "Required audience parameter not specified"}),
        );
    };
    managed_identity_token(shared, &resource, true)
}

/// App Service / Functions shape (`X-IDENTITY-HEADER` must match `IDENTITY_HEADER`).
fn app_service_identity(shared: &Shared, req: &Incoming) -> Reply {
    if req.header("x-identity-header") != Some(shared.credentials.identity_header.as_str()) {
        return Reply::json(
            401,
            json!({"statusCode": 401, "message": "Unauthorized: the X-IDENTITY-HEADER header is missing or wrong."}),
        );
    }
    let Some(resource) = resource_param(req) else {
        return Reply::json(
            400,
            json!({"statusCode": 400, "message": "The 'resource' query parameter is required."}),
        );
    };
    managed_identity_token(shared, &resource, false)
}

fn managed_identity_token(shared: &Shared, resource: &str, imds_shape: bool) -> Reply {
    let mut st = shared.lock();
    let lifetime = st.settings.token_lifetime_s;
    let Some(token) = issue(&mut st, shared, resource) else {
        return Reply::json(500, json!({"error": "unavailable"}));
    };
    let now_s = clock::real_now_ms() / 1000;
    let mut body = json!({
        "access_token": token,
        "expires_on": (now_s + lifetime).to_string(),
        "resource": resource,
        "token_type": "Bearer",
        "client_id": shared.credentials.client_id,
    });
    if imds_shape {
        body["expires_in"] = json!(lifetime.to_string());
        body["ext_expires_in"] = json!(lifetime.to_string());
        body["not_before"] = json!(now_s.to_string());
    }
    Reply::json(200, body)
}
