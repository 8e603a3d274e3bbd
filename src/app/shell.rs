//! [`TbApp`]: the login screen or a live session, the settings file and the keychain.

use std::sync::Arc;

use crate::demo::DemoConfig;
use crate::secrets::SecretStore;
use crate::settings::{Profile, Settings, SettingsFile};
use crate::ui::View;
use crate::ui::login::{LoginAction, LoginForm, LoginView, Problem, Stage, login_ui};

use super::live::{Live, LiveAction, Remember};
use super::login::{self, LoginFailure, LoginResult, Password, Pending, SecondFactor};

/// eframe storage key of the view shown last.
const VIEW_KEY: &str = "tb-monitor.view";

/// What the app does at start.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Start {
    /// Log in to the last profile without a password when the keychain allows it, else
    /// show the login screen.
    #[default]
    Auto,
    /// Start the embedded demo server and log in to it.
    Demo,
    /// Show this saved profile and log in with what the keychain holds.
    Profile(String),
    /// Show this server and user (a saved profile when one matches).
    Server {
        /// The base URL.
        url: String,
        /// The user's e-mail.
        user: String,
    },
    /// Just the login screen.
    LoginScreen,
}

/// How the app is set up (the binary reads it from the command line).
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// What to do at start.
    pub start: Start,
    /// Where settings live (`None`: nothing is saved, e.g. tests).
    pub settings_file: Option<SettingsFile>,
    /// Settings (as loaded from `settings_file`).
    pub settings: Settings,
    /// The keychain.
    pub secrets: Arc<dyn SecretStore>,
    /// What the user should know at start (settings reset, keychain unavailable).
    pub notice: Option<String>,
    /// The embedded demo server's configuration ("Try the demo server", `--demo`).
    pub demo: DemoConfig,
}

/// The login screen's state.
#[derive(Debug, Default)]
struct LoginScreen {
    form: LoginForm,
    pending: Option<Pending>,
    second: Option<SecondFactor>,
    problem: Option<LoginFailure>,
    notice: Option<String>,
    /// A CA file dialog that is open.
    ca_pick: Option<tokio::sync::oneshot::Receiver<Option<std::path::PathBuf>>>,
}

enum Screen {
    Login(Box<LoginScreen>),
    Live(Box<Live>),
}

/// The desktop app.
pub struct TbApp {
    runtime: tokio::runtime::Handle,
    ctx: egui::Context,
    config: AppConfig,
    screen: Screen,
    /// The profile of the live session (`None` on the demo server).
    profile: Option<Profile>,
    /// Where rotated refresh tokens of the live session go.
    remember: Option<Remember>,
    /// The view to open after login (restored from the last run).
    view: View,
}

impl std::fmt::Debug for TbApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TbApp")
            .field("live", &self.live().is_some())
            .field("view", &self.view)
            .finish_non_exhaustive()
    }
}

impl TbApp {
    /// Opens the app: the login screen, then what `config.start` asks for.
    #[must_use]
    pub fn new(
        cc: &eframe::CreationContext<'_>,
        runtime: &tokio::runtime::Handle,
        config: AppConfig,
    ) -> Self {
        let view = cc
            .storage
            .and_then(|s| eframe::get_value::<View>(s, VIEW_KEY))
            .unwrap_or_default();
        crate::ui::settings::apply_theme(&cc.egui_ctx, config.settings.theme);
        let mut app = Self {
            runtime: runtime.clone(),
            ctx: cc.egui_ctx.clone(),
            screen: Screen::Login(Box::default()),
            profile: None,
            remember: None,
            view,
            config,
        };
        app.begin();
        app
    }

    /// The live session, once logged in.
    #[must_use]
    pub fn live(&self) -> Option<&Live> {
        match &self.screen {
            Screen::Live(l) => Some(l),
            Screen::Login(_) => None,
        }
    }

    /// The settings as they are now.
    #[must_use]
    pub fn settings(&self) -> &Settings {
        &self.config.settings
    }

    fn login_screen(&mut self) -> Option<&mut LoginScreen> {
        match &mut self.screen {
            Screen::Login(l) => Some(l),
            Screen::Live(_) => None,
        }
    }

    fn begin(&mut self) {
        let notice = self.config.notice.take();
        let settings = &self.config.settings;
        let (form, auto) = match self.config.start.clone() {
            Start::Demo => {
                self.start_attempt(
                    "Starting the demo server…".to_owned(),
                    login::demo(self.config.demo.clone()),
                );
                (LoginForm::default(), false)
            }
            Start::Auto => match settings
                .last_profile
                .as_deref()
                .and_then(|n| settings.profile(n))
            {
                Some(p) => (LoginForm::for_profile(p), settings.auto_login),
                None => (LoginForm::default(), false),
            },
            Start::Profile(name) => {
                if let Some(p) = settings.profile(&name) {
                    (LoginForm::for_profile(p), true)
                } else {
                    self.set_notice(format!("There is no saved server called \"{name}\"."));
                    (LoginForm::default(), false)
                }
            }
            Start::Server { url, user } => {
                let url = url.trim_end_matches('/').to_owned();
                if let Some(p) = settings
                    .profiles
                    .iter()
                    .find(|p| p.url == url && p.username == user)
                {
                    (LoginForm::for_profile(p), true)
                } else {
                    let mut form = LoginForm::default();
                    form.profile.url = url;
                    form.profile.username = user;
                    (form, false)
                }
            }
            Start::LoginScreen => (LoginForm::default(), false),
        };
        if let Some(screen) = self.login_screen() {
            screen.form = form;
            if notice.is_some() {
                screen.notice = notice;
            }
        }
        if auto {
            self.auto_login();
        }
    }

    fn set_notice(&mut self, notice: String) {
        if let Some(screen) = self.login_screen() {
            screen.notice = Some(notice);
        }
    }

    fn start_attempt(
        &mut self,
        what: String,
        work: impl Future<Output = LoginResult> + Send + 'static,
    ) {
        let pending = Pending::spawn(&self.runtime, &self.ctx, what, work);
        if let Some(screen) = self.login_screen() {
            if let Some(old) = screen.pending.replace(pending) {
                old.cancel();
            }
            screen.problem = None;
        }
    }

    fn auto_login(&mut self) {
        let Some(screen) = self.login_screen() else {
            return;
        };
        let profile = screen.form.edited_profile();
        let what = format!("Logging in to {}…", profile.url);
        let secrets = Arc::clone(&self.config.secrets);
        self.start_attempt(what, login::automatic(profile, secrets));
    }

    fn save_settings(&mut self) {
        let Some(file) = &self.config.settings_file else {
            return;
        };
        if let Err(e) = file.save(&self.config.settings) {
            tracing::warn!("{e}");
            match &mut self.screen {
                Screen::Login(l) => l.notice = Some(e),
                Screen::Live(l) => l.set_notice(e),
            }
        }
    }

    fn poll_login(&mut self) {
        let Some(screen) = self.login_screen() else {
            return;
        };
        if let Some(rx) = &mut screen.ca_pick {
            match rx.try_recv() {
                Ok(picked) => {
                    screen.ca_pick = None;
                    if let Some(path) = picked {
                        screen.form.ca_file = path.display().to_string();
                    }
                }
                Err(tokio::sync::oneshot::error::TryRecvError::Closed) => screen.ca_pick = None,
                Err(tokio::sync::oneshot::error::TryRecvError::Empty) => {}
            }
        }
        let Some(result) = screen.pending.as_mut().and_then(Pending::poll) else {
            return;
        };
        screen.pending = None;
        match result {
            LoginResult::LoggedIn {
                session,
                demo,
                remember,
            } => {
                let profile = (demo.is_none()).then(|| screen.form.edited_profile());
                screen.form.password.clear();
                if let Some(p) = &profile {
                    self.config.settings.upsert_profile(p.clone());
                    self.config.settings.last_profile = Some(p.name.clone());
                    self.save_settings();
                }
                let mut live = Live::start(
                    &self.ctx,
                    &self.runtime,
                    session,
                    demo,
                    remember.clone(),
                    &self.config.settings,
                );
                live.set_view(self.view);
                live.apply_settings(&self.config.settings);
                self.profile = profile;
                self.remember = remember;
                self.screen = Screen::Live(Box::new(live));
            }
            LoginResult::SecondFactor(second) => {
                screen.form.code.clear();
                screen.form.provider = second.providers.iter().position(|p| p.default).unwrap_or(0);
                screen.second = Some(*second);
            }
            LoginResult::NeedsPassword { notice } => {
                if notice.is_some() {
                    screen.notice = notice;
                }
            }
            LoginResult::CodeSent { notice } => {
                screen.problem = None;
                screen.notice = Some(notice);
            }
            LoginResult::Failed(f) => screen.problem = Some(f),
        }
    }

    fn on_login_action(&mut self, action: LoginAction) {
        let secrets = Arc::clone(&self.config.secrets);
        let Screen::Login(screen) = &mut self.screen else {
            return;
        };
        match action {
            LoginAction::LogIn => self.log_in(),
            LoginAction::TryDemo => {
                screen.second = None;
                let config = self.config.demo.clone();
                self.start_attempt("Starting the demo server…".to_owned(), login::demo(config));
            }
            LoginAction::SaveProfile => self.save_profile(),
            LoginAction::DeleteProfile(name) => {
                screen.form = LoginForm::default();
                screen.notice = Some(format!("Deleted \"{name}\"."));
                // The saved profile's account, not the form's (it may have been edited).
                if let Some(removed) = self.config.settings.remove_profile(&name) {
                    self.runtime
                        .spawn(login::forget_profile(secrets, removed.account()));
                }
                self.save_settings();
            }
            LoginAction::Pick(name) => {
                if let Some(p) = self.config.settings.profile(&name) {
                    screen.form = LoginForm::for_profile(p);
                    screen.problem = None;
                }
            }
            LoginAction::NewProfile => {
                screen.form = LoginForm::default();
                screen.problem = None;
            }
            LoginAction::Cancel => {
                if let Some(p) = screen.pending.take() {
                    p.cancel();
                }
                screen.second = None;
            }
            LoginAction::SendCode(provider) => {
                if let Some(second) = screen.second.clone() {
                    let what = "Sending the code…".to_owned();
                    self.start_attempt(what, login::send_code(second, provider));
                }
            }
            LoginAction::Verify(provider) => {
                if let Some(second) = screen.second.clone() {
                    let code = screen.form.code.trim().to_owned();
                    let what = "Checking the code…".to_owned();
                    self.start_attempt(what, login::with_code(second, provider, code, secrets));
                }
            }
            LoginAction::TrustFingerprint(fp) => {
                screen.form.pinned = fp;
                screen.form.ca_file.clear();
                self.log_in();
            }
            LoginAction::BrowseCa => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                let ctx = self.ctx.clone();
                self.runtime.spawn(async move {
                    tx.send(login::pick_ca_file().await).ok();
                    ctx.request_repaint();
                });
                screen.ca_pick = Some(rx);
            }
        }
    }

    /// The login form's profile, or `None` with the problem shown on the form.
    fn valid_form_profile(&mut self) -> Option<crate::settings::Profile> {
        let Screen::Login(screen) = &mut self.screen else {
            return None;
        };
        let profile = screen.form.edited_profile();
        if let Err(e) = profile.validate() {
            screen.problem = Some(LoginFailure::plain(e));
            return None;
        }
        Some(profile)
    }

    /// Logs in with the form, once it is valid.
    fn log_in(&mut self) {
        let secrets = Arc::clone(&self.config.secrets);
        let Some(profile) = self.valid_form_profile() else {
            return;
        };
        let Screen::Login(screen) = &mut self.screen else {
            return;
        };
        let password = Password(screen.form.password.clone());
        let what = format!("Logging in to {}…", profile.url);
        self.start_attempt(what, login::with_password(profile, password, secrets));
    }

    /// Saves the form as a profile, once it is valid.
    fn save_profile(&mut self) {
        let Some(profile) = self.valid_form_profile() else {
            return;
        };
        let Screen::Login(screen) = &mut self.screen else {
            return;
        };
        screen.form = LoginForm {
            password: std::mem::take(&mut screen.form.password),
            ..LoginForm::for_profile(&profile)
        };
        screen.problem = None;
        screen.notice = Some(format!("Saved \"{}\".", profile.name));
        self.config.settings.upsert_profile(profile);
        self.save_settings();
    }

    fn on_live_action(&mut self, action: LiveAction) {
        match action {
            LiveAction::SettingsChanged => {
                crate::ui::settings::apply_theme(&self.ctx, self.config.settings.theme);
                if let Screen::Live(live) = &mut self.screen {
                    live.apply_settings(&self.config.settings);
                }
                self.save_settings();
            }
            LiveAction::Logout | LiveAction::SessionExpired => {
                let Screen::Live(live) = &self.screen else {
                    return;
                };
                self.view = live.view();
                let rest = live.session().rest.clone();
                let remember = self.remember.take();
                let mut screen = LoginScreen {
                    form: self
                        .profile
                        .take()
                        .map(|p| LoginForm::for_profile(&p))
                        .unwrap_or_default(),
                    ..LoginScreen::default()
                };
                if action == LiveAction::Logout {
                    screen.notice = Some("Logged out.".to_owned());
                    self.runtime.spawn(login::forget_session(rest, remember));
                } else {
                    screen.notice = Some("The session has expired: log in again.".to_owned());
                }
                // Dropping the live session stops its task (and a demo server).
                self.screen = Screen::Login(Box::new(screen));
            }
        }
    }
}

impl eframe::App for TbApp {
    fn logic(&mut self, ctx: &egui::Context, frame: &mut eframe::Frame) {
        match &mut self.screen {
            Screen::Login(_) => self.poll_login(),
            Screen::Live(live) => {
                live.set_can_hide(super::system_tray::can_hide_window(frame));
                if let Some(action) = live.logic(ctx) {
                    self.on_live_action(action);
                }
            }
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let file = self
            .config
            .settings_file
            .as_ref()
            .map(|f| f.path().to_owned());
        match &mut self.screen {
            Screen::Live(live) => {
                if let Some(action) = live.ui(ui, &mut self.config.settings, file.as_deref()) {
                    self.on_live_action(action);
                }
            }
            Screen::Login(screen) => {
                let stage = match (&screen.pending, &screen.second) {
                    (Some(p), _) => Stage::Pending(&p.what),
                    (None, Some(s)) => Stage::SecondFactor(&s.providers),
                    (None, None) => Stage::Form,
                };
                let view = LoginView {
                    profiles: &self.config.settings.profiles,
                    stage,
                    problem: screen.problem.as_ref().map(|p| Problem {
                        message: &p.message,
                        fingerprint: p.fingerprint.as_deref(),
                    }),
                    notice: screen.notice.as_deref(),
                };
                if let Some(action) = login_ui(ui, &mut screen.form, &view) {
                    self.on_login_action(action);
                }
            }
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        let view = self.live().map_or(self.view, Live::view);
        eframe::set_value(storage, VIEW_KEY, &view);
    }
}
