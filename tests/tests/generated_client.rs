//! Automation uses Wharf through generated clients: a Python client generated from the
//! served `/api/openapi.json` by the standard generator (PyPI `openapi-python-client`,
//! pinned in tests/aws/requirements.txt) without a single warning, and the access journey
//! run through it (tests/generated_client/journey.py) against a live `wharf serve --demo`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use wharf_e2e::Wharf;

/// The test virtualenv's python, as tests/run.sh prepares it (`WHARF_TEST_PYTHON`).
fn python() -> PathBuf {
    let python = std::env::var("WHARF_TEST_PYTHON").unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
        format!("{home}/.cache/wharf-venv/bin/python")
    });
    let generator = Path::new(&python).with_file_name("openapi-python-client");
    assert!(
        generator.exists(),
        "openapi-python-client is needed for this test: run tests/run.sh, which installs it ({})",
        generator.display()
    );
    python.into()
}

/// Run a command of the venv (its `bin/` first on PATH, so the generator finds `ruff`),
/// within `limit`, and return its combined output, failing on a non-zero exit.
async fn run(
    python: &Path,
    program: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    limit: u64,
) -> String {
    let bin = python.parent().expect("the venv's bin directory");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = tokio::process::Command::new(program)
        .args(args)
        .env("PATH", path)
        .envs(env.iter().copied())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(limit), run)
        .await
        .unwrap_or_else(|_| panic!("{} finishes within {limit} s", program.display()))
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "{} {args:?} failed:\n{text}",
        program.display()
    );
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_generated_from_the_openapi_document_runs_the_access_journey() {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let wharf = Wharf::start(dir.path(), &["--demo"], &[]).await;
    let spec = wharf.get("/api/openapi.json").await;
    assert_eq!(spec.status(), 200);
    let spec_path = dir.path().join("openapi.json");
    std::fs::write(&spec_path, spec.bytes().await.unwrap()).unwrap();

    let out = dir.path().join("client");
    let generator = python.with_file_name("openapi-python-client");
    let generated = run(
        &python,
        &generator,
        &[
            "generate",
            "--path",
            spec_path.to_str().unwrap(),
            "--output-path",
            out.to_str().unwrap(),
        ],
        &[],
        120,
    )
    .await;
    // Anything the generator could not express is dropped from the client with a warning
    // (or an integration step skipped): none is allowed.
    let lower = generated.to_lowercase();
    assert!(
        !lower.contains("warning") && !lower.contains("skipping"),
        "openapi-python-client warned:\n{generated}"
    );
    assert!(
        out.join("wharf_api_client/client.py").exists(),
        "{generated}"
    );

    let owner = wharf.api_token("omar").await;
    let me = wharf.api_token("ana").await;
    let journey = Path::new(env!("CARGO_MANIFEST_DIR")).join("generated_client/journey.py");
    let printed = run(
        &python,
        &python,
        &[journey.to_str().unwrap()],
        &[
            ("PYTHONPATH", out.to_str().unwrap()),
            ("PYTHONDONTWRITEBYTECODE", "1"),
            ("WHARF_URL", &wharf.base_url),
            ("OWNER_TOKEN", &owner),
            ("TOKEN", &me),
        ],
        120,
    )
    .await;
    assert!(printed.contains("granted: "), "{printed}");
    assert!(wharf.stop(), "wharf stops cleanly");
}
