// Calls every operation of Steward's API through the typed client, with typed arguments
// (path, query, headers, bodies) and typed answers, in the order a person would: so a
// change of the API that the console would trip over is a `tsc` error here first.
// `npm run check` also fails naming any operation of the document not called below.
import type { StewardClient } from "./client";
import type { components } from "./schema";

type Schemas = components["schemas"];
/** A module's config, as the document types it in a template or a run. */
type ModuleConfig = Schemas["TemplateInput"]["config"];

/** The answer's data, or an error carrying the problem's detail and pointers. */
function ok<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (r.data === undefined) throw failure(r);
  return r.data;
}

/** For answers without a body (204, 302). */
function done(r: { error?: unknown; response: Response }): void {
  if (r.error !== undefined || r.response.status >= 400) throw failure(r);
}

function failure(r: { error?: unknown; response: Response }): Error {
  const p = r.error as Partial<Schemas["Problem"]> | undefined;
  const pointers = (p?.errors ?? []).map((e) => `${e.pointer}: ${e.detail}`).join("; ");
  return new Error(`${r.response.status} ${r.response.url}: ${p?.detail ?? ""} ${pointers}`);
}

/** Configs of each module, as the API reads them (docs/modules/). */
export const configs = {
  bulk: {
    object: "contacts",
    filter: { field: "email", op: "not_empty" },
    actions: [{ set: { field: "company", value: "Acme" } }],
  },
  transform: {
    object: "contacts",
    steps: [{ field: "phone", fn: "replace", pattern: "[^0-9+]", with: "" }],
  },
  grid: { object: "contacts", columns: ["firstname", "lastname", "email"], page_size: 50 },
  validate: {
    object: "contacts",
    rules: [{ rule: "email", field: "email", message: "needs a real address" }],
  },
  merge: {
    object: "contacts",
    rules: [{ name: "same email", all: [{ field: "email", compare: "normalized", as: "email" }] }],
    master: { mode: "by_priority", rules: [{ rule: "oldest_created" }] },
    survivorship: { default: "master_unless_empty", fields: { company: "newest" } },
    max_group_size: 10,
  },
} satisfies Record<Schemas["Module"], ModuleConfig>;

export async function callEveryOperation(api: StewardClient, crm: Schemas["CrmKind"] & ("hubspot" | "salesforce")) {
  // Public: health of each function and the document itself.
  const health: Schemas["Health"][] = [
    ok(await api.GET("/health")),
    ok(await api.GET("/team/health")),
    ok(await api.GET("/templates/health")),
    ok(await api.GET("/runs/health")),
    ok(await api.GET("/exports/health")),
  ];
  const document = ok(await api.GET("/openapi.json"));

  // Signing in is a browser's navigation; the client sees its first redirect.
  done(await api.GET("/auth/{crm}/login", {
    params: { path: { crm }, query: { purpose: "login", return_to: "/modules/merge" } },
    redirect: "manual",
  }));
  // A refusal is a redirect to the console's `/signin?error=<code>` (docs/api.md).
  const refused = await api.GET("/auth/{crm}/callback", {
    params: { path: { crm }, query: { error: "access_denied", error_description: "Denied" } },
    redirect: "manual",
    parseAs: "text",
  });
  const me: Schemas["Me"] = ok(await api.GET("/me"));

  // Team: invite a CRM user, change what they may do, send the invitation again, cancel it.
  const team: Schemas["TeamView"] = ok(await api.GET("/team/members"));
  const crmUsers: Schemas["CrmUserView"][] = ok(await api.GET("/team/crm-users"));
  const invitee = crmUsers[0];
  if (invitee === undefined) throw new Error("no CRM user left to invite");
  const invited: Schemas["MemberView"] = ok(await api.POST("/team/invitations", {
    body: {
      user_id: invitee.id,
      role: "user",
      permissions: { merge: "none", bulk: "read", transform: "read", grid: "write", validate: "read" },
    },
  }));
  ok(await api.PATCH("/team/members/{id}", {
    params: { path: { id: invited.id } },
    body: { permissions: { grid: "read" } },
  }));
  ok(await api.POST("/team/invitations/{id}/resend", { params: { path: { id: invited.id } } }));
  done(await api.DELETE("/team/invitations/{id}", { params: { path: { id: invited.id } } }));
  done(await api.DELETE("/team/members/{id}", {
    params: { path: { id: invited.id }, query: { purge: true } },
  }));
  const integration: Schemas["IntegrationView"] = ok(await api.PUT("/team/integration", {
    body: { user_id: me.user.id },
  }));
  done(await api.DELETE("/team/integration"));
  // The account's policy: any member reads it; an owner or admin replaces it with the
  // version read (reports only to example.com, schedules at most every 15 minutes).
  const policy: Schemas["AccountPolicy"] = ok(await api.GET("/account/policy"));
  const tightened: Schemas["AccountPolicy"] = ok(await api.PUT("/account/policy", {
    params: { header: { "If-Match": `"${policy.version}"` } },
    body: { allowed_recipient_domains: ["example.com"], min_schedule_interval_minutes: 15 },
  }));

  // The CRM's schema, for field pickers; the grid's records, a page at a time.
  const objects: Schemas["CrmObjects"] = ok(await api.GET("/crm/objects"));
  const fields: Schemas["ObjectSchema"] = ok(await api.GET("/crm/objects/{object}/fields", {
    params: { path: { object: objects.objects[0]?.name ?? "contacts" } },
  }));
  const grid: Schemas["GridRecordsPage"] = ok(await api.POST("/grid/records", {
    body: {
      object: fields.object,
      columns: fields.fields.slice(0, 3).map((f) => f.name),
      filter: { all: [{ field: "email", op: "not_empty" }] },
      limit: 50,
    },
  }));

  // Templates: save, read (its version), replace with If-Match, copy, list, delete.
  const saved: Schemas["Template"] = ok(await api.POST("/templates", {
    body: { module: "bulk", name: "Company for known emails", description: null, config: configs.bulk },
  }));
  const read = ok(await api.GET("/templates/{id}", { params: { path: { id: saved.id } } }));
  const replaced = ok(await api.PUT("/templates/{id}", {
    params: { path: { id: read.id }, header: { "If-Match": `"${read.version}"` } },
    body: { module: "bulk", name: `${read.name} (v2)`, config: configs.bulk },
  }));
  const copy = ok(await api.POST("/templates/{id}/copy", { params: { path: { id: replaced.id } } }));
  const templates: Schemas["TemplatePage"] = ok(await api.GET("/templates", {
    params: { query: { module: "bulk", limit: 20 } },
  }));

  // Runs: preview a template, apply a config, follow one, download its CSV, cancel, revert.
  const preview: Schemas["Run"] = ok(await api.POST("/runs", {
    body: { template_id: replaced.id, mode: "preview", scope: "all" },
  }));
  const apply = ok(await api.POST("/runs", {
    body: {
      module: "grid",
      config: configs.grid,
      mode: "apply",
      scope: { ids: ["101"] },
      edits: [{ id: "101", field: "firstname", value: "Ada" }],
      stamp_property: "steward_run_id",
      notify: { recipients: ["ops@example.com"], subject: null, message: null },
    },
  }));
  const followed = ok(await api.GET("/runs/{id}", { params: { path: { id: preview.id } } }));
  const csv = await api.GET("/runs/{id}/csv", { params: { path: { id: followed.id } }, parseAs: "text" });
  const rows: Schemas["RunRowsPage"] = ok(await api.GET("/runs/{id}/rows", {
    params: { path: { id: followed.id }, query: { limit: 100, action: "update", outcome: "applied" } },
  }));
  // Apply the preview as reviewed (nothing left out here; the run page unticks groups/rows).
  const applied: Schemas["Run"] = ok(await api.POST("/runs/{id}/apply", {
    params: { path: { id: followed.id } },
    body: { exclude_groups: [], exclude_records: [], notify: null },
  }));
  const cancelled = ok(await api.POST("/runs/{id}/cancel", { params: { path: { id: apply.id } } }));
  const revert = ok(await api.POST("/runs/{id}/revert", { params: { path: { id: apply.id } } }));
  const runs: Schemas["RunPage"] = ok(await api.GET("/runs", {
    params: {
      query: {
        module: "bulk",
        status: "succeeded",
        trigger: "manual",
        member: me.user.email,
        from: "2026-01-01T00:00:00Z",
        to: new Date().toISOString(),
        limit: 50,
      },
    },
  }));
  const nextRuns = runs.cursor
    ? ok(await api.GET("/runs", { params: { query: { cursor: runs.cursor, run_id: preview.id } } }))
    : runs;
  // The signed link the CSV redirect leads to (steward serve; S3 on AWS).
  const blob = await api.GET("/blobs/{key}", {
    params: {
      path: { key: `runs/${me.account.id}/${preview.id}.csv` },
      query: { expires: Math.floor(Date.now() / 1000) + 900, name: "preview.csv", sig: "from-the-link" },
    },
    parseAs: "text",
  });

  // Schedules: the frequency builder previews an expression, then a template every
  // weekday morning, paused, resumed, replaced, deleted.
  const nextFires: Schemas["SchedulePreview"] = ok(await api.GET("/schedules/preview", {
    params: { query: { expression: "cron(0 9 ? * MON-FRI *)", timezone: "America/New_York" } },
  }));
  const schedule: Schemas["Schedule"] = ok(await api.POST("/schedules", {
    body: {
      template_id: copy.id,
      mode: "preview",
      expression: "cron(0 9 ? * MON-FRI *)",
      timezone: "America/New_York",
      notify: { recipients: ["ops@example.com"], subject: "Weekly check", message: null },
      reserve_percent: 10,
    },
  }));
  ok(await api.GET("/schedules/{id}", { params: { path: { id: schedule.id } } }));
  ok(await api.POST("/schedules/{id}/pause", { params: { path: { id: schedule.id } } }));
  ok(await api.POST("/schedules/{id}/resume", { params: { path: { id: schedule.id } } }));
  const moved: Schemas["Schedule"] = ok(await api.PUT("/schedules/{id}", {
    params: { path: { id: schedule.id } },
    body: { template_id: copy.id, mode: "preview", expression: "rate(1 day)", paused: true },
  }));
  const schedules: Schemas["SchedulePage"] = ok(await api.GET("/schedules", { params: { query: { limit: 10 } } }));
  done(await api.DELETE("/schedules/{id}", { params: { path: { id: moved.id } } }));

  // Recipes: two templates of one object run in order; saved, read, replaced with If-Match,
  // run now and followed; then the CRM's automation (the Owner activates it and rotates the
  // signing secret; a Flow's signed call), and the recipe deleted.
  const recipe: Schemas["Recipe"] = ok(await api.POST("/recipes", {
    body: {
      name: "Tidy contacts",
      description: null,
      steps: [
        { template_id: replaced.id, mode: "apply" },
        { template_id: copy.id, mode: "preview" },
      ],
    },
  }));
  ok(await api.GET("/recipes/{id}", { params: { path: { id: recipe.id } } }));
  const renamed: Schemas["Recipe"] = ok(await api.PUT("/recipes/{id}", {
    params: { path: { id: recipe.id }, header: { "If-Match": `"${recipe.version}"` } },
    body: { name: "Tidy contacts (v2)", steps: [{ template_id: replaced.id, mode: "preview" }] },
  }));
  const recipes: Schemas["RecipePage"] = ok(await api.GET("/recipes", { params: { query: { limit: 50 } } }));
  const recipeRun: Schemas["RecipeRun"] = ok(await api.POST("/recipes/{id}/runs", {
    params: { path: { id: renamed.id } },
    body: { scope: { ids: ["101"] } },
  }));
  ok(await api.GET("/recipe-runs/{id}", { params: { path: { id: recipeRun.id } } }));
  const recipeRuns: Schemas["RecipeRunPage"] = ok(await api.GET("/recipe-runs", {
    params: { query: { recipe_id: renamed.id, limit: 20 } },
  }));
  const automation: Schemas["AutomationView"] = ok(await api.GET("/account/automation"));
  const activated: Schemas["Activated"] = ok(await api.POST("/account/automation/activate", {
    body: { window_seconds: 10, reserve_percent: 10 },
  }));
  const rotated: Schemas["Activated"] = ok(await api.POST("/account/automation/rotate"));
  const hook: Schemas["Accepted"] = ok(await api.POST("/hooks/{crm}/recipes/{recipe_id}", {
    params: {
      path: { crm, recipe_id: renamed.id },
      header: {
        "X-Steward-Account": automation.account_header,
        "X-Steward-Timestamp": String(Math.floor(Date.now() / 1000)),
        "X-Steward-Signature": `v1=${"0".repeat(64)}`,
      },
    },
    body: { invocation_id: "flow-interview-1", record_ids: ["101"] },
  }));
  // HubSpot calls its workflow action's URLs itself, signed with Steward's app secret: the
  // recipes it may pick, and the action run on an enrolled record.
  const hubspotSigned = { "X-HubSpot-Signature-v3": "from-hubspot", "X-HubSpot-Request-Timestamp": String(Date.now()) };
  const actionOptions = await api.POST("/hooks/hubspot/workflow-action/options", { headers: hubspotSigned });
  const action = await api.POST("/hooks/hubspot/workflow-action", { headers: hubspotSigned });
  const deactivated: Schemas["AutomationView"] = ok(await api.POST("/account/automation/deactivate"));
  done(await api.DELETE("/recipes/{id}", { params: { path: { id: renamed.id } } }));

  done(await api.DELETE("/templates/{id}", {
    params: { path: { id: copy.id }, header: { "If-Match": `"${copy.version}"` } },
  }));
  done(await api.POST("/auth/logout"));

  return {
    functions: health.map((h) => h.function),
    openapi: document["openapi"],
    signInRefusal: refused.response.status,
    members: team.members.length,
    fieldTypes: fields.fields.map((f) => `${f.name}: ${f.type}`),
    gridIds: grid.records.map((r) => r.id),
    rows: rows.rows.map((r) => `${r.row} ${r.action}`),
    integration: integration.set,
    reportDomains: tightened.allowed_recipient_domains,
    templates: templates.templates.map((t) => t.name),
    runs: [...runs.runs, ...nextRuns.runs].map((r) => `${r.id} ${r.status} ${r.counts.planned}`),
    cancelled: cancelled.cancel_requested,
    revert: revert.revert_of,
    applied: applied.from_preview,
    csv: csv.response.status,
    blob: blob.response.status,
    schedules: schedules.schedules.map((s) => `${s.template_name}: ${s.next.join(", ")}`),
    recipes: recipes.recipes.map((r) => `${r.name}: ${r.steps.map((st) => st.template_name).join(" → ")}`),
    recipeRuns: recipeRuns.recipe_runs.map((r) => `${r.recipe_name} ${r.status}`),
    automation: [activated.automation.active, rotated.automation.previous_valid_until, hook.recipe_run_id, deactivated.active],
    hubspotAction: [actionOptions.response.status, action.response.status],
    preview: `${nextFires.expression} (${nextFires.timezone}): ${nextFires.next.join(", ")}`,
  };
}
