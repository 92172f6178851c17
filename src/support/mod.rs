//! Support: tickets from the "Contact support" form, answered through the management API, and
//! service notices broadcast to account holders.

pub mod desk;
pub mod notices;
pub mod tickets;
