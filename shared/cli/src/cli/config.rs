//! `boomerang config`: check, print or store a program file.

use std::path::PathBuf;

use boomerang_core::domain::kinds::TriggerKind;
use clap::Subcommand;

use super::{dynamo, load_config, Failure, Global, StoreSpec};

#[derive(Subcommand)]
pub(super) enum ConfigCommand {
    /// Check a boomerang.toml; exits non-zero naming the bad key.
    Check {
        /// The program file (boomerang.toml).
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Print the effective program (defaults with --config laid over them) as TOML.
    Show,
    /// Validate FILE and store it in the tenant's DynamoDB table (functions read it at cold start).
    Push {
        /// The program file (boomerang.toml).
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

pub(super) async fn config(global: &Global, cmd: ConfigCommand) -> Result<(), Failure> {
    match cmd {
        ConfigCommand::Check { file } => {
            let config = load_config(Some(&file))?;
            outln!(
                "{}: OK (timezone {}, currency {}, {} triggers enabled)",
                file.display(),
                config.timezone,
                config.currency.as_str(),
                TriggerKind::ALL.iter().filter(|k| config.trigger(**k).enabled).count()
            );
        }
        ConfigCommand::Show => out!("{}", load_config(global.config.as_deref())?.to_toml_string()),
        ConfigCommand::Push { file } => {
            let StoreSpec::Dynamo(table) = &global.store else {
                return Err(Failure { message: "config push needs --store dynamodb:TABLE".into(), code: 2 });
            };
            load_config(Some(&file))?;
            let text = std::fs::read_to_string(&file)?;
            dynamo(table).await?.put_program_toml(&text).await?;
            outln!("{}: stored in table {table}", file.display());
        }
    }
    Ok(())
}
