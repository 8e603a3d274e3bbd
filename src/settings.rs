//! User settings: server profiles and preferences in `settings.toml` in the platform config
//! dir. Written atomically; a corrupt file is kept aside and defaults are used, with a notice.
//!
//! (Interface stub: issue 5's settings increment fills this in.)

use std::path::{Path, PathBuf};

use crate::net::tls::TlsTrust;

/// A saved server.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Profile {
    /// The name shown in the picker (unique).
    pub name: String,
    /// The server's base URL, e.g. `https://tb.example.com`.
    pub url: String,
    /// The user's e-mail.
    pub username: String,
    /// Keep the password (and the refresh token) in the OS keychain.
    pub remember_password: bool,
    /// A PEM file of extra CA certificates to trust.
    pub ca_file: Option<PathBuf>,
    /// The SHA-256 fingerprint of a self-signed server certificate the user confirmed.
    pub pinned_sha256: Option<String>,
}

impl Profile {
    /// The keychain account of this profile: `<user>@<server>`.
    #[must_use]
    pub fn account(&self) -> String {
        format!("{}@{}", self.username, self.url)
    }

    /// The TLS trust the profile asks for.
    #[must_use]
    pub fn trust(&self) -> TlsTrust {
        if let Some(sha256) = &self.pinned_sha256 {
            TlsTrust::Pinned {
                sha256: sha256.clone(),
            }
        } else if let Some(pem_path) = &self.ca_file {
            TlsTrust::CustomCa {
                pem_path: pem_path.clone(),
            }
        } else {
            TlsTrust::System
        }
    }
}

/// All settings.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Saved servers.
    pub profiles: Vec<Profile>,
    /// The profile used last (auto-login picks it).
    pub last_profile: Option<String>,
}

/// Settings read from disk, with a notice for the user when something was wrong.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// The settings (defaults when the file was missing or corrupt).
    pub settings: Settings,
    /// What the user should know (e.g. "settings.toml was corrupt, kept as …").
    pub notice: Option<String>,
}

/// Where settings live.
#[derive(Debug, Clone)]
pub struct SettingsFile {
    path: PathBuf,
}

impl SettingsFile {
    /// Settings at `path`.
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the settings.
    #[must_use]
    pub fn load(&self) -> Loaded {
        Loaded::default()
    }

    /// Writes the settings.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn save(&self, _settings: &Settings) -> Result<(), String> {
        Ok(())
    }
}
