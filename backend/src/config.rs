//! Configuration: a TOML file overlaid by `WHARF_*` environment variables (env wins).
//!
//! Every key has one name: `database_url` in the file is `WHARF_DATABASE_URL` in the
//! environment. Unknown keys in the file and malformed values are refused with a
//! one-line message naming the key, so a typo never silently falls back to a default.
//! Unknown `WHARF_*` variables are only warned about: the environment is shared with
//! whatever runs Wharf (Kubernetes injects `WHARF_PORT`, `WHARF_SERVICE_HOST`, … into every
//! pod when a Service named `wharf` exists), and a start-up that depends on it would fail.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Environment variables with this prefix are reserved for the test suite and ignored here.
const TEST_ENV_PREFIX: &str = "WHARF_TEST_";
const ENV_PREFIX: &str = "WHARF_";

/// A configuration problem, worded for the operator who has to fix it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

/// The validated configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub public_url: String,
    pub data_dir: PathBuf,
    pub database_url: DatabaseUrl,
    pub log_format: LogFormat,
    pub log_filter: String,
    pub request_timeout: Duration,
    pub max_body_bytes: usize,
    pub oidc: Option<OidcConfig>,
    pub groups_claim: String,
    pub session_idle: Duration,
    /// How long a session's or API token's caller is kept in memory between requests: how
    /// long another process's revocation or sign-out may go unnoticed here (zero: never).
    pub caller_cache: Duration,
    /// How often `aws` products are re-synced with Glue; `None` turns it off.
    pub resync_interval: Option<Duration>,
    /// How often granted access is checked against the driver; `None` turns it off.
    pub verify_interval: Option<Duration>,
    /// Whether `serve` runs a job worker in-process (off when dedicated `wharf worker`s do).
    pub serve_worker: bool,
    /// How long a claimed job is a worker's before another may take it over.
    pub job_lease: Duration,
    pub session_max: Duration,
    pub admin_group: String,
    pub aws_endpoint_url: Option<String>,
    pub events_dynamodb_table: Option<String>,
    /// Create the events table (with streams on) at start-up when it is missing.
    pub events_dynamodb_create: bool,
    /// Deliver webhooks to link-local addresses (169.254.0.0/16, where metadata lives).
    pub webhook_allow_link_local: bool,
    /// Pause a webhook subscription after this many failed attempts in a row.
    pub webhook_pause_after: i32,
    /// Host names requests may name besides the public URL's (and loopback names on a
    /// loopback listener): names a proxy in front of Wharf forwards.
    pub allowed_hosts: Vec<HostName>,
    /// `WHARF_*` variables that are no setting, ignored; logged as a warning at start-up.
    pub ignored_env: Vec<String>,
}

/// The identity provider; absent means the development sign-in may be offered.
#[derive(Clone)]
pub struct OidcConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    /// Scopes asked for at sign-in (`openid` is always included).
    pub scopes: Vec<String>,
    /// Accepted audience of JWT access tokens (default: the client id).
    pub audience: String,
    /// A non-standard logout endpoint (Cognito's `https://<domain>/logout`); otherwise the
    /// discovered `end_session_endpoint` is used, when the IdP has one.
    pub logout_url: Option<String>,
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Which database backend, picked once from the URL scheme.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(String),
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite(url.to_owned()))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres(url.to_owned()))
        } else {
            Err(ConfigError(format!(
                "database_url must start with sqlite:// or postgres://, got {:?}",
                redact_url(url)
            )))
        }
    }

    /// The URL with any password replaced, safe for logs and error messages.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite(url) | Self::Postgres(url) => redact_url(url),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Replace the password in `scheme://user:password@host` with `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// A host a request may name: `name` or `name:port`, compared case-insensitively and
/// without a trailing dot (`Wharf.Example.com.` is `wharf.example.com`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostName {
    /// Lower-case, without a trailing dot; an IPv6 address keeps its brackets (`[::1]`).
    pub name: String,
    /// `None`: any port.
    pub port: Option<u16>,
}

impl HostName {
    /// Parse `name`, `name:port`, `[v6]` or `[v6]:port` (a `Host` header or an authority).
    pub fn parse(text: &str) -> Option<Self> {
        let (name, port) = if text.starts_with('[') {
            let end = text.find(']')?;
            match &text[end + 1..] {
                "" => (&text[..=end], None),
                rest => (&text[..=end], Some(rest.strip_prefix(':')?)),
            }
        } else {
            match text.rsplit_once(':') {
                Some((name, port)) => (name, Some(port)),
                None => (text, None),
            }
        };
        let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
        let valid = match name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
            Some(address) => address.parse::<std::net::Ipv6Addr>().is_ok(),
            None => {
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            }
        };
        if !valid {
            return None;
        }
        let port = match port {
            Some(port) => Some(port.parse().ok()?),
            None => None,
        };
        Some(Self { name, port })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The file/env shape before validation. Field names are the documented keys.
#[derive(Debug, Default, Deserialize)]
struct RawConfig {
    listen: Option<String>,
    public_url: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    log_format: Option<LogFormat>,
    log: Option<String>,
    request_timeout_secs: Option<Number>,
    max_body_bytes: Option<Number>,
    oidc_issuer: Option<String>,
    oidc_client_id: Option<String>,
    oidc_client_secret: Option<String>,
    oidc_scopes: Option<String>,
    oidc_audience: Option<String>,
    oidc_logout_url: Option<String>,
    oidc_groups_claim: Option<String>,
    session_idle_minutes: Option<Number>,
    session_max_hours: Option<Number>,
    caller_cache_secs: Option<Number>,
    resync_interval_minutes: Option<Number>,
    serve_worker: Option<Flag>,
    verify_interval_minutes: Option<Number>,
    job_lease_secs: Option<Number>,
    admin_group: Option<String>,
    aws_endpoint_url: Option<String>,
    events_dynamodb_table: Option<String>,
    events_dynamodb_create: Option<Flag>,
    webhook_allow_link_local: Option<Flag>,
    webhook_pause_after: Option<Number>,
    allowed_hosts: Option<List>,
    /// Keys that are no setting: fatal from the file, warned about from the environment.
    #[serde(flatten)]
    unknown: toml::Table,
}

/// A list written as a TOML array or (from the environment) comma-separated.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum List {
    Many(Vec<String>),
    Text(String),
}

impl List {
    fn items(&self) -> Vec<&str> {
        let items: Vec<&str> = match self {
            Self::Many(items) => items.iter().map(String::as_str).collect(),
            Self::Text(text) => text.split(',').collect(),
        };
        items
            .into_iter()
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .collect()
    }
}

/// A number written either as a TOML integer or (from the environment) as a string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Number {
    Int(u64),
    Text(String),
}

/// A flag written as a TOML boolean or (from the environment) `true`/`false`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Flag {
    Bool(bool),
    Text(String),
}

impl Flag {
    fn get(&self, key: &str) -> Result<bool, ConfigError> {
        match self {
            Self::Bool(b) => Ok(*b),
            Self::Text(s) => match s.trim() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" => Ok(false),
                other => Err(ConfigError(format!(
                    "{key} must be true or false, got {other:?}"
                ))),
            },
        }
    }
}

impl Number {
    fn get(&self, key: &str) -> Result<u64, ConfigError> {
        match self {
            Self::Int(n) => Ok(*n),
            Self::Text(s) => s
                .trim()
                .parse()
                .map_err(|_| ConfigError(format!("{key} must be a whole number, got {s:?}"))),
        }
    }
}

impl Config {
    /// Load from an optional TOML file and the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::from_sources(file, std::env::vars())
    }

    /// Load from an optional file and an explicit set of environment variables (tests).
    pub fn from_sources(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table = match file {
            Some(path) => read_file(path)?,
            None => toml::Table::new(),
        };
        let from_file: Vec<String> = table.keys().cloned().collect();
        // Each key set from the environment, with the variable that set it.
        let mut from_env = std::collections::BTreeMap::new();
        for (name, value) in env {
            let Some(key) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if name.starts_with(TEST_ENV_PREFIX) {
                continue;
            }
            let key = key.to_ascii_lowercase();
            table.insert(key.clone(), toml::Value::String(value));
            from_env.insert(key, name);
        }
        let mut raw = RawConfig::deserialize(table).map_err(|e| {
            ConfigError(format!("configuration: {}", e.message().replace('\n', " ")))
        })?;
        let mut ignored_env = Vec::new();
        for key in std::mem::take(&mut raw.unknown).keys() {
            match (from_file.contains(key), from_env.remove(key)) {
                (false, Some(variable)) => ignored_env.push(variable),
                _ => {
                    let place = file.map_or_else(String::new, |p| format!("{}: ", p.display()));
                    return Err(ConfigError(format!(
                        "{place}unknown key `{key}` (the README lists every setting)"
                    )));
                }
            }
        }
        let mut config = raw.validate()?;
        config.ignored_env = ignored_env;
        Ok(config)
    }

    /// Name each ignored `WHARF_*` variable in the log (call once logging is set up): a
    /// misspelt setting must not go unnoticed, even though it does not stop Wharf.
    pub fn warn_about_ignored_env(&self) {
        for variable in &self.ignored_env {
            tracing::warn!(
                variable = %variable,
                "unknown variable {variable} ignored: it is no Wharf setting (a typo, or a \
                 variable Kubernetes sets for a Service named wharf)"
            );
        }
    }
}

fn read_file(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read config file {}: {e}", path.display())))?;
    text.parse::<toml::Table>().map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start].lines().count().max(1))
            .unwrap_or(1);
        ConfigError(format!(
            "{}:{line}: {}",
            path.display(),
            e.message().replace('\n', " ")
        ))
    })
}

impl RawConfig {
    fn validate(self) -> Result<Config, ConfigError> {
        let listen_text = self.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            ConfigError(format!(
                "listen must be an address like 127.0.0.1:8080, got {listen_text:?}"
            ))
        })?;
        let public_url = match self.public_url {
            Some(url) => parse_http_url("public_url", &url)?,
            None => format!("http://{listen}"),
        };
        let data_dir = self
            .data_dir
            .unwrap_or_else(|| PathBuf::from("./wharf-data"));
        let database_url = match self.database_url {
            Some(url) => DatabaseUrl::parse(&url)?,
            None => {
                DatabaseUrl::Sqlite(format!("sqlite://{}", data_dir.join("wharf.db").display()))
            }
        };
        let oidc = match (self.oidc_issuer, self.oidc_client_id) {
            (None, None) => None,
            (Some(issuer), Some(client_id)) => Some(OidcConfig {
                issuer: parse_http_url("oidc_issuer", &issuer)?,
                scopes: self
                    .oidc_scopes
                    .as_deref()
                    .unwrap_or("openid email profile")
                    .split([' ', ','])
                    .filter(|s| !s.is_empty() && *s != "openid")
                    .map(str::to_owned)
                    .collect(),
                audience: self.oidc_audience.unwrap_or_else(|| client_id.clone()),
                logout_url: match self.oidc_logout_url {
                    Some(url) => Some(parse_http_url("oidc_logout_url", &url)?),
                    None => None,
                },
                client_id,
                client_secret: self.oidc_client_secret,
            }),
            (Some(_), None) => {
                return Err(ConfigError(
                    "oidc_issuer is set but oidc_client_id is not".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(ConfigError(
                    "oidc_client_id is set but oidc_issuer is not".into(),
                ));
            }
        };
        let request_timeout_secs = match self.request_timeout_secs {
            Some(n) => n.get("request_timeout_secs")?,
            None => 30,
        };
        if request_timeout_secs == 0 {
            return Err(ConfigError(
                "request_timeout_secs must be at least 1".into(),
            ));
        }
        let max_body_bytes = match self.max_body_bytes {
            Some(n) => n.get("max_body_bytes")?,
            None => 2 * 1024 * 1024,
        };
        let session_idle_minutes = match self.session_idle_minutes {
            Some(n) => n.get("session_idle_minutes")?,
            None => 8 * 60,
        };
        let session_max_hours = match self.session_max_hours {
            Some(n) => n.get("session_max_hours")?,
            None => 12,
        };
        if session_idle_minutes == 0 || session_max_hours == 0 {
            return Err(ConfigError(
                "session_idle_minutes and session_max_hours must be at least 1".into(),
            ));
        }
        let allowed_hosts = match &self.allowed_hosts {
            Some(list) => list
                .items()
                .into_iter()
                .map(|item| {
                    HostName::parse(item).ok_or_else(|| {
                        ConfigError(format!(
                            "allowed_hosts must list host names, optionally with a port \
                             (wharf.internal, wharf.internal:8443), got {item:?}"
                        ))
                    })
                })
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let aws_endpoint_url = match self.aws_endpoint_url {
            Some(url) => Some(parse_http_url("aws_endpoint_url", &url)?),
            None => None,
        };
        Ok(Config {
            listen,
            public_url,
            data_dir,
            database_url,
            log_format: self.log_format.unwrap_or(LogFormat::Text),
            log_filter: self.log.unwrap_or_else(|| "info".into()),
            request_timeout: Duration::from_secs(request_timeout_secs),
            max_body_bytes: usize::try_from(max_body_bytes).unwrap_or(usize::MAX),
            oidc,
            groups_claim: self.oidc_groups_claim.unwrap_or_else(|| "groups".into()),
            session_idle: Duration::from_secs(session_idle_minutes * 60),
            caller_cache: Duration::from_secs(match self.caller_cache_secs {
                Some(n) => n.get("caller_cache_secs")?.min(60),
                None => 1,
            }),
            verify_interval: match self.verify_interval_minutes {
                Some(n) => Some(n.get("verify_interval_minutes")?).filter(|m| *m > 0),
                None => Some(60),
            }
            .map(|minutes| Duration::from_secs(minutes * 60)),
            serve_worker: match self.serve_worker {
                Some(flag) => flag.get("serve_worker")?,
                None => true,
            },
            job_lease: Duration::from_secs(match self.job_lease_secs {
                Some(n) => n.get("job_lease_secs")?.max(1),
                None => 60,
            }),
            resync_interval: match self.resync_interval_minutes {
                Some(n) => Some(n.get("resync_interval_minutes")?).filter(|m| *m > 0),
                None => Some(360),
            }
            .map(|minutes| Duration::from_secs(minutes * 60)),
            session_max: Duration::from_secs(session_max_hours * 3600),
            admin_group: self.admin_group.unwrap_or_else(|| "wharf-admins".into()),
            aws_endpoint_url,
            events_dynamodb_table: self.events_dynamodb_table.filter(|t| !t.is_empty()),
            events_dynamodb_create: match self.events_dynamodb_create {
                Some(flag) => flag.get("events_dynamodb_create")?,
                None => false,
            },
            webhook_allow_link_local: match self.webhook_allow_link_local {
                Some(flag) => flag.get("webhook_allow_link_local")?,
                None => false,
            },
            webhook_pause_after: match self.webhook_pause_after {
                Some(n) => {
                    i32::try_from(n.get("webhook_pause_after")?.clamp(1, 1000)).unwrap_or(10)
                }
                None => 10,
            },
            allowed_hosts,
            ignored_env: Vec::new(),
        })
    }
}

/// Accept `http://` and `https://` URLs, without a trailing slash.
fn parse_http_url(key: &str, url: &str) -> Result<String, ConfigError> {
    let has_host = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
    if !has_host {
        return Err(ConfigError(format!(
            "{key} must be an http:// or https:// URL, got {url:?}"
        )));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

impl Config {
    /// Cookies get `Secure` when users reach Wharf over https.
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The development sign-in is only ever offered without an IdP on a loopback listener.
    pub fn dev_signin_allowed(&self) -> bool {
        self.oidc.is_none() && self.listen.ip().is_loopback()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_need_nothing() {
        let config = Config::from_sources(None, env(&[])).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(
            config.database_url,
            DatabaseUrl::Sqlite("sqlite://./wharf-data/wharf.db".into())
        );
        assert!(config.dev_signin_allowed());
    }

    #[test]
    fn env_wins_over_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("wharf.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\nrequest_timeout_secs = 5\n",
        )
        .unwrap();
        let config =
            Config::from_sources(Some(&file), env(&[("WHARF_LISTEN", "127.0.0.1:9001")])).unwrap();
        assert_eq!(config.listen.port(), 9001);
        assert_eq!(config.request_timeout, Duration::from_secs(5));
    }

    #[test]
    fn unknown_variables_are_ignored_by_name_but_unknown_file_keys_are_refused() {
        let config = Config::from_sources(None, env(&[("WHARF_DATABSE_URL", "x")])).unwrap();
        assert_eq!(config.ignored_env, ["WHARF_DATABSE_URL"]);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("wharf.toml");
        std::fs::write(&file, "lissen = \"x\"\n").unwrap();
        let err = Config::from_sources(Some(&file), env(&[])).unwrap_err();
        assert!(err.to_string().contains("lissen"), "{err}");
        assert!(!err.to_string().contains('\n'));
        // Setting the same unknown key from the environment too does not excuse the file.
        let err = Config::from_sources(Some(&file), env(&[("WHARF_LISSEN", "x")])).unwrap_err();
        assert!(err.to_string().contains("lissen"), "{err}");
    }

    #[test]
    fn kubernetes_service_variables_do_not_stop_wharf() {
        let config = Config::from_sources(
            None,
            env(&[
                ("WHARF_PORT", "tcp://10.0.0.1:80"),
                ("WHARF_PORT_80_TCP", "tcp://10.0.0.1:80"),
                ("WHARF_PORT_80_TCP_ADDR", "10.0.0.1"),
                ("WHARF_SERVICE_HOST", "10.0.0.1"),
                ("WHARF_SERVICE_PORT", "80"),
                ("WHARF_LISTEN", "0.0.0.0:8080"),
            ]),
        )
        .unwrap();
        assert_eq!(config.listen.to_string(), "0.0.0.0:8080");
        let mut ignored = config.ignored_env.clone();
        ignored.sort();
        assert_eq!(
            ignored,
            [
                "WHARF_PORT",
                "WHARF_PORT_80_TCP",
                "WHARF_PORT_80_TCP_ADDR",
                "WHARF_SERVICE_HOST",
                "WHARF_SERVICE_PORT"
            ]
        );
    }

    #[test]
    fn allowed_hosts_are_names_with_an_optional_port() {
        let config = Config::from_sources(
            None,
            env(&[(
                "WHARF_ALLOWED_HOSTS",
                " Wharf.Internal. , proxy.example:8443,[::1]:9000,",
            )]),
        )
        .unwrap();
        let hosts: Vec<(&str, Option<u16>)> = config
            .allowed_hosts
            .iter()
            .map(|h| (h.name.as_str(), h.port))
            .collect();
        assert_eq!(
            hosts,
            [
                ("wharf.internal", None),
                ("proxy.example", Some(8443)),
                ("[::1]", Some(9000))
            ]
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("wharf.toml");
        std::fs::write(&file, "allowed_hosts = [\"a.example\", \"b.example:81\"]\n").unwrap();
        let config = Config::from_sources(Some(&file), env(&[])).unwrap();
        assert_eq!(config.allowed_hosts.len(), 2);
        for bad in ["https://wharf.example.com", "wharf/x", "wharf:port", "a b"] {
            let err = Config::from_sources(None, env(&[("WHARF_ALLOWED_HOSTS", bad)])).unwrap_err();
            assert!(err.to_string().contains("allowed_hosts"), "{bad}: {err}");
        }
    }

    #[test]
    fn malformed_values_name_the_key() {
        for (key, value, expect) in [
            ("WHARF_LISTEN", "localhost", "listen"),
            ("WHARF_DATABASE_URL", "mysql://x", "database_url"),
            ("WHARF_REQUEST_TIMEOUT_SECS", "soon", "request_timeout_secs"),
            ("WHARF_PUBLIC_URL", "ftp://x", "public_url"),
            ("WHARF_LOG_FORMAT", "xml", "xml"),
        ] {
            let err = Config::from_sources(None, env(&[(key, value)])).unwrap_err();
            assert!(err.to_string().contains(expect), "{key}: {err}");
        }
    }

    #[test]
    fn test_variables_are_ignored_and_secrets_redacted() {
        let config = Config::from_sources(
            None,
            env(&[
                ("WHARF_TEST_DATABASE_URL", "postgres://x"),
                ("WHARF_DATABASE_URL", "postgres://wharf:hunter2@db/wharf"),
            ]),
        )
        .unwrap();
        assert_eq!(
            format!("{:?}", config.database_url),
            "postgres://wharf:***@db/wharf"
        );
    }

    #[test]
    fn callers_are_kept_a_second_unless_configured_and_at_most_a_minute() {
        let kept = |value: Option<&str>| {
            let pairs: Vec<_> = value
                .map(|v| ("WHARF_CALLER_CACHE_SECS", v))
                .into_iter()
                .collect();
            Config::from_sources(None, env(&pairs))
                .unwrap()
                .caller_cache
        };
        assert_eq!(kept(None), Duration::from_secs(1));
        assert_eq!(kept(Some("0")), Duration::ZERO);
        assert_eq!(kept(Some("3600")), Duration::from_secs(60));
    }

    #[test]
    fn oidc_turns_dev_signin_off() {
        let config = Config::from_sources(
            None,
            env(&[
                ("WHARF_OIDC_ISSUER", "http://127.0.0.1:9999"),
                ("WHARF_OIDC_CLIENT_ID", "wharf"),
            ]),
        )
        .unwrap();
        assert!(!config.dev_signin_allowed());
        let config = Config::from_sources(None, env(&[("WHARF_LISTEN", "0.0.0.0:8080")])).unwrap();
        assert!(!config.dev_signin_allowed());
    }
}
