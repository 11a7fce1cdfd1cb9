//! Templates: a module's saved, versioned config, shared inside the account by a link.
//! Stored as `ACCT#<a>` / `TPL#<id>`, indexed by module on `gsi1` so a module's list is
//! one query. A write names the version it read (`If-Match`); a stale one is a 409.

use crate::ids::AccountId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::app::{UsesClock, UsesCrm, UsesItems, UsesLinks};
use crate::error::{Error, Result};
use crate::identity::{Granted, Need, Permission, Principal, Scoped, authorize, store};
use crate::ids::TemplateId;
use crate::modules::{Module, ModuleConfig};
use crate::ports::items::{Condition, Item, Query};

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 2000;

/// What a client sends, and exactly what `steward run --template` reads.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::modules::config::config_by_module)]
pub struct TemplateInput {
    /// Kept as text so an unknown module is reported by name, at `/module`.
    #[schemars(with = "Module")]
    pub module: String,
    #[schemars(length(min = 1, max = 200), regex(pattern = r"\S"))]
    pub name: String,
    #[serde(default)]
    #[schemars(length(max = 2000))]
    pub description: Option<String>,
    #[schemars(schema_with = "crate::modules::config::config_schema")]
    pub config: Value,
}

/// A template as stored and returned.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Template {
    pub id: TemplateId,
    pub module: Module,
    pub name: String,
    pub description: Option<String>,
    pub config: Value,
    pub created_by: crate::ids::MemberId,
    pub created_at: DateTime<Utc>,
    pub updated_by: crate::ids::MemberId,
    pub updated_at: DateTime<Utc>,
    /// Send it back in `If-Match` to update or delete.
    #[serde(default)]
    pub version: u64,
    /// `{WEB_BASE_URL}/modules/{module}?template={id}`; not stored.
    #[serde(default, skip_deserializing)]
    pub share_url: String,
}

/// Checks a template's input: the module, the name, and the module's typed config.
/// Every problem is reported with its pointer; the typed config is returned.
pub fn validate(input: &TemplateInput) -> Result<(Module, ModuleConfig)> {
    let mut errors = Vec::new();
    let module = match Module::named(&input.module, "/module") {
        Ok(m) => Some(m),
        Err(Error::Invalid { errors: e, .. }) => {
            errors.extend(e);
            None
        }
        Err(e) => return Err(e),
    };
    let name = input.name.trim();
    if name.is_empty() {
        errors.push(crate::error::FieldError::new("/name", "must not be empty"));
    } else if name.chars().count() > MAX_NAME_CHARS {
        errors.push(crate::error::FieldError::new(
            "/name",
            format!("must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    if input
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS)
    {
        errors.push(crate::error::FieldError::new(
            "/description",
            format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    let config = match module {
        Some(m) => match ModuleConfig::parse(m, &input.config) {
            Ok(c) => Some(c),
            Err(Error::Invalid { errors: e, .. }) => {
                errors.extend(e);
                None
            }
            Err(e) => return Err(e),
        },
        None => None,
    };
    match (module, config) {
        (Some(m), Some(c)) if errors.is_empty() => Ok((m, c)),
        _ => Err(Error::Invalid {
            detail: match errors.as_slice() {
                [one] => format!("{}: {}", one.pointer, one.detail),
                many => format!("the template has {} problems", many.len()),
            },
            errors,
        }),
    }
}

/// The config's object and fields against the account's CRM (its schema cached a few
/// minutes): a 400 naming every problem, so a template never names what the CRM lacks.
async fn fits_the_crm(
    s: &(impl UsesCrm + UsesClock),
    who: &Principal,
    config: &ModuleConfig,
) -> Result<()> {
    let crm = crate::crm_schema::crm_of(s, who).await?;
    crate::crm_schema::check_config(s, &who.account_id, crm.as_ref(), config).await?;
    Ok(())
}

impl Scoped for Template {
    fn module(&self) -> Module {
        self.module
    }
}

impl Template {
    fn with_link(mut self, s: &impl UsesLinks) -> Self {
        self.share_url = format!(
            "{}/modules/{}?template={}",
            s.web_base_url(),
            self.module.name(),
            self.id
        );
        self
    }

    fn to_item(&self, account_id: &AccountId) -> Result<Item> {
        let mut stored = self.clone();
        stored.share_url = String::new();
        let mut item = store::to_item(
            crate::keys::account(account_id),
            crate::keys::template(self.id),
            &stored,
        )?;
        item.data.remove("share_url");
        item.data.remove("version");
        Ok(item.indexed(
            crate::keys::templates_of(account_id, self.module.name()),
            crate::keys::template_by_name(&self.name, self.id),
        ))
    }

    fn from_item(item: &Item) -> Result<Self> {
        let mut t: Template = store::from_item(item)?;
        t.version = item.version;
        Ok(t)
    }
}

/// The stored config of an account's template, for a schedule or a recipe step that runs
/// it on no member's behalf; `None` once it is deleted. Checking it is theirs to do (it
/// may no longer fit the module).
pub async fn stored_config(
    s: &impl UsesItems,
    account_id: &AccountId,
    id: TemplateId,
) -> Result<Option<Value>> {
    let item = s
        .items()
        .get(
            &crate::keys::account(account_id),
            &crate::keys::template(id),
        )
        .await?;
    Ok(item.map(|i| i.data.get("config").cloned().unwrap_or(Value::Null)))
}

/// A template id as a request gives it: text that is no template id names no template
/// (a 404, as for an id no template has).
pub fn named(text: &str) -> Result<TemplateId> {
    text.parse()
        .map_err(|_| Error::NotFound(format!("template {text}")))
}

/// A template of the member's account, with their read grant on its module; another
/// account's is a 404.
pub async fn get(
    s: &(impl UsesItems + UsesLinks),
    who: &Principal,
    id: TemplateId,
) -> Result<Granted<Template>> {
    let item = s
        .items()
        .get(
            &crate::keys::account(&who.account_id),
            &crate::keys::template(id),
        )
        .await?
        .ok_or_else(|| Error::NotFound(format!("template {id}")))?;
    who.grant_on(Template::from_item(&item)?.with_link(s), Permission::Read)
}

/// A template the member may change (write on its module), or 404/403.
pub async fn writable(
    s: &(impl UsesItems + UsesLinks),
    who: &Principal,
    id: TemplateId,
) -> Result<Granted<Template>> {
    let t = get(s, who, id).await?;
    who.grant_on(t.into_inner(), Permission::Write)
}

pub async fn create(
    s: &(impl UsesItems + UsesClock + UsesLinks + UsesCrm),
    who: &Principal,
    input: TemplateInput,
) -> Result<Template> {
    // Permission first: the module's config is only checked for those who may write it.
    let first = Module::parse(&input.module)
        .map(|m| who.grant(m, Permission::Write))
        .transpose()?;
    let (module, config) = validate(&input)?;
    let grant = match first {
        Some(g) => g,
        None => who.grant(module, Permission::Write)?,
    };
    fits_the_crm(s, who, &config).await?;
    let now = s.clock().now();
    let t = Template {
        id: TemplateId::new(),
        module: grant.module(),
        name: input.name.trim().to_string(),
        description: input.description.filter(|d| !d.trim().is_empty()),
        config: input.config,
        created_by: who.user_id.clone(),
        created_at: now,
        updated_by: who.user_id.clone(),
        updated_at: now,
        version: 0,
        share_url: String::new(),
    };
    let version = s
        .items()
        .put(t.to_item(&who.account_id)?, Condition::Absent)
        .await?;
    Ok(Template { version, ..t }.with_link(s))
}

/// Replaces a template's name, description and config (`current` from `writable`). The
/// module cannot change.
pub async fn update(
    s: &(impl UsesItems + UsesClock + UsesLinks + UsesCrm),
    who: &Principal,
    current: Granted<Template>,
    expected_version: u64,
    input: TemplateInput,
) -> Result<Template> {
    current.grant().covers(current.module, Permission::Write)?;
    let current = current.into_inner();
    let (module, config) = validate(&input)?;
    if module != current.module {
        return Err(Error::invalid(
            "/module",
            format!(
                "a template's module cannot change (it is `{}`); copy it instead",
                current.module
            ),
        ));
    }
    fits_the_crm(s, who, &config).await?;
    let t = Template {
        name: input.name.trim().to_string(),
        description: input.description.filter(|d| !d.trim().is_empty()),
        config: input.config,
        updated_by: who.user_id.clone(),
        updated_at: s.clock().now(),
        ..current
    };
    let version = s
        .items()
        .put(
            t.to_item(&who.account_id)?,
            Condition::Version(expected_version),
        )
        .await
        .map_err(stale)?;
    Ok(Template { version, ..t }.with_link(s))
}

fn stale(e: Error) -> Error {
    match e {
        Error::Conflict(_) => Error::Conflict(
            "the template changed since you read it (version mismatch); reload it and apply your change again"
                .into(),
        ),
        e => e,
    }
}

/// Deletes a template (`current` from `writable`).
pub async fn delete(
    s: &impl UsesItems,
    who: &Principal,
    current: Granted<Template>,
    expected_version: Option<u64>,
) -> Result<()> {
    current.grant().covers(current.module, Permission::Write)?;
    s.items()
        .delete(
            &crate::keys::account(&who.account_id),
            &crate::keys::template(current.id),
            Some(expected_version.unwrap_or(current.version)),
        )
        .await
        .map_err(stale)
}

/// A new template with the same module and config, named "<name> (copy)".
pub async fn copy(
    s: &(impl UsesItems + UsesClock + UsesLinks + UsesCrm),
    who: &Principal,
    id: TemplateId,
) -> Result<Template> {
    let t = get(s, who, id).await?.into_inner();
    let mut name = format!("{} (copy)", t.name);
    if name.chars().count() > MAX_NAME_CHARS {
        name = name.chars().take(MAX_NAME_CHARS).collect();
    }
    create(
        s,
        who,
        TemplateInput {
            module: t.module.name().into(),
            name,
            description: t.description,
            config: t.config,
        },
    )
    .await
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TemplatePage {
    pub templates: Vec<Template>,
    pub cursor: Option<String>,
}

/// The account's templates the member can read: one module's (by name) or all (by id),
/// a page at a time.
pub async fn list(
    s: &(impl UsesItems + UsesLinks),
    who: &Principal,
    module: Option<Module>,
    limit: u32,
    cursor: Option<String>,
) -> Result<TemplatePage> {
    let query = match module {
        Some(m) => {
            authorize(who, Need::Module(m, Permission::Read))?;
            Query::partition(crate::keys::templates_of(&who.account_id, m.name())).on_gsi1()
        }
        None => {
            Query::partition(crate::keys::account(&who.account_id)).prefix(crate::keys::TEMPLATES)
        }
    };
    let page = s.items().query(&query.limit(limit).after(cursor)).await?;
    let mut templates = Vec::new();
    for item in &page.items {
        let t = Template::from_item(item)?;
        if who.permission(t.module) >= Permission::Read {
            templates.push(t.with_link(s));
        }
    }
    Ok(TemplatePage {
        templates,
        cursor: page.cursor,
    })
}
