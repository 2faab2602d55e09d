//! The contract's cases, each an `async fn` taking a [`StoreFactory`](crate::StoreFactory).
//! Names read as the rule they check; a case panics when the store broke it.

mod book;
mod book_equality;
mod customers;
mod digest;
mod keys;
mod ledger;
mod reports;
mod sweep;
mod use_cases;

pub use book::*;
pub use book_equality::*;
pub use customers::*;
pub use digest::*;
pub use keys::*;
pub use ledger::*;
pub use reports::*;
pub use sweep::*;
pub use use_cases::*;
