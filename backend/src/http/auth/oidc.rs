//! The OpenID Connect relying party: discovery, the authorization-code flow with PKCE
//! (S256) and a server-side state and nonce, ID-token verification, RP-initiated logout,
//! and verification of JWT access tokens for machine clients.
//!
//! Works with Cognito and any standard IdP; only configuration differs. The provider's
//! metadata and keys are fetched on first use and refreshed when a token names a key we
//! have not seen (key rotation).

use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use openidconnect::core::{
    CoreClient, CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKey, CoreResponseType,
};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, JsonWebKeySet, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, ProviderMetadataWithLogout, RedirectUrl, Scope,
    TokenResponse,
};
use tokio::sync::RwLock;

use super::secrets::sha256_hex;
use crate::config::OidcConfig;
use crate::domain::{LoginState, UserClaims};
use crate::store::now;

/// How long a sign-in may take between the redirect to the IdP and the callback.
const LOGIN_TTL: Duration = Duration::from_secs(10 * 60);
/// Tolerated clock difference with the IdP when checking expiry.
const CLOCK_SKEW: Duration = Duration::from_secs(60);
/// Provider metadata is re-read at most this often unless a token forces it.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// Unknown key ids trigger a refresh at most this often (so random kids cannot flood the IdP).
const MIN_KEY_REFRESH: Duration = Duration::from_secs(10);

type DiscoveredClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the identity provider is unreachable: {0}")]
    Unreachable(String),
    #[error("{0}")]
    Rejected(String),
}

/// Who the IdP says this is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub claims: UserClaims,
    /// The groups claim's values; `None` when the token does not carry the claim at all.
    pub groups: Option<Vec<String>>,
}

struct Provider {
    client: DiscoveredClient,
    id_token_keys: JsonWebKeySet<CoreJsonWebKey>,
    jwks_uri: String,
    userinfo_url: Option<String>,
    end_session_url: Option<String>,
    access_token_keys: RwLock<(JwkSet, Instant)>,
    discovered_at: Instant,
}

/// The relying party for one configured IdP.
pub struct Oidc {
    config: OidcConfig,
    groups_claim: String,
    redirect_url: RedirectUrl,
    post_logout_url: String,
    http: reqwest::Client,
    provider: RwLock<Option<Arc<Provider>>>,
}

impl Oidc {
    pub fn new(config: OidcConfig, groups_claim: String, public_url: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            // Following redirects from the IdP's endpoints would open the door to SSRF.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self {
            redirect_url: RedirectUrl::new(format!("{public_url}/auth/callback"))?,
            post_logout_url: format!("{public_url}/"),
            config,
            groups_claim,
            http,
            provider: RwLock::new(None),
        })
    }

    async fn provider(&self) -> Result<Arc<Provider>, OidcError> {
        if let Some(provider) = self.provider.read().await.as_ref()
            && provider.discovered_at.elapsed() < METADATA_TTL
        {
            return Ok(provider.clone());
        }
        self.rediscover().await
    }

    async fn rediscover(&self) -> Result<Arc<Provider>, OidcError> {
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|e| OidcError::Rejected(format!("issuer URL: {e}")))?;
        let metadata = ProviderMetadataWithLogout::discover_async(issuer, &self.http)
            .await
            .map_err(|e| OidcError::Unreachable(error_chain(&e)))?;
        let jwks_uri = metadata.jwks_uri().url().to_string();
        let access_keys = self.fetch_jwks(&jwks_uri).await?;
        let provider = Arc::new(Provider {
            id_token_keys: metadata.jwks().clone(),
            jwks_uri,
            userinfo_url: metadata.userinfo_endpoint().map(|u| u.url().to_string()),
            end_session_url: metadata
                .additional_metadata()
                .end_session_endpoint
                .as_ref()
                .map(|u| u.url().to_string()),
            access_token_keys: RwLock::new((access_keys, Instant::now())),
            discovered_at: Instant::now(),
            client: CoreClient::from_provider_metadata(
                metadata,
                ClientId::new(self.config.client_id.clone()),
                self.config.client_secret.clone().map(ClientSecret::new),
            )
            .set_redirect_uri(self.redirect_url.clone()),
        });
        *self.provider.write().await = Some(provider.clone());
        Ok(provider)
    }

    async fn fetch_jwks(&self, url: &str) -> Result<JwkSet, OidcError> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| OidcError::Unreachable(error_chain(&e)))?;
        let body = response
            .bytes()
            .await
            .map_err(|e| OidcError::Unreachable(e.to_string()))?;
        serde_json::from_slice(&body).map_err(|e| OidcError::Rejected(format!("JWKS: {e}")))
    }

    /// Start a sign-in: the IdP URL to send the browser to, and the state to keep.
    pub async fn begin_login(&self, next_path: String) -> Result<(String, LoginState), OidcError> {
        let provider = self.provider().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = provider
            .client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in &self.config.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        let login = LoginState {
            state_hash: sha256_hex(state.secret()),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            next_path,
            expires_at: now() + LOGIN_TTL,
        };
        Ok((url.to_string(), login))
    }

    /// Finish a sign-in: exchange the code, verify the ID token, read the groups (from the
    /// ID token, or from userinfo when the ID token lacks the claim). Returns the identity
    /// and the raw ID token (kept as the logout hint).
    pub async fn finish_login(
        &self,
        code: String,
        login: &LoginState,
    ) -> Result<(Identity, String), OidcError> {
        let provider = self.provider().await?;
        let response = provider
            .client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| OidcError::Rejected(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(login.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| {
                OidcError::Rejected(format!("code exchange failed: {}", error_chain(&e)))
            })?;
        let id_token = response
            .id_token()
            .ok_or_else(|| OidcError::Rejected("the IdP sent no ID token".into()))?;
        let nonce = Nonce::new(login.nonce.clone());
        let verify = |provider: &Provider| {
            let verifier = id_token_verifier(&self.config, provider.id_token_keys.clone());
            verify_id_token(&verifier, id_token, &nonce, &self.groups_claim)
        };
        let mut identity = match verify(&provider) {
            Ok(identity) => identity,
            // The IdP may have rotated its keys since we last looked.
            Err(_) => verify(&*self.rediscover().await?)?,
        };
        if identity.groups.is_none()
            && let Some(url) = &provider.userinfo_url
        {
            let token = response.access_token().secret();
            identity.groups = self
                .userinfo_groups(url, token, &identity.claims.subject)
                .await?;
        }
        Ok((identity, id_token.to_string()))
    }

    async fn userinfo_groups(
        &self,
        url: &str,
        access_token: &str,
        subject: &str,
    ) -> Result<Option<Vec<String>>, OidcError> {
        let response = self
            .http
            .get(url)
            .bearer_auth(access_token)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| OidcError::Unreachable(format!("userinfo: {}", error_chain(&e))))?;
        let body = response
            .bytes()
            .await
            .map_err(|e| OidcError::Unreachable(e.to_string()))?;
        let claims: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| OidcError::Rejected(format!("userinfo: {e}")))?;
        if claims.get("sub").and_then(|s| s.as_str()) != Some(subject) {
            return Err(OidcError::Rejected(
                "userinfo is about another subject".into(),
            ));
        }
        Ok(groups_from(&claims, &self.groups_claim))
    }

    /// Where to send the browser to end the IdP session too, if the IdP offers it.
    pub async fn logout_url(&self, id_token_hint: Option<&str>) -> Option<String> {
        if let Some(base) = &self.config.logout_url {
            // Cognito's hosted UI: /logout?client_id=…&logout_uri=…
            let mut url = url::Url::parse(base).ok()?;
            url.query_pairs_mut()
                .append_pair("client_id", &self.config.client_id)
                .append_pair("logout_uri", &self.post_logout_url);
            return Some(url.to_string());
        }
        let provider = self.provider().await.ok()?;
        let mut url = url::Url::parse(provider.end_session_url.as_deref()?).ok()?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("client_id", &self.config.client_id)
                .append_pair("post_logout_redirect_uri", &self.post_logout_url);
            if let Some(hint) = id_token_hint {
                query.append_pair("id_token_hint", hint);
            }
        }
        Some(url.to_string())
    }

    /// Verify a JWT access token (a machine client's, e.g. client credentials).
    pub async fn verify_access_token(&self, token: &str) -> Result<Identity, OidcError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| OidcError::Rejected(format!("not a JWT: {e}")))?;
        let kid = header
            .kid
            .ok_or_else(|| OidcError::Rejected("the token names no key".into()))?;
        let provider = self.provider().await?;
        let key = match find_key(&provider, &kid).await {
            Some(key) => key,
            None => {
                self.refresh_access_keys(&provider).await?;
                find_key(&provider, &kid).await.ok_or_else(|| {
                    OidcError::Rejected("the token is signed by an unknown key".into())
                })?
            }
        };
        validate_access_token(
            token,
            &key,
            header.alg,
            &self.config.issuer,
            &self.config.audience,
            &self.groups_claim,
        )
    }

    async fn refresh_access_keys(&self, provider: &Provider) -> Result<(), OidcError> {
        if provider.access_token_keys.read().await.1.elapsed() < MIN_KEY_REFRESH {
            return Ok(());
        }
        let keys = self.fetch_jwks(&provider.jwks_uri).await?;
        *provider.access_token_keys.write().await = (keys, Instant::now());
        Ok(())
    }
}

async fn find_key(provider: &Provider, kid: &str) -> Option<DecodingKey> {
    let keys = provider.access_token_keys.read().await;
    keys.0
        .find(kid)
        .and_then(|jwk| DecodingKey::from_jwk(jwk).ok())
}

/// The ID-token verifier: signature against the IdP's keys, issuer, audience (our client
/// id), expiry with a small clock skew. The nonce is checked by `verify_id_token`.
pub fn id_token_verifier(
    config: &OidcConfig,
    keys: JsonWebKeySet<CoreJsonWebKey>,
) -> CoreIdTokenVerifier<'static> {
    let issuer = IssuerUrl::new(config.issuer.clone()).expect("issuer validated in config");
    let client_id = ClientId::new(config.client_id.clone());
    let verifier = match &config.client_secret {
        Some(secret) => CoreIdTokenVerifier::new_confidential_client(
            client_id,
            ClientSecret::new(secret.clone()),
            issuer,
            keys,
        ),
        None => CoreIdTokenVerifier::new_public_client(client_id, issuer, keys),
    };
    verifier
        .set_time_fn(|| chrono::Utc::now() - chrono::Duration::seconds(CLOCK_SKEW.as_secs() as i64))
}

/// Verify an ID token and read who it names, with their groups.
pub fn verify_id_token(
    verifier: &CoreIdTokenVerifier,
    token: &CoreIdToken,
    nonce: &Nonce,
    groups_claim: &str,
) -> Result<Identity, OidcError> {
    let claims = token.claims(verifier, nonce).map_err(|e| {
        OidcError::Rejected(format!("the ID token was refused: {}", error_chain(&e)))
    })?;
    let subject = claims.subject().to_string();
    let email = claims.email().map(|e| e.to_string());
    let name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.to_string())
        .or_else(|| email.clone())
        .unwrap_or_else(|| subject.clone());
    // The groups claim's name is configurable, so read it from the (now verified) payload.
    let payload = jwt_payload(&token.to_string())?;
    Ok(Identity {
        claims: UserClaims {
            subject,
            email,
            name,
        },
        groups: groups_from(&payload, groups_claim),
    })
}

/// Check a JWT access token's signature, issuer, expiry and audience. Cognito access
/// tokens carry no `aud`: they are accepted when `client_id` is the audience or a scope
/// belongs to it (`<audience>/<scope>`, Cognito's resource-server scopes).
pub fn validate_access_token(
    token: &str,
    key: &DecodingKey,
    alg: Algorithm,
    issuer: &str,
    audience: &str,
    groups_claim: &str,
) -> Result<Identity, OidcError> {
    use Algorithm::*;
    if !matches!(
        alg,
        RS256 | RS384 | RS512 | PS256 | PS384 | PS512 | ES256 | ES384 | EdDSA
    ) {
        return Err(OidcError::Rejected(format!(
            "tokens signed with {alg:?} are not accepted"
        )));
    }
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[issuer]);
    validation.validate_aud = false;
    validation.leeway = CLOCK_SKEW.as_secs();
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    let data = jsonwebtoken::decode::<serde_json::Value>(token, key, &validation)
        .map_err(|e| OidcError::Rejected(format!("the access token was refused: {e}")))?;
    let claims = data.claims;
    let aud_matches = match claims.get("aud") {
        Some(serde_json::Value::String(aud)) => aud == audience,
        Some(serde_json::Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    };
    let client_matches = claims.get("aud").is_none()
        && (claims.get("client_id").and_then(|c| c.as_str()) == Some(audience)
            || claims
                .get("scope")
                .and_then(|s| s.as_str())
                .is_some_and(|s| {
                    s.split(' ')
                        .any(|scope| scope.starts_with(&format!("{audience}/")))
                }));
    if !aud_matches && !client_matches {
        return Err(OidcError::Rejected(
            "the access token is meant for another audience".into(),
        ));
    }
    let subject = claims["sub"].as_str().unwrap_or_default().to_owned();
    let name = ["name", "client_id", "username"]
        .iter()
        .find_map(|key| claims.get(*key).and_then(|v| v.as_str()))
        .unwrap_or(&subject)
        .to_owned();
    let email = claims
        .get("email")
        .and_then(|e| e.as_str())
        .map(str::to_owned);
    Ok(Identity {
        claims: UserClaims {
            subject,
            email,
            name,
        },
        groups: groups_from(&claims, groups_claim),
    })
}

/// The decoded payload of a JWT whose signature was already verified.
fn jwt_payload(token: &str) -> Result<serde_json::Value, OidcError> {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|e| OidcError::Rejected(format!("token payload: {e}")))?;
    serde_json::from_slice(&bytes).map_err(|e| OidcError::Rejected(format!("token payload: {e}")))
}

/// A groups claim is a list of strings (or, from some IdPs, one string).
fn groups_from(claims: &serde_json::Value, claim: &str) -> Option<Vec<String>> {
    match claims.get(claim)? {
        serde_json::Value::Array(values) => Some(
            values
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        ),
        serde_json::Value::String(value) => Some(vec![value.clone()]),
        _ => None,
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
#[path = "oidc_tests.rs"]
mod tests;
