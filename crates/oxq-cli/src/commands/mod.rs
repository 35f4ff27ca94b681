//! The inspect-and-steer commands, one module per group.

pub mod add;
pub mod cancel;
pub mod dashboard;
pub mod dlq;
pub mod doctor;
pub mod inspect;
pub mod limit;
pub mod schedulers;
pub mod steer;
