//! The login screen: pick or edit a server profile, type the password, answer the second
//! factor. It draws a [`LoginForm`] and reports what the user asked for as a
//! [`LoginAction`]; the app runs the login off the UI thread.
//!
//! A clear-text URL to another machine gets a warning under the field
//! ([`crate::settings::cleartext_warning`]) as it is typed; it never blocks the login.
//!
//! After a TLS failure the server's certificate may be offered for pinning. When the form
//! already pins another fingerprint, the certificate changed: the offer then leads with
//! [`PIN_CHANGED_WARNING`] and its button says it replaces the pin.

use crate::net::tls::parse_fingerprint;
use crate::protocol::{TwoFaProviderInfo, TwoFaProviderType};
use crate::settings::Profile;

use super::theme;

/// Shown above the offer to trust a certificate when the form pins another one.
pub const PIN_CHANGED_WARNING: &str = "This is not the certificate you pinned. Someone may be \
     intercepting the connection: replace the pin only if your administrator confirms that \
     the server's certificate was changed.";

/// What the user typed.
#[derive(Debug, Clone, Default)]
pub struct LoginForm {
    /// The profile being edited (or picked).
    pub profile: Profile,
    /// The password (memory only; cleared after a login).
    pub password: String,
    /// The CA file field.
    pub ca_file: String,
    /// The pinned fingerprint field.
    pub pinned: String,
    /// The second-factor code.
    pub code: String,
    /// The chosen second-factor provider (index into the providers).
    pub provider: usize,
}

impl LoginForm {
    /// A form showing `profile`.
    #[must_use]
    pub fn for_profile(profile: &Profile) -> Self {
        Self {
            profile: profile.clone(),
            ca_file: profile
                .ca_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            pinned: profile.pinned_sha256.clone().unwrap_or_default(),
            ..Self::default()
        }
    }

    /// The profile as typed (TLS fields included, blanks as none).
    #[must_use]
    pub fn edited_profile(&self) -> Profile {
        let mut p = self.profile.clone();
        p.name = p.name.trim().to_owned();
        p.url = p.url.trim().trim_end_matches('/').to_owned();
        p.username = p.username.trim().to_owned();
        p.ca_file = Some(self.ca_file.trim())
            .filter(|s| !s.is_empty())
            .map(std::path::PathBuf::from);
        p.pinned_sha256 = Some(self.pinned.trim())
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        if p.name.is_empty() {
            p.name = reqwest::Url::parse(&p.url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default();
        }
        p
    }
}

/// A failed attempt, as shown.
#[derive(Debug, Clone, Copy)]
pub struct Problem<'a> {
    /// What happened and what to do.
    pub message: &'a str,
    /// The server certificate's fingerprint after a TLS failure.
    pub fingerprint: Option<&'a str>,
}

/// Where the login is.
#[derive(Debug, Clone, Copy)]
pub enum Stage<'a> {
    /// Filling in the form.
    Form,
    /// An attempt is running.
    Pending(&'a str),
    /// The second factor is wanted.
    SecondFactor(&'a [TwoFaProviderInfo]),
}

/// What the screen shows besides the form.
#[derive(Debug, Clone, Copy)]
pub struct LoginView<'a> {
    /// Saved profiles.
    pub profiles: &'a [Profile],
    /// Where the login is.
    pub stage: Stage<'a>,
    /// The last failure.
    pub problem: Option<Problem<'a>>,
    /// Something to know (keychain unavailable, settings reset, session expired).
    pub notice: Option<&'a str>,
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginAction {
    /// Log in with the form.
    LogIn,
    /// Start the embedded demo server and log in to it.
    TryDemo,
    /// Save the form as a profile.
    SaveProfile,
    /// Delete the picked profile.
    DeleteProfile(String),
    /// Show a saved profile.
    Pick(String),
    /// Start a new profile.
    NewProfile,
    /// Stop the running attempt.
    Cancel,
    /// Send a code by e-mail or SMS.
    SendCode(TwoFaProviderType),
    /// Check the code.
    Verify(TwoFaProviderType),
    /// Pin this certificate fingerprint and log in again.
    TrustFingerprint(String),
    /// Pick a CA file with the system's file dialog.
    BrowseCa,
}

/// Draws the login screen.
pub fn login_ui(
    ui: &mut egui::Ui,
    form: &mut LoginForm,
    view: &LoginView<'_>,
) -> Option<LoginAction> {
    let mut action = None;
    egui::CentralPanel::default().show(ui, |ui| {
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.vertical_centered(|ui| {
                ui.add_space(24.0);
                ui.heading("tb-monitor");
                ui.label("Watch a ThingsBoard server live.");
                ui.add_space(12.0);
            });
            let width = 460.0_f32.min(ui.available_width());
            let margin = ((ui.available_width() - width) / 2.0).max(0.0);
            ui.horizontal(|ui| {
                ui.add_space(margin);
                ui.vertical(|ui| {
                    ui.set_width(width);
                    action = card(ui, form, view);
                });
            });
        });
    });
    action
}

fn card(ui: &mut egui::Ui, form: &mut LoginForm, view: &LoginView<'_>) -> Option<LoginAction> {
    let mut action = None;
    egui::Frame::group(ui.style())
        .inner_margin(16.0)
        .show(ui, |ui| {
            if let Some(n) = view.notice {
                ui.label(n);
                ui.add_space(6.0);
            }
            action = match view.stage {
                Stage::Form => form_ui(ui, form, view),
                Stage::Pending(what) => pending_ui(ui, what),
                Stage::SecondFactor(providers) => second_factor_ui(ui, form, providers),
            };
            if let Some(p) = view.problem {
                ui.add_space(8.0);
                if let Some(a) = problem_ui(ui, p, &form.pinned) {
                    action = Some(a);
                }
            }
        });
    ui.add_space(12.0);
    ui.vertical_centered(|ui| {
        ui.weak("No ThingsBoard at hand?");
        let idle = !matches!(view.stage, Stage::Pending(_));
        if ui
            .add_enabled(idle, egui::Button::new("Try the demo server"))
            .on_hover_text("starts a simulated ThingsBoard inside tb-monitor and logs in to it")
            .clicked()
        {
            action = Some(LoginAction::TryDemo);
        }
    });
    action
}

/// A labelled single-line text field (the label names the field for screen readers too).
fn field(
    ui: &mut egui::Ui,
    label: &str,
    text: &mut String,
    password: bool,
    hint: &str,
) -> egui::Response {
    let l = ui.label(label);
    let r = ui
        .add(
            egui::TextEdit::singleline(text)
                .password(password)
                .hint_text(hint)
                .desired_width(f32::INFINITY),
        )
        .labelled_by(l.id);
    ui.end_row();
    r
}

fn form_ui(ui: &mut egui::Ui, form: &mut LoginForm, view: &LoginView<'_>) -> Option<LoginAction> {
    let mut action = profile_picker_ui(ui, form, view.profiles);
    ui.add_space(6.0);
    let submit = credentials_ui(ui, form);
    if tls_ui(ui, form) {
        action = Some(LoginAction::BrowseCa);
    }
    ui.add_space(8.0);
    ui.horizontal(|ui| {
        let ready = !form.profile.url.trim().is_empty() && !form.profile.username.trim().is_empty();
        if ui
            .add_enabled(ready, theme::primary_button("Log in"))
            .clicked()
            || (submit && ready)
        {
            action = Some(LoginAction::LogIn);
        }
        if ui
            .add_enabled(ready, egui::Button::new("Save profile"))
            .clicked()
        {
            action = Some(LoginAction::SaveProfile);
        }
        let saved = view.profiles.iter().any(|p| p.name == form.profile.name);
        if ui
            .add_enabled(saved, egui::Button::new("Delete profile"))
            .clicked()
        {
            action = Some(LoginAction::DeleteProfile(form.profile.name.clone()));
        }
    });
    action
}

/// The saved-server drop-down.
fn profile_picker_ui(
    ui: &mut egui::Ui,
    form: &LoginForm,
    profiles: &[Profile],
) -> Option<LoginAction> {
    let mut action = None;
    ui.horizontal(|ui| {
        let label = ui.label("Server");
        let current = if form.profile.name.is_empty() {
            "New server"
        } else {
            form.profile.name.as_str()
        };
        egui::ComboBox::from_id_salt("profile_picker")
            .selected_text(current)
            .width(260.0)
            .show_ui(ui, |ui| {
                for p in profiles {
                    if ui
                        .selectable_label(p.name == form.profile.name, &p.name)
                        .clicked()
                    {
                        action = Some(LoginAction::Pick(p.name.clone()));
                    }
                }
                if ui.selectable_label(false, "New server…").clicked() {
                    action = Some(LoginAction::NewProfile);
                }
            })
            .response
            .labelled_by(label.id);
    });
    action
}

/// Name, URL, e-mail, password and "Remember password"; true when Enter was pressed in the
/// password field.
fn credentials_ui(ui: &mut egui::Ui, form: &mut LoginForm) -> bool {
    let mut submit = false;
    egui::Grid::new("login_fields")
        .num_columns(2)
        .spacing([8.0, 6.0])
        .show(ui, |ui| {
            let profile = &mut form.profile;
            field(
                ui,
                "Name",
                &mut profile.name,
                false,
                "e.g. Plant 3 (optional)",
            );
            field(
                ui,
                "Server URL",
                &mut profile.url,
                false,
                "https://thingsboard.example.com",
            );
            if let Some(warning) = crate::settings::cleartext_warning(&profile.url) {
                ui.label("");
                let color = ui.visuals().warn_fg_color;
                ui.add(egui::Label::new(egui::RichText::new(warning).color(color)).wrap());
                ui.end_row();
            }
            field(
                ui,
                "E-mail",
                &mut profile.username,
                false,
                "you@example.com",
            );
            let r = field(ui, "Password", &mut form.password, true, "");
            submit = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        });
    ui.checkbox(&mut form.profile.remember_password, "Remember password")
        .on_hover_text(
            "kept in the OS keychain, with the session's refresh token, never in a file",
        );
    submit
}

/// The TLS section; true when "Choose CA file…" was clicked.
fn tls_ui(ui: &mut egui::Ui, form: &mut LoginForm) -> bool {
    let mut browse = false;
    egui::CollapsingHeader::new("Security (TLS)")
        .default_open(!form.ca_file.is_empty() || !form.pinned.is_empty())
        .show(ui, |ui| {
            ui.weak("For a server with a private CA or a self-signed certificate.");
            egui::Grid::new("tls_fields").num_columns(2).show(ui, |ui| {
                field(
                    ui,
                    "CA file (PEM)",
                    &mut form.ca_file,
                    false,
                    "/path/to/ca.pem",
                );
                field(
                    ui,
                    "Pinned SHA-256",
                    &mut form.pinned,
                    false,
                    "AB:CD:… (self-signed)",
                );
            });
            browse = ui.button("Choose CA file…").clicked();
        });
    browse
}

fn pending_ui(ui: &mut egui::Ui, what: &str) -> Option<LoginAction> {
    let mut action = None;
    ui.horizontal(|ui| {
        ui.spinner();
        ui.label(what);
    });
    if ui.button("Cancel").clicked() {
        action = Some(LoginAction::Cancel);
    }
    action
}

fn provider_label(p: &TwoFaProviderInfo) -> String {
    let name = match &p.provider_type {
        TwoFaProviderType::Totp => "Authenticator app",
        TwoFaProviderType::Sms => "SMS",
        TwoFaProviderType::Email => "E-mail",
        TwoFaProviderType::BackupCode => "Backup code",
        TwoFaProviderType::Unknown(other) => other.as_str(),
    };
    match &p.contact {
        Some(c) => format!("{name} ({c})"),
        None => name.to_owned(),
    }
}

fn second_factor_ui(
    ui: &mut egui::Ui,
    form: &mut LoginForm,
    providers: &[TwoFaProviderInfo],
) -> Option<LoginAction> {
    let mut action = None;
    ui.heading("Two-factor authentication");
    if providers.is_empty() {
        ui.label("The server asks for a second factor but offers none.");
        if ui.button("Back").clicked() {
            action = Some(LoginAction::Cancel);
        }
        return action;
    }
    form.provider = form.provider.min(providers.len() - 1);
    if providers.len() > 1 {
        egui::ComboBox::from_label("Method")
            .selected_text(provider_label(&providers[form.provider]))
            .show_ui(ui, |ui| {
                for (i, p) in providers.iter().enumerate() {
                    ui.selectable_value(&mut form.provider, i, provider_label(p));
                }
            });
    } else {
        ui.label(provider_label(&providers[0]));
    }
    let provider = providers[form.provider].provider_type.clone();
    if matches!(provider, TwoFaProviderType::Email | TwoFaProviderType::Sms)
        && ui.button("Send code").clicked()
    {
        action = Some(LoginAction::SendCode(provider.clone()));
    }
    let mut submit = false;
    egui::Grid::new("code_field").num_columns(2).show(ui, |ui| {
        let r = field(ui, "Code", &mut form.code, false, "123456");
        submit = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
    });
    ui.horizontal(|ui| {
        let ready = !form.code.trim().is_empty();
        if ui
            .add_enabled(ready, theme::primary_button("Verify"))
            .clicked()
            || (submit && ready)
        {
            action = Some(LoginAction::Verify(provider.clone()));
        }
        if ui.button("Back").clicked() {
            action = Some(LoginAction::Cancel);
        }
    });
    action
}

fn problem_ui(ui: &mut egui::Ui, problem: Problem<'_>, pinned: &str) -> Option<LoginAction> {
    let mut action = None;
    ui.colored_label(theme::DOWN, problem.message);
    if let Some(fp) = problem.fingerprint {
        ui.add_space(4.0);
        let replaces = replaces_pin(pinned, fp);
        if replaces {
            let color = ui.visuals().warn_fg_color;
            ui.add(egui::Label::new(egui::RichText::new(PIN_CHANGED_WARNING).color(color)).wrap());
            ui.label("The server now presents a certificate with this SHA-256 fingerprint:");
        } else {
            ui.label("The server presented a certificate with this SHA-256 fingerprint:");
        }
        ui.monospace(fp);
        let button = if replaces {
            "Replace the pinned certificate and log in"
        } else {
            ui.weak(
                "Trust it only if it matches the fingerprint your administrator gave you \
                 (a self-signed server).",
            );
            "Trust this certificate and log in"
        };
        if ui.button(button).clicked() {
            action = Some(LoginAction::TrustFingerprint(fp.to_owned()));
        }
    }
    action
}

/// Whether pinning `presented` replaces the pin the form holds (another certificate).
fn replaces_pin(pinned: &str, presented: &str) -> bool {
    if pinned.trim().is_empty() {
        return false;
    }
    match (parse_fingerprint(pinned), parse_fingerprint(presented)) {
        (Ok(old), Ok(new)) => old != new,
        // A pin that does not parse still is a pin the user set.
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_another_fingerprint_than_the_pinned_one_replaces_the_pin() {
        let aa = vec!["AA"; 32].join(":");
        assert!(!replaces_pin("", &aa));
        assert!(!replaces_pin("  ", &aa));
        assert!(
            !replaces_pin(&"aa".repeat(32), &aa),
            "same pin, other spelling"
        );
        assert!(replaces_pin(&vec!["BB"; 32].join(":"), &aa));
    }
}
