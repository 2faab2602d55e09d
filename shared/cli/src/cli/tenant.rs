//! `boomerang tenant`: set up a tenant's DynamoDB table.

use clap::Subcommand;

use super::{dynamo, is_table_name, Failure};

#[derive(Subcommand)]
pub(super) enum TenantCommand {
    /// Create the table with its indexes (on-demand billing); an existing table is fine.
    Init {
        /// The table's name (3 to 255 of A-Z a-z 0-9 _ . -).
        #[arg(long)]
        table: String,
    },
}

pub(super) async fn tenant(cmd: TenantCommand) -> Result<(), Failure> {
    let TenantCommand::Init { table } = cmd;
    if !is_table_name(&table) {
        return Err(Failure { message: format!("{table:?} is not a DynamoDB table name"), code: 2 });
    }
    dynamo(&table).await?.create_table().await?;
    outln!("table {table} is ready");
    Ok(())
}
