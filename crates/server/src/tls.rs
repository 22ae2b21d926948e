//! HTTPS without a proxy: a configured certificate, or a self-signed one made
//! at first start for a trial on the LAN (phones need a secure context for
//! camera, microphone and geolocation).

use std::path::Path;

use anyhow::Context;
use axum_server::tls_rustls::RustlsConfig;

use crate::Config;

/// The TLS configuration in effect, or `None` for plain HTTP.
pub async fn rustls_config(config: &Config) -> anyhow::Result<Option<RustlsConfig>> {
    // Exactly one crypto provider for the whole process.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    match config.tls.mode.as_str() {
        "files" => {
            let cert = config.tls.cert.as_ref().context("tls.cert is required")?;
            let key = config.tls.key.as_ref().context("tls.key is required")?;
            Ok(Some(RustlsConfig::from_pem_file(cert, key).await.context("loading tls.cert and tls.key")?))
        }
        "self-signed" => {
            let dir = config.data_dir.join("tls");
            let (cert, key) = self_signed(&dir, config)?;
            Ok(Some(RustlsConfig::from_pem(cert.into_bytes(), key.into_bytes()).await?))
        }
        _ => Ok(None),
    }
}

/// The self-signed certificate in `dir`, made on first use and kept, so that
/// phones that accepted it once keep working across restarts.
fn self_signed(dir: &Path, config: &Config) -> anyhow::Result<(String, String)> {
    let cert_path = dir.join("self-signed.crt");
    let key_path = dir.join("self-signed.key");
    if cert_path.exists() && key_path.exists() {
        return Ok((std::fs::read_to_string(&cert_path)?, std::fs::read_to_string(&key_path)?));
    }
    let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    if !config.bind.ip().is_unspecified() {
        names.push(config.bind.ip().to_string());
    }
    names.extend(config.tls.names.iter().cloned());
    let generated = rcgen::generate_simple_self_signed(names).context("making a self-signed certificate")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let cert = generated.cert.pem();
    let key = generated.key_pair.serialize_pem();
    std::fs::write(&cert_path, &cert)?;
    write_private(&key_path, &key)?;
    tracing::info!(path = %cert_path.display(), "made a self-signed certificate");
    Ok((cert, key))
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(contents.as_bytes())?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    Ok(std::fs::write(path, contents)?)
}
