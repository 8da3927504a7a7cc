//! The README's curl journey (publish, request, approve, check, revoke) works as written:
//! the block between `<!-- journey:start -->` and `<!-- journey:end -->` runs with bash
//! against a live `wharf serve --demo`, with the tokens the README tells people to make.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use wharf_e2e::Wharf;

fn journey() -> String {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let text = std::fs::read_to_string(readme).unwrap();
    let start = text
        .find("<!-- journey:start -->")
        .expect("journey:start in README");
    let end = text
        .find("<!-- journey:end -->")
        .expect("journey:end in README");
    let block = &text[start..end];
    let code = block
        .split_once("```sh\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(code, _)| code.to_owned())
        .expect("a ```sh block in the journey");
    assert!(code.contains("curl"), "{code}");
    code
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_curl_journey_works_as_written() {
    for tool in ["bash", "curl", "jq"] {
        assert!(
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .unwrap()
                .status
                .success(),
            "{tool} is needed for the README journey (tests/run.sh installs it)"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let wharf = Wharf::start(dir.path(), &["--demo"], &[]).await;
    let owner = wharf.api_token("omar").await;
    let me = wharf.api_token("ana").await;
    let script = format!("set -euo pipefail\n{}", journey());
    let run = tokio::process::Command::new("bash")
        .args(["-c", &script])
        .env("WHARF_URL", &wharf.base_url)
        .env("OWNER_TOKEN", &owner)
        .env("TOKEN", &me)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the journey finishes within 120 s")
        .unwrap();
    let status = output.status;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    );
    assert!(
        status.success(),
        "the README journey failed:\n{stdout}\n{stderr}\nwharf's log:\n{}",
        wharf.log_text()
    );
    assert!(
        stdout.contains("\"status\": \"granted\"") && stdout.trim_end().ends_with("revoking"),
        "granted, then revoking:\n{stdout}"
    );

    // And the grant really ends: the request reaches `revoked`.
    let requests: serde_json::Value = wharf
        .api("GET", "/api/v1/access-requests?scope=mine", &me, None)
        .await
        .json()
        .await
        .unwrap();
    let id = requests[0]["id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let request: serde_json::Value = wharf
            .api("GET", &format!("/api/v1/access-requests/{id}"), &me, None)
            .await
            .json()
            .await
            .unwrap();
        if request["status"] == "revoked" {
            assert_eq!(request["product_slug"], "store-footfall");
            break;
        }
        assert!(Instant::now() < deadline, "never revoked: {request}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
