//! Webhooks: the relay fans each event out into deliveries (one per matching
//! subscription), and the dispatcher sends them, signed, retrying with exponential backoff
//! for up to a day. Every delivery runs in its own task, so a slow receiver holds up only
//! its own deliveries; a subject's events reach one receiver in order.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio::sync::{Semaphore, watch};

use super::EventSink;
use crate::domain::OutboxEvent;
use crate::domain::events::{CloudEvent, signature, type_matches};
use crate::domain::webhook_targets::{address_allowed, refusal};
use crate::store::{AttemptOutcome, DueDelivery, NewDelivery, Store, Webhook, now};

/// How long a dispatcher owns a claimed delivery before another may send it.
const LEASE: Duration = Duration::from_secs(60);
const TIMEOUT: Duration = Duration::from_secs(10);
const CLAIM: i64 = 32;
const IN_FLIGHT: usize = 64;
const IDLE_POLL: Duration = Duration::from_millis(250);
/// A delivery is given up this long after its event was fanned out.
const GIVE_UP_AFTER: time::Duration = time::Duration::days(1);

/// Whether a subscription receives an event: its type filter, and for a product owner's
/// subscription, only that product's events and its access requests'.
pub fn receives(webhook: &Webhook, event: &OutboxEvent) -> bool {
    if !type_matches(&webhook.event_types, &event.event_type) {
        return false;
    }
    match &webhook.product {
        None => true,
        Some(slug) => {
            event.subject == format!("products/{slug}")
                || (event.subject.starts_with("access-requests/")
                    && event.data["product"].as_str() == Some(slug))
        }
    }
}

pub struct WebhookFanout(pub Arc<dyn Store>);

#[async_trait]
impl EventSink for WebhookFanout {
    fn name(&self) -> &'static str {
        "webhooks"
    }

    async fn deliver(&self, from: i64, events: &[OutboxEvent]) -> anyhow::Result<()> {
        let webhooks = self.0.webhooks().await?;
        let deliveries: Vec<NewDelivery> = events
            .iter()
            .flat_map(|event| {
                webhooks
                    .iter()
                    .filter(|webhook| receives(webhook, event))
                    .map(|webhook| NewDelivery {
                        webhook: webhook.id,
                        event_seq: event.seq,
                        subject: event.subject.clone(),
                    })
            })
            .collect();
        let to = events.last().map_or(from, |e| e.seq);
        self.0
            .fan_out_webhooks(self.name(), from, to, &deliveries)
            .await?;
        Ok(())
    }
}

/// Sends due deliveries.
pub struct Dispatcher {
    store: Arc<dyn Store>,
    source: String,
    pause_after: i32,
    allow_link_local: bool,
    slots: Arc<Semaphore>,
}

impl Dispatcher {
    pub fn new(
        store: Arc<dyn Store>,
        source: String,
        pause_after: i32,
        allow_link_local: bool,
    ) -> Self {
        Self {
            store,
            source,
            pause_after,
            allow_link_local,
            slots: Arc::new(Semaphore::new(IN_FLIGHT)),
        }
    }

    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            let free = self.slots.available_permits().min(CLAIM as usize) as i64;
            let due = if free == 0 {
                Vec::new()
            } else {
                match self.store.claim_deliveries(LEASE, free).await {
                    Ok(due) => due,
                    Err(error) => {
                        tracing::warn!(%error, "cannot claim webhook deliveries");
                        Vec::new()
                    }
                }
            };
            let idle = due.is_empty();
            for delivery in due {
                let Ok(slot) = self.slots.clone().acquire_owned().await else {
                    return;
                };
                let dispatcher = self.clone();
                tokio::spawn(async move {
                    dispatcher.send(delivery).await;
                    drop(slot);
                });
            }
            if idle {
                tokio::select! {
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }

    #[tracing::instrument(skip_all, fields(delivery = %delivery.id, webhook = %delivery.webhook))]
    async fn send(&self, delivery: DueDelivery) {
        let started = Instant::now();
        let result = self.post(&delivery).await;
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (status_code, error) = match result {
            Ok(status) if (200..300).contains(&status) => (Some(status), None),
            Ok(status) => (
                Some(status),
                Some(format!("the receiver answered HTTP {status}")),
            ),
            Err(error) => (None, Some(error)),
        };
        let delivered = error.is_none();
        let attempt = delivery.attempts + 1;
        let retry_at = (!delivered)
            .then(|| now() + retry_delay(attempt))
            .filter(|at| *at < delivery.created_at + GIVE_UP_AFTER);
        if let Some(error) = &error {
            tracing::info!(%error, attempt, retrying = retry_at.is_some(), "webhook delivery failed");
        }
        let outcome = AttemptOutcome {
            status_code,
            error,
            duration_ms,
            delivered,
            retry_at,
        };
        if let Err(error) = self
            .store
            .record_attempt(delivery.id, &outcome, self.pause_after)
            .await
        {
            tracing::error!(%error, "cannot record a webhook attempt; its lease will expire");
        }
    }

    /// POST the event; the HTTP status, or what went wrong in words.
    async fn post(&self, delivery: &DueDelivery) -> Result<u16, String> {
        let url = url::Url::parse(&delivery.url).map_err(|e| format!("bad URL: {e}"))?;
        let host = url.host_str().ok_or("the URL has no host")?.to_owned();
        let port = url.port_or_known_default().unwrap_or(80);
        // Resolve once, check every address, and connect to a checked one, so a DNS
        // answer cannot swap in a metadata address between the check and the request.
        let addresses: Vec<SocketAddr> = match url.host() {
            Some(url::Host::Ipv4(ip)) => vec![SocketAddr::new(ip.into(), port)],
            Some(url::Host::Ipv6(ip)) => vec![SocketAddr::new(ip.into(), port)],
            _ => tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|e| format!("cannot resolve {host}: {e}"))?
                .collect(),
        };
        let address = checked_address(&host, &addresses, self.allow_link_local)?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .resolve(&host, address)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let body = serde_json::to_vec(&CloudEvent::new(&delivery.event, &self.source))
            .map_err(|e| format!("cannot encode the event: {e}"))?;
        let timestamp = OffsetDateTime::now_utc().unix_timestamp();
        let response = client
            .post(url)
            .header("content-type", "application/cloudevents+json")
            .header("user-agent", concat!("wharf/", env!("CARGO_PKG_VERSION")))
            .header("wharf-delivery", delivery.id.to_string())
            .header("wharf-event-type", &delivery.event.event_type)
            .header(
                "wharf-signature",
                signature(&delivery.secret, timestamp, &body),
            )
            .body(body)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    format!("no answer within {} s", TIMEOUT.as_secs())
                } else {
                    format!("cannot reach the receiver: {e}")
                }
            })?;
        Ok(response.status().as_u16())
    }
}

/// Of the addresses `host` resolved to, the one to connect to. One address webhooks may
/// not reach refuses the whole answer: a name that also resolves to a metadata address
/// is not trusted with the others.
pub fn checked_address(
    host: &str,
    addresses: &[SocketAddr],
    allow_link_local: bool,
) -> Result<SocketAddr, String> {
    let Some(first) = addresses.first().copied() else {
        return Err(format!("{host} resolves to no address"));
    };
    match addresses
        .iter()
        .find(|a| !address_allowed(a.ip(), allow_link_local))
    {
        Some(refused) => Err(format!(
            "{host} resolves to {}, {} webhooks may not reach",
            refused.ip(),
            refusal(refused.ip()).map_or("an address", |r| r.describe())
        )),
        None => Ok(first),
    }
}

/// 1 s, 2 s, 4 s … capped at an hour: a day of retries is about 30 attempts.
pub fn retry_delay(attempt: i32) -> Duration {
    let exponent = attempt.clamp(1, 30) as u32 - 1;
    Duration::from_secs(2u64.saturating_pow(exponent).min(3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(addresses: &[&str]) -> Vec<SocketAddr> {
        addresses
            .iter()
            .map(|ip| SocketAddr::new(ip.parse().unwrap(), 443))
            .collect()
    }

    /// What a name resolves to at delivery is checked like an address in the URL, in
    /// every form: a name cannot lead a delivery to a metadata service.
    #[test]
    fn a_name_resolving_to_a_metadata_address_in_any_form_is_not_delivered_to() {
        let ok = resolved(&["203.0.113.7", "2001:db8::7"]);
        assert_eq!(checked_address("hooks.example.com", &ok, false), Ok(ok[0]));
        for refused in [
            "169.254.169.254",
            "::ffff:169.254.169.254",
            "::169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::1",
            "2001:0:4136:e378:8000:63bf:5601:5601",
            "100.100.100.200",
            "168.63.129.16",
            "fd00:ec2::254",
            "fe80::1",
        ] {
            // Alone, or hidden behind an address that is fine.
            let answer = resolved(&["203.0.113.7", refused]);
            let error = checked_address("evil.example.com", &answer, false).unwrap_err();
            assert!(error.contains("may not reach"), "{refused}: {error}");
            assert!(checked_address("evil.example.com", &answer[1..], false).is_err());
        }
        // Link-local receivers when allowed, but a metadata service never.
        let link_local = resolved(&["169.254.10.1"]);
        assert!(checked_address("local", &link_local, true).is_ok());
        let metadata = resolved(&["64:ff9b::a9fe:a9fe"]);
        assert!(checked_address("local", &metadata, true).is_err());
        assert!(checked_address("nothing", &[], false).is_err());
    }
}
