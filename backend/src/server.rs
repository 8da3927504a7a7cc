//! Start-up and shutdown of `wharf serve` and `wharf worker`: lock the data directory,
//! open the store, serve until SIGTERM/SIGINT, then let in-flight requests and the
//! running job finish.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::watch;

use crate::app::{App, AppState, router};
use crate::config::{Config, DatabaseUrl};
use crate::jobs::Worker;

/// How often granted access is checked against its end date.
const EXPIRY_CHECK: std::time::Duration = std::time::Duration::from_secs(30);
use crate::{demo, store};

/// An exclusive lock held for the life of the process, so a second `wharf serve` on the
/// same data directory or SQLite file is refused instead of fighting over it.
pub struct InstanceLock {
    _files: Vec<File>,
}

impl InstanceLock {
    pub fn acquire(config: &Config) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                config.data_dir.display()
            )
        })?;
        let mut paths = vec![config.data_dir.join("wharf.lock")];
        if let Some(db) = sqlite_path(&config.database_url) {
            let lock = PathBuf::from(format!("{}.lock", db.display()));
            if !paths.contains(&lock) {
                paths.push(lock);
            }
        }
        let files = paths
            .iter()
            .map(|path| lock_file(path))
            .collect::<anyhow::Result<_>>()?;
        Ok(Self { _files: files })
    }
}

fn lock_file(path: &Path) -> anyhow::Result<File> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(path).unwrap_or_default();
            anyhow::bail!(
                "another wharf serve (pid {}) is already using {}; stop it or use another data directory",
                holder.trim(),
                path.display()
            );
        }
        Err(TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock {}", path.display()));
        }
    }
    file.set_len(0)?;
    write!(file, "{}", std::process::id())?;
    Ok(file)
}

fn sqlite_path(url: &DatabaseUrl) -> Option<PathBuf> {
    let DatabaseUrl::Sqlite(url) = url else {
        return None;
    };
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or(path);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// Open the store and prepare what every instance needs (the sandbox environment).
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn store::Store>> {
    let store = store::open(&config.database_url).await?;
    store.ensure_sandbox_environment().await?;
    Ok(store)
}

/// The search index in the data directory; an unreadable one is thrown away and rebuilt
/// (it is derived from the store, never the source of truth).
fn open_index(config: &Config) -> anyhow::Result<crate::search::CatalogIndex> {
    let dir = config.data_dir.join("index");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    match crate::search::CatalogIndex::open(&dir) {
        Ok(index) => Ok(index),
        Err(error) => {
            tracing::warn!(
                error = format!("{error:#}"),
                "search index unreadable; rebuilding it"
            );
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot remove {}", dir.display()))?;
            std::fs::create_dir_all(&dir)?;
            crate::search::CatalogIndex::open(&dir).context("cannot create the search index")
        }
    }
}

/// `wharf serve`
pub async fn serve(config: Config, seed_demo: bool) -> anyhow::Result<()> {
    let _lock = InstanceLock::acquire(&config)?;
    let store = open_store(&config).await?;
    if seed_demo {
        demo::seed(store.as_ref())
            .await
            .context("cannot load the demo catalog")?;
    }
    let index = Arc::new(open_index(&config)?);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let app = AppState(Arc::new(App::new(config, store.clone(), index)?));
    let indexer = app.indexer();
    indexer
        .prepare()
        .await
        .context("cannot bring the search index up to date")?;
    let (stop, stopped) = watch::channel(false);
    let indexing = tokio::spawn(indexer.run(stopped.clone()));
    let worker = app
        .config
        .serve_worker
        .then(|| tokio::spawn(worker_for(&app).run(stopped.clone())));
    let verification = app.config.verify_interval.map(|every| {
        tokio::spawn(crate::grants::jobs::verify_all(
            app.grant_context(),
            every,
            stopped.clone(),
        ))
    });
    let events = spawn_event_delivery(&app, &stopped);
    let expiry = tokio::spawn(crate::grants::jobs::expire_due(
        app.grant_context(),
        EXPIRY_CHECK,
        stopped.clone(),
    ));
    let scheduler = app.config.resync_interval.map(|interval| {
        tokio::spawn(crate::catalog_sources::scheduled::schedule(
            app.store.clone(),
            app.jobs.clone(),
            interval,
            stopped,
        ))
    });
    tracing::info!(
        listen = %app.config.listen,
        public_url = %app.config.public_url,
        database = store.backend(),
        "wharf is serving"
    );
    axum::serve(listener, router(app.clone()))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the server stopped unexpectedly")?;
    tracing::info!("requests drained; stopping the worker");
    let _ = stop.send(true);
    if let Some(worker) = worker {
        let _ = worker.await;
    }
    if let Some(verification) = verification {
        let _ = verification.await;
    }
    let _ = expiry.await;
    let _ = indexing.await;
    for task in events {
        let _ = task.await;
    }
    if let Some(scheduler) = scheduler {
        let _ = scheduler.await;
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// `wharf worker`: run jobs only, beside one or more `serve` processes.
pub async fn work(config: Config) -> anyhow::Result<()> {
    let store = open_store(&config).await?;
    // A worker needs no search index of its own.
    let app = AppState(Arc::new(App::new(
        config,
        store.clone(),
        Arc::new(crate::search::CatalogIndex::in_memory()?),
    )?));
    let (stop, stopped) = watch::channel(false);
    let worker = tokio::spawn(worker_for(&app).run(stopped.clone()));
    let dispatcher = tokio::spawn(webhook_dispatcher(&app).run(stopped));
    shutdown_signal().await;
    let _ = stop.send(true);
    let _ = worker.await;
    let _ = dispatcher.await;
    store.close().await;
    Ok(())
}

/// The outbox tail, the relay's scheduler, the webhook dispatcher and expiry warnings.
pub fn spawn_event_delivery(
    app: &AppState,
    stopped: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let written = app.events.subscribe();
    vec![
        tokio::spawn(app.events.clone().run(app.store.clone(), stopped.clone())),
        tokio::spawn(crate::events::schedule_relay(
            app.relay.clone(),
            app.store.clone(),
            app.jobs.clone(),
            written,
            stopped.clone(),
        )),
        tokio::spawn(webhook_dispatcher(app).run(stopped.clone())),
        tokio::spawn(crate::events::warn_expiring(
            app.store.clone(),
            EXPIRY_CHECK,
            stopped.clone(),
        )),
    ]
}

fn webhook_dispatcher(app: &AppState) -> Arc<crate::events::webhooks::Dispatcher> {
    Arc::new(crate::events::webhooks::Dispatcher::new(
        app.store.clone(),
        app.config.public_url.clone(),
        app.config.webhook_pause_after,
        app.config.webhook_allow_link_local,
    ))
}

/// A worker with every job kind Wharf knows.
pub fn worker_for(app: &AppState) -> Worker {
    use crate::grants::jobs::{GRANT_JOB, GrantJob, REVOKE_JOB, RevokeJob, VERIFY_JOB, VerifyJob};
    let resync = crate::catalog_sources::scheduled::ResyncJob {
        store: app.store.clone(),
        global_endpoint: app.config.aws_endpoint_url.clone(),
        index_wake: app.index_wake.clone(),
    };
    Worker::new(&app.jobs)
        .with_lease(app.config.job_lease)
        .with_handler(
            crate::catalog_sources::scheduled::RESYNC_JOB,
            Arc::new(resync),
        )
        .with_handler(GRANT_JOB, Arc::new(GrantJob(app.grant_context())))
        .with_handler(REVOKE_JOB, Arc::new(RevokeJob(app.grant_context())))
        .with_handler(VERIFY_JOB, Arc::new(VerifyJob(app.grant_context())))
        .with_handler(
            crate::events::RELAY_JOB,
            Arc::new(crate::events::RelayJob(app.relay.clone())),
        )
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (container stop).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutdown signal received; finishing in-flight work");
}
