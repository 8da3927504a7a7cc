//! PyPI `moto[server]` on loopback, playing Glue, Lake Formation and DynamoDB, started with
//! `tests/aws/moto_server.py` from the test virtualenv that `tests/run.sh` prepares.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::free_port;

/// The Python of the test virtualenv: `WHARF_TEST_PYTHON`, or `~/.cache/wharf-venv`.
fn python() -> PathBuf {
    if let Ok(python) = std::env::var("WHARF_TEST_PYTHON") {
        return python.into();
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let python = Path::new(&home).join(".cache/wharf-venv/bin/python");
    assert!(
        python.exists(),
        "moto is needed for this test: run tests/run.sh, which prepares {}",
        python.display()
    );
    python
}

pub struct Moto {
    pub url: String,
    child: Child,
}

impl Moto {
    pub async fn start() -> Self {
        use std::io::{BufRead, BufReader};
        let launcher = Path::new(env!("CARGO_MANIFEST_DIR")).join("aws/moto_server.py");
        let port = free_port();
        let mut child = Command::new(python())
            .arg(&launcher)
            .args(["--port", &port.to_string()])
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        let stdout = child.stdout.take().expect("piped stdout");
        let ready = tokio::task::spawn_blocking(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .find(|l| l.starts_with("MOTO_READY "))
        });
        let line = tokio::time::timeout(Duration::from_secs(60), ready)
            .await
            .expect("moto starts within 60 s")
            .expect("reader")
            .expect("moto printed MOTO_READY");
        Self {
            url: line.trim_start_matches("MOTO_READY ").trim().to_owned(),
            child,
        }
    }

    /// SDK configuration pointing at this moto, with its dummy credentials.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        let credentials =
            aws_sdk_glue::config::Credentials::new("testing", "testing", None, None, "tests");
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(&self.url)
            .credentials_provider(credentials)
            .load()
            .await
    }

    pub async fn glue(&self) -> aws_sdk_glue::Client {
        aws_sdk_glue::Client::new(&self.sdk_config().await)
    }

    pub async fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk_config().await)
    }

    /// Every item of a DynamoDB table, all pages.
    pub async fn scan_all(
        &self,
        table: &str,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let client = self.dynamodb().await;
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = client
                .scan()
                .table_name(table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan the table");
            items.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if start.is_none() {
                return items;
            }
        }
    }

    pub async fn lakeformation(&self) -> aws_sdk_lakeformation::Client {
        aws_sdk_lakeformation::Client::new(&self.sdk_config().await)
    }

    /// What Lake Formation holds for a principal: (resource as text, sorted permissions).
    pub async fn permissions_of(&self, principal: &str) -> Vec<(String, Vec<String>)> {
        use aws_sdk_lakeformation::types::DataLakePrincipal;
        let client = self.lakeformation().await;
        // moto wants a resource whenever a principal is given: list all and filter here.
        let output = client
            .list_permissions()
            .send()
            .await
            .expect("list_permissions");
        let mut held: Vec<(String, Vec<String>)> = output
            .principal_resource_permissions()
            .iter()
            .filter(|p| {
                p.principal()
                    .and_then(DataLakePrincipal::data_lake_principal_identifier)
                    == Some(principal)
            })
            .map(|p| {
                let resource = p.resource().map(describe_resource).unwrap_or_default();
                let mut permissions: Vec<String> = p
                    .permissions()
                    .iter()
                    .map(|x| x.as_str().to_owned())
                    .collect();
                permissions.sort();
                (resource, permissions)
            })
            .filter(|(_, permissions)| !permissions.is_empty())
            .collect();
        held.sort();
        held
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn describe_resource(resource: &aws_sdk_lakeformation::types::Resource) -> String {
    if let Some(t) = resource.table() {
        return format!("table {}.{}", t.database_name(), t.name().unwrap_or("*"));
    }
    if let Some(t) = resource.table_with_columns() {
        return format!(
            "columns {}.{}({})",
            t.database_name(),
            t.name(),
            t.column_names().join(",")
        );
    }
    if let Some(d) = resource.database() {
        return format!("database {}", d.name());
    }
    format!("{resource:?}")
}
