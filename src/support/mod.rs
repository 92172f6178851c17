//! Support: tickets from the "Contact support" form (`contact`, `tickets`), answered through the
//! management API (`desk`), and service notices broadcast to account holders (`notices`).

pub mod contact;
pub mod desk;
pub mod notices;
pub mod tickets;
