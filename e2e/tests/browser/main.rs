//! Browser tests: the real `shouwang` binary (built beforehand with
//! `cargo build -p shouwang`) in demo mode, driven in headless Chromium over
//! WebDriver (chromedriver). Each test starts its own server, driver and
//! browser through `shouwang_e2e::Session`, and skips with
//! `SKIP browser: chromium/chromedriver not found` where those are missing,
//! unless `SHOUWANG_REQUIRE_ALL=1`.

mod call;
mod duty;
mod offline;
mod orders;
mod pass;
mod presence;
mod replay;
mod resumption;
mod rural;
mod screen;
mod smoke;
