//! Support: tickets from the "Contact support" form, answered through the management API.

pub mod contact;
pub mod tickets;
