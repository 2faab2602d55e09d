//! `boomerang serve`: the POS API on this machine.

use std::path::Path;
use std::sync::Arc;

use boomerang_api::{router, ApiState, StoreKeys, SystemClock};

use super::{open_app, this_command, write_out, Failure, Global, StoreSpec};

pub(super) async fn serve(global: &Global, addr: String) -> Result<(), Failure> {
    // Listen first: a port already taken fails before the data dir is created or opened.
    let listener = tokio::net::TcpListener::bind(&addr).await.map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::AddrInUse => "the port is already in use (another server running?); choose another with --addr".to_owned(),
            _ => e.to_string(),
        };
        format!("cannot listen on {addr}: {why}")
    })?;
    let local = listener.local_addr()?;
    let app = open_app(global).await?;
    let state = ApiState::new(app, Arc::new(SystemClock), Arc::new(StoreKeys));
    let (data, flag) = match &global.store {
        StoreSpec::Sqlite if global.data_dir == Path::new(".boomerang") => ("data in .boomerang".to_owned(), String::new()),
        StoreSpec::Sqlite => (format!("data in {}", global.data_dir.display()), format!(" --data-dir {}", global.data_dir.display())),
        StoreSpec::Dynamo(table) => (format!("DynamoDB table {table}"), format!(" --store dynamodb:{table}")),
    };
    // Nobody reading the start-up lines (`serve | head -1`) is no reason to stop serving.
    let _ = write_out(&format!(
        "Boomerang API listening on http://{local} ({data})\nGet a POS key with:  {} keys issue --terminal till-1{flag}\n",
        this_command()
    ));
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
