//! HTTP-level tests of the server: one binary, each test with a server of its
//! own on port 0 over a fresh database. `SHOUWANG_TEST_DATABASE=postgres`
//! runs them all on PostgreSQL.

mod auth;
mod calls;
mod checkpoints;
mod duty_log;
mod enterprise_import;
mod enterprises;
mod helpers;
mod households;
mod import;
mod input;
mod labour;
mod live;
mod matrix;
mod nats;
mod offline;
mod orders;
mod pages;
mod passes;
mod ploughing;
mod qr;
mod rural_import;
mod screenings;
mod sync;

/// A fresh app for the calling test, or return (after the harness printed
/// `SKIP`) when its database is out of reach and not required.
#[macro_export]
macro_rules! app {
    () => {
        $crate::app!(|_| {})
    };
    ($adjust:expr) => {{
        fn here() {}
        let name = std::any::type_name_of_val(&here);
        match $crate::helpers::spawn_app_with(name, $adjust).await {
            Some(app) => app,
            None => return,
        }
    }};
}
