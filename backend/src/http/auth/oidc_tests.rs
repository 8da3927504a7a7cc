//! ID-token and access-token verification against tokens signed here with throwaway keys
//! (`backend/tests/fixtures`): the failure cases a real IdP will not produce on demand.

use std::str::FromStr;

use jsonwebtoken::{EncodingKey, Header};
use openidconnect::core::{
    CoreGenderClaim, CoreIdToken, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey,
};
use openidconnect::{
    AdditionalClaims, Audience, EndUserEmail, IdToken, IdTokenClaims, IssuerUrl, JsonWebKeyId,
    JsonWebKeySet, Nonce, PrivateSigningKey, StandardClaims, SubjectIdentifier,
};
use serde::{Deserialize, Serialize};

use super::*;

const KEY_A: &str = include_str!("../../../tests/fixtures/test-rsa-a.pem");
const KEY_B: &str = include_str!("../../../tests/fixtures/test-rsa-b.pem");
const ISSUER: &str = "http://127.0.0.1:9999";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Groups {
    groups: Vec<String>,
}
impl AdditionalClaims for Groups {}

fn config() -> OidcConfig {
    OidcConfig {
        issuer: ISSUER.into(),
        client_id: "wharf".into(),
        client_secret: Some("wharf-secret".into()),
        scopes: vec![],
        audience: "urn:wharf".into(),
        logout_url: None,
    }
}

fn signing_key(pem: &str) -> CoreRsaPrivateSigningKey {
    CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new("k1".into()))).unwrap()
}

fn idp_keys() -> JsonWebKeySet<CoreJsonWebKey> {
    JsonWebKeySet::new(vec![signing_key(KEY_A).as_verification_key()])
}

struct IdTokenSpec {
    key: &'static str,
    issuer: &'static str,
    audience: &'static str,
    nonce: &'static str,
    expires_in: i64,
}

impl Default for IdTokenSpec {
    fn default() -> Self {
        Self {
            key: KEY_A,
            issuer: ISSUER,
            audience: "wharf",
            nonce: "n-1",
            expires_in: 300,
        }
    }
}

fn id_token(spec: IdTokenSpec) -> CoreIdToken {
    let now = chrono::Utc::now();
    let claims = IdTokenClaims::new(
        IssuerUrl::new(spec.issuer.into()).unwrap(),
        vec![Audience::new(spec.audience.into())],
        now + chrono::Duration::seconds(spec.expires_in),
        now - chrono::Duration::seconds(10),
        StandardClaims::new(SubjectIdentifier::new("ana".into()))
            .set_email(Some(EndUserEmail::new("ana@example.com".into()))),
        Groups {
            groups: vec!["analytics".into(), "sales-data".into()],
        },
    )
    .set_nonce(Some(Nonce::new(spec.nonce.into())));
    let token = IdToken::<
        Groups,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >::new(
        claims,
        &signing_key(spec.key),
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        None,
        None,
    )
    .unwrap();
    CoreIdToken::from_str(&token.to_string()).unwrap()
}

fn verify(token: &CoreIdToken, nonce: &str) -> Result<Identity, OidcError> {
    let verifier = id_token_verifier(&config(), idp_keys());
    verify_id_token(&verifier, token, &Nonce::new(nonce.into()), "groups")
}

#[test]
fn a_good_id_token_names_the_user_and_their_groups() {
    let identity = verify(&id_token(IdTokenSpec::default()), "n-1").unwrap();
    assert_eq!(identity.claims.subject, "ana");
    assert_eq!(identity.claims.email.as_deref(), Some("ana@example.com"));
    assert_eq!(
        identity.claims.name, "ana@example.com",
        "falls back to the email"
    );
    assert_eq!(
        identity.groups,
        Some(vec!["analytics".into(), "sales-data".into()])
    );
}

#[test]
fn id_tokens_that_must_fail_do() {
    let cases = [
        (
            "signed by a foreign key",
            id_token(IdTokenSpec {
                key: KEY_B,
                ..Default::default()
            }),
            "n-1",
        ),
        (
            "for another audience",
            id_token(IdTokenSpec {
                audience: "other-app",
                ..Default::default()
            }),
            "n-1",
        ),
        (
            "from another issuer",
            id_token(IdTokenSpec {
                issuer: "http://127.0.0.1:1",
                ..Default::default()
            }),
            "n-1",
        ),
        (
            "with the wrong nonce",
            id_token(IdTokenSpec::default()),
            "n-2",
        ),
        (
            "expired",
            id_token(IdTokenSpec {
                expires_in: -600,
                ..Default::default()
            }),
            "n-1",
        ),
    ];
    for (what, token, nonce) in cases {
        assert!(
            verify(&token, nonce).is_err(),
            "an ID token {what} was accepted"
        );
    }
}

#[test]
fn a_tampered_id_token_is_refused() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let token = id_token(IdTokenSpec::default()).to_string();
    let parts: Vec<&str> = token.split('.').collect();
    let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let forged = URL_SAFE_NO_PAD.encode(payload.replace("\"analytics\"", "\"wharf-admins\""));
    let tampered = CoreIdToken::from_str(&format!("{}.{}.{}", parts[0], forged, parts[2])).unwrap();
    assert!(verify(&tampered, "n-1").is_err());
}

#[test]
fn a_little_clock_skew_is_tolerated() {
    let token = id_token(IdTokenSpec {
        expires_in: -20,
        ..Default::default()
    });
    assert!(verify(&token, "n-1").is_ok());
}

fn access_token(pem: &str, alg: Algorithm, claims: serde_json::Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some("k1".into());
    let key = match alg {
        Algorithm::HS256 => EncodingKey::from_secret(b"shared"),
        _ => EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
    };
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

fn idp_decoding_key() -> DecodingKey {
    let jwk = serde_json::to_value(signing_key(KEY_A).as_verification_key()).unwrap();
    DecodingKey::from_jwk(&serde_json::from_value(jwk).unwrap()).unwrap()
}

fn claims(extra: serde_json::Value) -> serde_json::Value {
    let now = chrono::Utc::now().timestamp();
    let mut base = serde_json::json!({
        "iss": ISSUER, "sub": "automation", "client_id": "automation",
        "iat": now, "exp": now + 300, "groups": ["ci-bots"],
    });
    base.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    base
}

fn check(token: &str, alg: Algorithm) -> Result<Identity, OidcError> {
    validate_access_token(
        token,
        &idp_decoding_key(),
        alg,
        ISSUER,
        "urn:wharf",
        "groups",
    )
}

#[test]
fn access_tokens_for_our_audience_are_accepted() {
    let token = access_token(
        KEY_A,
        Algorithm::RS256,
        claims(serde_json::json!({"aud": "urn:wharf"})),
    );
    let identity = check(&token, Algorithm::RS256).unwrap();
    assert_eq!(identity.claims.subject, "automation");
    assert_eq!(identity.claims.name, "automation");
    assert_eq!(identity.groups, Some(vec!["ci-bots".into()]));
    // Cognito: no `aud`, a resource-server scope instead.
    let cognito = claims(serde_json::json!({"scope": "urn:wharf/api", "cognito:groups": ["x"]}));
    assert!(
        check(
            &access_token(KEY_A, Algorithm::RS256, cognito),
            Algorithm::RS256
        )
        .is_ok()
    );
}

#[test]
fn access_tokens_that_must_fail_do() {
    let now = chrono::Utc::now().timestamp();
    let cases = [
        (
            "for another audience",
            KEY_A,
            Algorithm::RS256,
            claims(serde_json::json!({"aud": "urn:other"})),
        ),
        (
            "without any audience",
            KEY_A,
            Algorithm::RS256,
            claims(serde_json::json!({})),
        ),
        (
            "from a foreign key",
            KEY_B,
            Algorithm::RS256,
            claims(serde_json::json!({"aud": "urn:wharf"})),
        ),
        (
            "from another issuer",
            KEY_A,
            Algorithm::RS256,
            claims(serde_json::json!({"aud": "urn:wharf", "iss": "http://evil"})),
        ),
        (
            "expired",
            KEY_A,
            Algorithm::RS256,
            claims(serde_json::json!({"aud": "urn:wharf", "exp": now - 600})),
        ),
        (
            "signed with a shared secret",
            KEY_A,
            Algorithm::HS256,
            claims(serde_json::json!({"aud": "urn:wharf"})),
        ),
    ];
    for (what, key, alg, claims) in cases {
        let token = access_token(key, alg, claims);
        assert!(
            check(&token, alg).is_err(),
            "an access token {what} was accepted"
        );
    }
}
