//! The entity query builder (issue 6): a side panel that edits an [`EntityDataQuery`] —
//! the entity filter (all 14 types of §6), key filters with nested AND/OR groups, columns,
//! sort, paging, text search and dynamic refresh — and validates it in place.
//!
//! The builder is UI state only; it never touches the network or the disk. [`QueryBuilder::show`]
//! returns [`QueryAction`]s and the app answers through setters:
//!
//! * entity pickers ask [`QueryAction::SearchEntities`]; the app runs the REST search and
//!   calls [`QueryBuilder::set_search_results`];
//! * [`QueryAction::Changed`] asks for a new count preview; the app runs
//!   [`QueryBuilder::count_query`] and calls [`QueryBuilder::set_count`];
//! * the keys offered as columns come from [`QueryBuilder::set_available_keys`], the saved
//!   query names from [`QueryBuilder::set_saved_queries`].
//!
//! Numbers and names stay text until [`QueryBuilder::build`], so half-typed input is a
//! [`Problem`] shown next to its field, never a panic.
//!
//! Round trips: [`QueryBuilder::from_query`] then [`QueryBuilder::build`] gives the query
//! back, with these normalisations: empty lists (`keyFilters`, `entityFields`,
//! `latestValues`) and blank texts (name filters, `textSearch`, a search query's
//! `relationType`) are omitted, the deprecated single `assetType`/`deviceType`/… becomes the
//! list form, key names are trimmed, and a relations query that is not multi-root drops
//! `multiRootEntitiesType` and `multiRootEntityIds`.

mod columns;
mod filter_form;
mod filter_from;
mod filter_ui;
mod import;
mod key_filters;
mod key_filters_ui;
mod picker;
mod saved;
mod validate;
mod widgets;

pub use import::ImportError;
pub use validate::{MAX_PAGE_SIZE, Problem};

use crate::protocol::{
    ComplexOperation, EntityCountQuery, EntityDataQuery, EntityId, EntityType, KeyFilter,
};

use crate::settings::SavedQuery;

use columns::{AvailableKeys, Columns, Paging, non_empty};
use filter_form::FilterForm;
use import::Imported;
use key_filters::KeyFilterRow;
use validate::{Problems, check_frame, json_problem, ws_frame};
use widgets::FormCtx;

/// What the user asked for; the app applies it after drawing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryAction {
    /// Search entities by name for a picker; answer with
    /// [`QueryBuilder::set_search_results`] and the same `request_id`. Sent when the text
    /// changed and is not blank.
    SearchEntities {
        /// Identifies the picker's request; answers to older requests are ignored.
        request_id: u64,
        /// The type of entity to search.
        entity_type: EntityType,
        /// Part of the name, as typed (trimmed).
        text: String,
    },
    /// The query (as [`QueryBuilder::build`] gives it, valid or not) changed: re-run the
    /// count preview with [`QueryBuilder::count_query`]. Also sent on the first frame.
    Changed,
    /// Run the query ([`QueryBuilder::build`] is valid when this is sent).
    Run,
    /// Copy this `{"cmds":[{"type":"ENTITY_DATA",…}]}` frame to the clipboard.
    CopyWsCommand(String),
    /// Save this `EntityDataQuery` JSON to a file or the clipboard.
    Export(String),
    /// Open a file or read the clipboard, then call [`QueryBuilder::import_json`].
    Import,
    /// Save the current query (valid when this is sent) under this name.
    SaveAs(String),
    /// Load the saved query of this name (then [`QueryBuilder::import_json`]).
    Load(String),
    /// Delete the saved query of this name.
    Delete(String),
}

/// The query builder's state: the query being edited, as text buffers, plus what the app
/// told it (available keys, search results, the count, saved query names).
#[derive(Debug, Clone)]
pub struct QueryBuilder {
    filter: FilterForm,
    key_filters: Vec<KeyFilterRow>,
    key_filters_operation: Option<ComplexOperation>,
    columns: Columns,
    paging: Paging,
    available: AvailableKeys,
    saved_names: Vec<String>,
    save_name: String,
    count: Option<Result<i64, String>>,
    next_request_id: u64,
    /// The result of the last build, to show problems and detect changes.
    last_built: Option<Result<EntityDataQuery, Vec<Problem>>>,
    /// The count query of the last frame: when it changes, the shown count is outdated.
    last_counted: Option<Result<EntityCountQuery, Vec<Problem>>>,
}

impl Default for QueryBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl QueryBuilder {
    /// A builder for every device, name/type/label columns, sorted by name, 50 per page,
    /// dynamic.
    #[must_use]
    pub fn new() -> Self {
        Self {
            filter: FilterForm::default(),
            key_filters: Vec::new(),
            key_filters_operation: None,
            columns: Columns::default(),
            paging: Paging::default(),
            available: AvailableKeys::default(),
            saved_names: Vec::new(),
            save_name: String::new(),
            count: None,
            next_request_id: 0,
            last_built: None,
            last_counted: None,
        }
    }

    /// A builder showing `query`.
    #[must_use]
    pub fn from_query(query: &EntityDataQuery) -> Self {
        let mut builder = Self::new();
        builder.load_query(query);
        builder
    }

    /// A builder showing a JSON text: an `EntityDataQuery` (an `EntityCountQuery` too), an
    /// entity filter alone, or a `{"cmds":[…]}` frame (its first `ENTITY_DATA` command, else
    /// the filter part of its first `ENTITY_COUNT`; the legacy `entityDataCmds` wrapper too).
    /// Parts the text does not have keep their defaults.
    ///
    /// # Errors
    /// [`ImportError`] saying what is wrong, in words for the user.
    pub fn from_json(text: &str) -> Result<Self, ImportError> {
        let mut builder = Self::new();
        builder.import_json(text)?;
        Ok(builder)
    }

    /// Shows `query`, keeping what the app told the builder (keys, saved names, count).
    pub fn load_query(&mut self, query: &EntityDataQuery) {
        self.load_filter_part(
            &query.entity_filter,
            query.key_filters.as_deref(),
            query.key_filters_operation.as_ref(),
        );
        self.columns = Columns {
            entity_fields: query.entity_fields.clone().unwrap_or_default(),
            latest: query.latest_values.clone().unwrap_or_default(),
            ..Columns::default()
        };
        self.paging = Paging::from_link(&query.page_link);
    }

    fn load_filter_part(
        &mut self,
        filter: &crate::protocol::EntityFilter,
        key_filters: Option<&[KeyFilter]>,
        operation: Option<&ComplexOperation>,
    ) {
        self.filter = FilterForm::from_filter(filter);
        self.key_filters = key_filters
            .unwrap_or_default()
            .iter()
            .map(KeyFilterRow::from_filter)
            .collect();
        self.key_filters_operation = operation.cloned();
    }

    /// Shows a JSON text (see [`QueryBuilder::from_json`]), keeping what the app told the
    /// builder. An entity filter or count query alone replaces only the filter part.
    ///
    /// # Errors
    /// [`ImportError`]; the builder is unchanged then.
    pub fn import_json(&mut self, text: &str) -> Result<(), ImportError> {
        match import::import(text)? {
            Imported::Query(q) => self.load_query(&q),
            Imported::Count(c) => self.load_filter_part(
                &c.entity_filter,
                c.key_filters.as_deref(),
                c.key_filters_operation.as_ref(),
            ),
            Imported::Filter(f) => self.load_filter_part(&f, None, None),
        }
        Ok(())
    }

    fn build_filter_part(&self, p: &mut Problems) -> EntityCountQuery {
        let key_filters: Vec<KeyFilter> = self
            .key_filters
            .iter()
            .enumerate()
            .map(|(i, row)| row.build(i, p))
            .collect();
        EntityCountQuery {
            entity_filter: self.filter.build(p),
            key_filters: (!key_filters.is_empty()).then_some(key_filters),
            key_filters_operation: self.key_filters_operation.clone(),
        }
    }

    /// The query, or every problem that stops it (each with its place in the form).
    ///
    /// # Errors
    /// The problems: empty required fields, numbers that do not parse, a page size over
    /// [`MAX_PAGE_SIZE`], a command over the server's 32 KiB frame limit.
    pub fn build(&self) -> Result<EntityDataQuery, Vec<Problem>> {
        let mut p = Problems::default();
        let count = self.build_filter_part(&mut p);
        let query = EntityDataQuery {
            entity_filter: count.entity_filter,
            key_filters: count.key_filters,
            key_filters_operation: count.key_filters_operation,
            page_link: self.paging.build(&mut p),
            entity_fields: non_empty(&self.columns.entity_fields),
            latest_values: non_empty(&self.columns.latest),
        };
        if p.list.is_empty() {
            check_frame(&query, &mut p);
        }
        if p.list.is_empty() {
            Ok(query)
        } else {
            Err(p.list)
        }
    }

    /// The count query of the count preview: the entity filter and key filters only, so a
    /// problem in columns or paging does not stop the preview.
    ///
    /// # Errors
    /// The problems of the entity filter and key filters.
    pub fn count_query(&self) -> Result<EntityCountQuery, Vec<Problem>> {
        let mut p = Problems::default();
        let count = self.build_filter_part(&mut p);
        if p.list.is_empty() {
            Ok(count)
        } else {
            Err(p.list)
        }
    }

    /// The exact frame for "Copy as WebSocket command":
    /// `{"cmds":[{"type":"ENTITY_DATA","cmdId":…,"query":…,"latestCmd":…}]}`, with a
    /// `latestCmd` on the latest-value columns (when there are any) so it subscribes live.
    ///
    /// # Errors
    /// The problems of [`QueryBuilder::build`].
    pub fn to_ws_command_json(&self, cmd_id: i32) -> Result<String, Vec<Problem>> {
        let query = self.build()?;
        ws_frame(cmd_id, &query)
            .to_json()
            .map_err(|e| vec![json_problem(&e)])
    }

    /// The query as pretty-printed JSON, for export (ThingsBoard's `EntityDataQuery`).
    ///
    /// # Errors
    /// The problems of [`QueryBuilder::build`].
    pub fn to_json(&self) -> Result<String, Vec<Problem>> {
        let query = self.build()?;
        serde_json::to_string_pretty(&query).map_err(|e| vec![json_problem(&e)])
    }

    /// The query as a [`SavedQuery`] called `name` (for [`QueryAction::SaveAs`]); load one
    /// back with [`QueryBuilder::import_json`] on its `query`.
    ///
    /// # Errors
    /// The problems of [`QueryBuilder::build`].
    pub fn saved_query(&self, name: &str) -> Result<SavedQuery, Vec<Problem>> {
        let query = self.build()?;
        SavedQuery::new(name.trim(), &query).map_err(|e| vec![json_problem(&e)])
    }

    /// The keys the server reports for the matched entities, offered as columns and key
    /// filter keys (entity fields are offered anyway; these add to them).
    pub fn set_available_keys(
        &mut self,
        fields: Vec<String>,
        attributes: Vec<String>,
        timeseries: Vec<String>,
    ) {
        self.available = AvailableKeys {
            fields,
            attributes,
            timeseries,
        };
    }

    /// The answer to [`QueryAction::SearchEntities`]: entities and their names. Returns
    /// whether a picker was waiting for `request_id` (an outdated answer is dropped).
    pub fn set_search_results(
        &mut self,
        request_id: u64,
        results: Vec<(EntityId, String)>,
    ) -> bool {
        match self.filter.picker_for(request_id) {
            Some(picker) => {
                picker.deliver(results);
                true
            }
            None => false,
        }
    }

    /// The count preview: `None` while unknown, the count, or why counting failed. The
    /// builder clears it when the entity filter or key filters change.
    pub fn set_count(&mut self, count: Option<Result<i64, String>>) {
        self.count = count;
    }

    /// The names of the saved queries, as listed in "Saved queries".
    pub fn set_saved_queries(&mut self, names: Vec<String>) {
        self.saved_names = names;
    }

    /// Draws the builder (a side panel's content) and returns what the user asked for.
    pub fn show(&mut self, ui: &mut egui::Ui) -> Vec<QueryAction> {
        let mut actions = Vec::new();
        // Taken out while drawing (the sections borrow `self` mutably), put back below.
        let last_built = self.last_built.take();
        let problems = match &last_built {
            Some(Err(problems)) => problems.as_slice(),
            _ => &[],
        };
        let valid = matches!(last_built, Some(Ok(_)));
        saved::run_bar_ui(ui, self.count.as_ref(), problems, valid, &mut actions);
        let exchange = egui::ScrollArea::vertical()
            .auto_shrink([false, true])
            .show(ui, |ui| self.sections_ui(ui, problems, valid, &mut actions))
            .inner;
        if let Some(exchange) = exchange {
            actions.extend(self.exchange(exchange));
        }
        let counted = self.count_query();
        if self
            .last_counted
            .as_ref()
            .is_some_and(|last| *last != counted)
        {
            // The count shown was for another filter; the app sends the new one.
            self.count = None;
        }
        self.last_counted = Some(counted);
        let now = self.build();
        if last_built.as_ref() != Some(&now) {
            actions.push(QueryAction::Changed);
            // Problems shown next to fields come from the last build: draw them now.
            ui.ctx().request_repaint();
        }
        self.last_built = Some(now);
        actions
    }

    fn exchange(&self, exchange: saved::Exchange) -> Option<QueryAction> {
        match exchange {
            saved::Exchange::Import => Some(QueryAction::Import),
            saved::Exchange::Export => self.to_json().ok().map(QueryAction::Export),
            saved::Exchange::CopyWsCommand => self
                .to_ws_command_json(1)
                .ok()
                .map(QueryAction::CopyWsCommand),
        }
    }

    fn sections_ui(
        &mut self,
        ui: &mut egui::Ui,
        problems: &[Problem],
        valid: bool,
        actions: &mut Vec<QueryAction>,
    ) -> Option<saved::Exchange> {
        let mut ctx = FormCtx {
            problems,
            actions,
            next_request_id: &mut self.next_request_id,
            available: &self.available,
        };
        section(ui, "Entities", "entities", true, |ui| {
            self.filter.ui(ui, &mut ctx);
        });
        let title = match self.key_filters.len() {
            0 => "Key filters".to_owned(),
            n => format!("Key filters ({n})"),
        };
        section(ui, &title, "key_filters", true, |ui| {
            key_filters_ui::key_filters_ui(
                ui,
                &mut ctx,
                &mut self.key_filters,
                &mut self.key_filters_operation,
            );
        });
        section(ui, "Columns", "columns", false, |ui| {
            self.columns.ui(ui, &ctx);
        });
        section(ui, "Sort & paging", "paging", false, |ui| {
            columns::paging_ui(ui, &ctx, &mut self.paging, &self.columns);
        });
        ctx.problems_at(ui, "frame");
        let mut exchange = None;
        section(ui, "Saved queries", "saved", false, |ui| {
            saved::saved_ui(
                ui,
                &mut self.save_name,
                &self.saved_names,
                valid,
                ctx.actions,
            );
            exchange = saved::exchange_ui(ui, valid);
        });
        exchange
    }
}

/// A collapsing section with a stable id (titles may carry counts).
fn section(
    ui: &mut egui::Ui,
    title: &str,
    salt: &str,
    open: bool,
    body: impl FnOnce(&mut egui::Ui),
) {
    egui::CollapsingHeader::new(title)
        .id_salt(salt)
        .default_open(open)
        .show(ui, body);
}
