//! A product's page, its editor, and the owners' actions (publish, deprecate, add tables,
//! re-sync). Forms post here; the work is the API's functions.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use super::product_cache::ProductPageData;
use super::{Chrome, PageForm, PagePath, RenderPage, flash};
use crate::actions::ActionError;
use crate::actions::products::{
    AddTablesRequest, GlueTableRef, add_product, add_tables, can_manage, can_view, change_status,
    edit_product, managed_product, sync_now,
};
use crate::app::AppState;
use crate::domain::*;
use crate::http::AppError;
use crate::http::auth::CurrentUser;

#[derive(Template)]
#[template(path = "pages/product.html")]
struct ProductPage<'a> {
    chrome: Chrome,
    /// What every viewer sees: the product, its tables, history and access timeline.
    view: &'a ProductPageData,
    /// Whether the viewer may edit it.
    manageable: bool,
    /// The viewer's teams' roles in the product's environment, for the request form.
    principals: Vec<&'a ConsumerPrincipal>,
    default_until: String,
    max_until: String,
}

/// `GET /products/{slug}`
pub async fn product_page(
    State(app): State<AppState>,
    user: CurrentUser,
    PagePath(slug): PagePath<String>,
) -> Result<Response, AppError> {
    let slug = Slug::parse(&slug).map_err(|_| AppError::NotFound)?;
    let view = app
        .product_pages
        .get(&*app.store, &slug, user.outbox_seq)
        .await?;
    let product = &view.product;
    // A draft's existence is not leaked.
    if !can_view(&user.subject(), product) {
        return Err(AppError::NotFound);
    }
    let today = crate::store::now().date();
    let max_days = i64::from(product.max_access_days);
    ProductPage {
        chrome: Chrome::new(&app, Some(&user), &product.name).nav("catalog"),
        manageable: can_manage(&user.subject(), product),
        principals: view
            .principals
            .iter()
            .filter(|p| user.teams.contains(&p.team))
            .collect(),
        default_until: (today + time::Duration::days(30.min(max_days))).to_string(),
        max_until: (today + time::Duration::days(max_days)).to_string(),
        view: &view,
    }
    .into_page()
}

#[derive(Deserialize)]
pub struct StatusForm {
    action: String,
}

/// `POST /products/{slug}/status`
pub async fn product_status(
    State(app): State<AppState>,
    user: CurrentUser,
    PagePath(slug): PagePath<String>,
    PageForm(form): PageForm<StatusForm>,
) -> Result<Response, AppError> {
    let status = match form.action.as_str() {
        "publish" => ProductStatus::Published,
        "deprecate" => ProductStatus::Deprecated,
        _ => return Err(AppError::BadRequest("unknown action".into())),
    };
    let product = change_status(&app, &user.subject(), &slug, status).await?;
    Ok(flash::redirect(
        &app,
        &format!("/products/{}", product.slug),
        format!("The product is now {status}."),
    ))
}

/// `POST /products/{slug}/sync`
pub async fn product_sync(
    State(app): State<AppState>,
    user: CurrentUser,
    PagePath(slug): PagePath<String>,
) -> Result<Response, AppError> {
    let changes = sync_now(&app, &user.subject(), &slug).await?;
    let message = match changes.len() {
        0 => "Re-sync done: the tables match their catalog.".to_owned(),
        n => format!("Re-sync done: {n} change(s) recorded in the history."),
    };
    Ok(flash::redirect(&app, &format!("/products/{slug}"), message))
}

#[derive(Deserialize)]
pub struct TablesForm {
    /// Glue tables, one `database.table` per line.
    #[serde(default)]
    glue: String,
    /// A sandbox table: `database.table`, then one `column type [pii]` per line.
    #[serde(default)]
    table: String,
    #[serde(default)]
    columns: String,
}

fn parse_sandbox_table(table: &str, columns: &str) -> Result<TableDefinition, Invalid> {
    let (database, name) = table
        .trim()
        .split_once('.')
        .ok_or_else(|| Invalid::new("table", "write it as database.table"))?;
    let columns = columns
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next().unwrap_or_default();
            let data_type = words
                .next()
                .ok_or_else(|| Invalid::new("columns", format!("{line:?}: write `name type`")))?;
            let flags: Vec<&str> = words.collect();
            Ok(Column {
                name: name.into(),
                data_type: data_type.into(),
                description: String::new(),
                is_pii: flags.iter().any(|f| f.eq_ignore_ascii_case("pii")),
                is_partition_key: flags.iter().any(|f| f.eq_ignore_ascii_case("partition")),
            })
        })
        .collect::<Result<Vec<_>, Invalid>>()?;
    Ok(TableDefinition {
        database: database.into(),
        table: name.into(),
        description: String::new(),
        location: None,
        parameters: serde_json::json!({}),
        columns,
    })
}

/// `POST /products/{slug}/tables`
pub async fn product_tables(
    State(app): State<AppState>,
    user: CurrentUser,
    PagePath(slug): PagePath<String>,
    PageForm(form): PageForm<TablesForm>,
) -> Result<Response, AppError> {
    let request = if form.glue.trim().is_empty() {
        AddTablesRequest {
            glue: Vec::new(),
            tables: vec![parse_sandbox_table(&form.table, &form.columns)?],
        }
    } else {
        let glue = form
            .glue
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|line| {
                let (database, table) = line.split_once('.').ok_or_else(|| {
                    Invalid::new("glue", format!("{line:?}: write database.table"))
                })?;
                Ok(GlueTableRef {
                    database: database.into(),
                    table: table.into(),
                })
            })
            .collect::<Result<Vec<_>, Invalid>>()?;
        AddTablesRequest {
            glue,
            tables: Vec::new(),
        }
    };
    let added = add_tables(&app, &user.subject(), &slug, request).await?;
    let message = match added.len() {
        1 => "1 table added.".to_owned(),
        n => format!("{n} tables added."),
    };
    Ok(flash::redirect(&app, &format!("/products/{slug}"), message))
}

#[derive(Template)]
#[template(path = "pages/product_editor.html")]
struct EditorPage {
    chrome: Chrome,
    /// The product being edited; `None` for a new one.
    slug: Option<String>,
    form: EditorForm,
    domains: Vec<BusinessDomain>,
    environments: Vec<Environment>,
    teams: Vec<TeamName>,
    classifications: &'static [Classification],
    error: Option<String>,
}

/// The editor's fields, as text.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EditorForm {
    #[serde(default)]
    slug: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    domain: String,
    #[serde(default)]
    owner_team: String,
    #[serde(default)]
    environment: String,
    #[serde(default)]
    classification: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    stewards: String,
    #[serde(default)]
    auto_approve: Option<String>,
    #[serde(default)]
    max_access_days: String,
}

impl EditorForm {
    fn from_product(product: &Product) -> Self {
        Self {
            slug: product.slug.to_string(),
            name: product.name.clone(),
            description: product.description.clone(),
            domain: product.domain.to_string(),
            owner_team: product.owner_team.to_string(),
            environment: product.environment.to_string(),
            classification: product.classification.to_string(),
            tags: product.tags.join(", "),
            stewards: product
                .stewards
                .iter()
                .filter_map(|s| s.email.clone())
                .collect::<Vec<_>>()
                .join(", "),
            auto_approve: product.auto_approve.then(|| "on".into()),
            max_access_days: product.max_access_days.to_string(),
        }
    }

    fn input(&self) -> Result<ProductInput, Invalid> {
        let list = |text: &str| {
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        Ok(ProductInput {
            slug: Some(self.slug.clone()).filter(|s| !s.trim().is_empty()),
            name: self.name.clone(),
            description: self.description.clone(),
            domain: self.domain.clone(),
            owner_team: self.owner_team.clone(),
            environment: self.environment.clone(),
            classification: self.classification.clone(),
            tags: list(&self.tags),
            stewards: list(&self.stewards),
            auto_approve: self.auto_approve.is_some(),
            max_access_days: self
                .max_access_days
                .trim()
                .parse()
                .map_err(|_| Invalid::new("max_access_days", "a number of days"))?,
        })
    }
}

async fn render_editor(
    app: &AppState,
    user: &CurrentUser,
    slug: Option<String>,
    form: EditorForm,
    error: Option<String>,
) -> Result<Response, AppError> {
    let title = if slug.is_some() {
        "Edit product"
    } else {
        "New product"
    };
    EditorPage {
        chrome: Chrome::new(app, Some(user), title).nav("catalog"),
        slug,
        form,
        domains: app.store.list_domains().await?,
        environments: app.store.list_environments().await?,
        teams: user.teams.clone(),
        classifications: Classification::ALL,
        error,
    }
    .into_page()
}

/// `GET /products/new`
pub async fn new_product(
    State(app): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let form = EditorForm {
        environment: "sandbox".into(),
        classification: "internal".into(),
        max_access_days: "365".into(),
        owner_team: user
            .teams
            .first()
            .map(ToString::to_string)
            .unwrap_or_default(),
        ..EditorForm::default()
    };
    render_editor(&app, &user, None, form, None).await
}

/// `POST /products/new`: on a mistake, the form comes back filled in with the message.
pub async fn create_product(
    State(app): State<AppState>,
    user: CurrentUser,
    PageForm(form): PageForm<EditorForm>,
) -> Result<Response, AppError> {
    let outcome = match form.input() {
        Ok(input) => add_product(&app, &user.subject(), &input).await,
        Err(invalid) => Err(invalid.into()),
    };
    match outcome {
        Ok(product) => Ok(flash::redirect(
            &app,
            &format!("/products/{}", product.slug),
            "Draft created: only your team sees it. Add its tables, then publish it.",
        )),
        Err(ActionError::Invalid(e)) => {
            render_editor(&app, &user, None, form, Some(e.to_string())).await
        }
        Err(ActionError::Conflict(e)) => render_editor(&app, &user, None, form, Some(e)).await,
        Err(other) => Err(other.into()),
    }
}

/// `GET /products/{slug}/edit`
pub async fn edit_product_page(
    State(app): State<AppState>,
    user: CurrentUser,
    PagePath(slug): PagePath<String>,
) -> Result<Response, AppError> {
    let product = managed_product(&app, &user.subject(), &slug).await?;
    render_editor(
        &app,
        &user,
        Some(slug),
        EditorForm::from_product(&product),
        None,
    )
    .await
}

/// `POST /products/{slug}/edit`
pub async fn update_product(
    State(app): State<AppState>,
    user: CurrentUser,
    PagePath(slug): PagePath<String>,
    PageForm(form): PageForm<EditorForm>,
) -> Result<Response, AppError> {
    let outcome = match form.input() {
        Ok(input) => edit_product(&app, &user.subject(), &slug, None, &input).await,
        Err(invalid) => Err(invalid.into()),
    };
    match outcome {
        Ok(product) => Ok(flash::redirect(
            &app,
            &format!("/products/{}", product.slug),
            "Changes saved.",
        )),
        Err(ActionError::Invalid(e)) => {
            render_editor(&app, &user, Some(slug), form, Some(e.to_string())).await
        }
        Err(other) => Err(other.into()),
    }
}
