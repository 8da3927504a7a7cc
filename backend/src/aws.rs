//! Building AWS SDK configuration for an environment: region, optional endpoint override
//! (tests and local stand-ins), credentials from the default chain, optionally assuming
//! the environment's role. The AWS calls themselves live in `grants`, `catalog_sources`
//! and `events`.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;

use crate::domain::AwsTarget;

/// SDK configuration for calls into `target`'s account. `global_endpoint` is the
/// `WHARF_AWS_ENDPOINT_URL` setting; an environment's own override wins over it.
pub async fn sdk_config(target: &AwsTarget, global_endpoint: Option<&str>) -> SdkConfig {
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).region(Region::new(target.region.clone()));
    if let Some(endpoint) = target.endpoint_url.as_deref().or(global_endpoint) {
        loader = loader.endpoint_url(endpoint);
    }
    let base = loader.load().await;
    let Some(role) = &target.role_arn else {
        return base;
    };
    let provider = aws_config::sts::AssumeRoleProvider::builder(role)
        .session_name("wharf")
        .configure(&base)
        .build()
        .await;
    base.into_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build()
}
