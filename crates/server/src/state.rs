//! What every handler shares.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use shouwang_bus::Bus;
use shouwang_store::{Store, Writer};

use crate::Config;
use crate::auth::throttle::LoginThrottle;
use crate::i18n::I18n;
use crate::pages::Templates;

/// The shared state, cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

/// What [`AppState`] holds.
#[derive(Debug)]
pub struct Inner {
    /// Reads.
    pub store: Store,
    /// Writes (group commit).
    pub writer: Writer,
    /// Committed events, live.
    pub bus: Bus,
    /// In NATS mode (`bus.nats_url`), whether the link to NATS is up.
    pub nats: Option<shouwang_bus::nats::LinkStatus>,
    /// Translations.
    pub i18n: Arc<I18n>,
    /// Page templates.
    pub templates: Templates,
    /// The configuration in effect.
    pub config: Config,
    /// Sign-in throttling.
    pub throttle: LoginThrottle,
    /// Whether the server is reached over HTTPS (cookies get `Secure`).
    pub https: bool,
    /// The Prometheus registry, when metrics are on.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// Whether this is the demo (shows the demo logins on the sign-in page).
    pub demo: bool,
    /// Who sessions and tokens are, and org units, for the hot path.
    pub cache: Arc<crate::auth::cache::Cache>,
    /// When each on-duty phone was last heard from.
    pub presence: Arc<crate::presence::Presence>,
    /// Calls going on, and who is connected to hear about them.
    pub calls: Arc<crate::calls::Calls>,
    /// Set to true when the server shuts down; long-lived tasks (live
    /// connections, the simulator) watch it.
    pub shutdown: tokio::sync::watch::Sender<bool>,
    /// The deployment's key for signing freight passes; set once at start
    /// (see [`crate::bootstrap::pass_key`]).
    pub pass_key: std::sync::OnceLock<shouwang_domain::pass::PassSigningKey>,
}

impl AppState {
    /// Puts the parts together.
    #[expect(clippy::too_many_arguments, reason = "each part is distinct; a builder would only rename them")]
    pub fn new(
        store: Store,
        writer: Writer,
        bus: Bus,
        nats: Option<shouwang_bus::nats::LinkStatus>,
        config: Config,
        https: bool,
        metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
        demo: bool,
        cache: Arc<crate::auth::cache::Cache>,
        calls: Arc<crate::calls::Calls>,
    ) -> Self {
        let throttle = LoginThrottle::new(
            config.login_max_failures,
            config.login_max_failures_per_address,
            Duration::from_secs(u64::from(config.login_lockout_minutes) * 60),
        );
        let i18n = Arc::new(I18n::load());
        Self(Arc::new(Inner {
            store,
            writer,
            bus,
            nats,
            templates: Templates::load(i18n.clone()),
            i18n,
            config,
            throttle,
            https,
            metrics,
            demo,
            presence: Arc::default(),
            calls,
            cache,
            shutdown: tokio::sync::watch::Sender::new(false),
            pass_key: std::sync::OnceLock::new(),
        }))
    }
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}
