// A module's page (`/modules/{module}?template={id}`): the template bar, the module's editor
// and the Review step. The page owns loading, saving and running; the editor owns the config.
import { use, useEffect, useRef, useState } from "react";
import { Alert, Anchor, Button, Center, Group, Loader, Modal, Stack, Text, TextInput, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, Navigate, useNavigate, useParams, useSearchParams } from "react-router";
import { api } from "../../api/client";
import { ApiError, unwrap } from "../../api/problem";
import type { components } from "../../api/schema";
import { can, useMe, type Me, type ModuleId } from "../../api/session";
import { ProblemAlert } from "../../components/ProblemAlert";
import { moduleInfo, type ModuleInfo } from "../../app/modules";
import { NotFound } from "../../app/NotFound";
import { defaultObject, loadEditor, type AnyConfig, type EditorModule } from "./editors";
import type { GridEdit } from "./editors/grid";
import { Review, reviewClaims, type Mode, type NotifyInput, type Schedule, type Scope } from "./review/Review";
import { fireTimes, updateInput, type ScheduleDraft } from "./review/schedule";
import { TemplateBar, templateKey, templatesKey, type Template } from "./TemplateBar";

type StartInput = components["schemas"]["StartInput"];
type TemplateInput = components["schemas"]["TemplateInput"];

export default function ModulePage() {
  const { module = "" } = useParams();
  const info = moduleInfo(module);
  const me = useMe();
  if (!info) return <NotFound />;
  if (!me.data) return null;
  if (!can(me.data, info.id, "read")) return <NoAccess info={info} />;
  return <ModuleScreen key={info.id} info={info} me={me.data} />;
}

function NoAccess({ info }: { info: ModuleInfo }) {
  return (
    <Stack align="flex-start" maw={640}>
      <Title order={2}>{info.title}</Title>
      <Alert color="gray" title="You do not have access to this module">
        Your account's owner or an admin gives access per module in Settings → Users. Ask them for read access to {info.title} to see its templates, or write access to change and apply them.
      </Alert>
      <Button component={Link} to="/" variant="default">
        Go to the start page
      </Button>
    </Stack>
  );
}

function Loading() {
  return (
    <Center h="40vh">
      <Loader aria-label="Loading" />
    </Center>
  );
}

function ModuleScreen({ info, me }: { info: ModuleInfo; me: Me }) {
  const editor = use(loadEditor(info.id));
  const [search, setSearch] = useSearchParams();
  const id = search.get("template") ?? undefined;
  const [reloads, setReloads] = useState(0);
  const client = useQueryClient();
  // A template the open workspace saved for the first time keeps that workspace (and its
  // Review state): its id maps to the workspace's key.
  const [adopted] = useState(() => new Map<string, string>());
  const template = useQuery({
    queryKey: templateKey(id ?? ""),
    queryFn: () => unwrap(api.GET("/templates/{id}", { params: { path: { id: id ?? "" } } })),
    enabled: Boolean(id),
  });

  if (id && template.isPending) return <Loading />;
  if (id && template.error) {
    const gone = template.error instanceof ApiError && (template.error.status === 404 || template.error.status === 400);
    return (
      <Stack align="flex-start" maw={640}>
        <Title order={2}>{info.title}</Title>
        {gone ? (
          <Alert color="orange" title="This template does not exist">
            It may have been deleted, or the link belongs to another CRM account.
          </Alert>
        ) : (
          <ProblemAlert error={template.error} title="The template could not be loaded" />
        )}
        <Button onClick={() => setSearch({})}>Start a new template</Button>
      </Stack>
    );
  }
  if (id && template.data && template.data.module !== info.id) {
    return <Navigate to={`/modules/${template.data.module}?template=${id}`} replace />;
  }

  const base = id ? (adopted.get(id) ?? id) : "new";
  const open = (next: string | undefined) => {
    if (next === id) setReloads((n) => n + 1);
    setSearch(next ? { template: next } : {});
  };
  const adopt = (saved: Template) => {
    adopted.set(saved.id, base);
    client.setQueryData(templateKey(saved.id), saved);
    setSearch({ template: saved.id }, { replace: true });
  };
  const reload = async () => {
    if (id) await client.refetchQueries({ queryKey: templateKey(id), exact: true });
    setReloads((n) => n + 1);
  };

  return (
    <Workspace
      key={`${base}:${reloads}`}
      info={info}
      me={me}
      editor={editor}
      initial={id ? template.data : undefined}
      open={open}
      adopt={adopt}
      reload={() => void reload()}
    />
  );
}

/** Keys sorted, so two configs that differ only in key order are the same. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}

interface Draft {
  name: string;
  description: string;
  config: AnyConfig;
}

function draftOf(t: Template): Draft {
  return { name: t.name, description: t.description ?? "", config: t.config as AnyConfig };
}

/** A toast (its close button's name and its text's contrast come from the theme, App.tsx). */
function toast(n: { color?: string; title: string; message: string }) {
  notifications.show(n);
}

const CRM_NAME: Record<Me["account"]["crm"], string> = { hubspot: "HubSpot", salesforce: "Salesforce", csv: "the CRM" };

function Workspace({
  info,
  me,
  editor,
  initial,
  open,
  adopt,
  reload,
}: {
  info: ModuleInfo;
  me: Me;
  editor: EditorModule;
  initial: Template | undefined;
  open: (id: string | undefined) => void;
  adopt: (t: Template) => void;
  reload: () => void;
}) {
  const module: ModuleId = info.id;
  const readOnly = !can(me, module, "write");
  const client = useQueryClient();
  const navigate = useNavigate();
  const [baseline, setBaseline] = useState<Template | undefined>(initial);
  const [draft, setDraft] = useState<Draft>(() => (initial ? draftOf(initial) : { name: "", description: "", config: editor.emptyConfig(defaultObject(me.account.crm)) }));
  const [start] = useState(() => canonical(draft));
  const [edits, setEdits] = useState<GridEdit[]>([]);
  const [error, setError] = useState<unknown>();
  const [stale, setStale] = useState(false);
  const [barBusy, setBarBusy] = useState<"save" | "copy" | "delete">();
  const [runBusy, setRunBusy] = useState<"preview" | "apply" | "schedule">();
  const [shareUrl, setShareUrl] = useState<string>();

  const dirty = canonical(draft) !== (baseline ? canonical(draftOf(baseline)) : start);

  // A new problem: bring the first field it marks into view.
  const errorSeen = useRef<unknown>(undefined);
  useEffect(() => {
    if (!error || error === errorSeen.current) return;
    errorSeen.current = error;
    requestAnimationFrame(() => document.querySelector("main [aria-invalid='true']")?.scrollIntoView({ block: "center", behavior: "smooth" }));
  }, [error]);

  const fail = (e: unknown) => {
    if (e instanceof ApiError && (e.status === 409 || e.status === 412)) {
      setStale(true);
      setError(undefined);
    } else {
      setError(e);
    }
  };

  /** Saves the draft (a new template, or the version read replaced); undefined when refused. */
  const save = async (): Promise<Template | undefined> => {
    setError(undefined);
    if (!draft.name.trim()) {
      setError(new ApiError(400, { type: "about:blank", title: "The template needs a name", status: 400, detail: "Give it a name people will recognise.", errors: [{ pointer: "/name", detail: "Give the template a name" }] }));
      return undefined;
    }
    const body = { module, name: draft.name.trim(), description: draft.description.trim() || null, config: draft.config } as TemplateInput;
    try {
      const saved = baseline
        ? await unwrap(api.PUT("/templates/{id}", { params: { path: { id: baseline.id }, header: { "If-Match": `"${baseline.version}"` } }, body }))
        : await unwrap(api.POST("/templates", { body }));
      setBaseline(saved);
      setDraft((d) => ({ ...d, name: saved.name, description: saved.description ?? "" }));
      setStale(false);
      void client.invalidateQueries({ queryKey: templatesKey(module) });
      if (baseline) client.setQueryData(templateKey(saved.id), saved);
      else adopt(saved);
      toast({ color: "green", title: "Template saved", message: saved.name });
      return saved;
    } catch (e) {
      fail(e);
      return undefined;
    }
  };

  const onSave = () => {
    setBarBusy("save");
    void save().finally(() => setBarBusy(undefined));
  };

  const onCopy = async () => {
    if (!baseline) return;
    setBarBusy("copy");
    try {
      const copy = await unwrap(api.POST("/templates/{id}/copy", { params: { path: { id: baseline.id } } }));
      void client.invalidateQueries({ queryKey: templatesKey(module) });
      client.setQueryData(templateKey(copy.id), copy);
      toast({ color: "green", title: "Template copied", message: `Now editing “${copy.name}”.` });
      open(copy.id);
    } catch (e) {
      fail(e);
    } finally {
      setBarBusy(undefined);
    }
  };

  const onDelete = async () => {
    if (!baseline) return;
    setBarBusy("delete");
    try {
      await unwrap(api.DELETE("/templates/{id}", { params: { path: { id: baseline.id }, header: { "If-Match": `"${baseline.version}"` } } }));
      void client.invalidateQueries({ queryKey: templatesKey(module) });
      client.removeQueries({ queryKey: templateKey(baseline.id) });
      toast({ title: "Template deleted", message: baseline.name });
      open(undefined);
    } catch (e) {
      fail(e);
      setBarBusy(undefined);
    }
  };

  const onShare = async () => {
    const url = baseline?.share_url;
    if (!url) return;
    try {
      await navigator.clipboard.writeText(url);
      toast({ color: "green", title: "Share link copied", message: url });
    } catch {
      // No clipboard (a plain-http origin, or refused): show the link to copy by hand.
      setShareUrl(url);
    }
  };

  const onRun = async (mode: Mode, scope: Scope, notify: NotifyInput | undefined) => {
    setError(undefined);
    setRunBusy(mode);
    const body = (baseline && !dirty ? { template_id: baseline.id, mode } : { module, config: draft.config, mode }) as StartInput;
    if (scope !== "all") body.scope = scope;
    if (notify) body.notify = notify;
    if (module === "grid" && edits.length > 0) body.edits = edits;
    try {
      const run = await unwrap(api.POST("/runs", { body }));
      void client.invalidateQueries({ queryKey: ["runs"] });
      void navigate(`/activity/${run.id}`);
    } catch (e) {
      setError(e);
      setRunBusy(undefined);
    }
  };

  /** A new schedule, or `existing` updated: a second save in the tab never makes a second schedule. */
  const onSchedule = async (input: ScheduleDraft, existing: Schedule | undefined): Promise<Schedule | undefined> => {
    setError(undefined);
    setRunBusy("schedule");
    try {
      const t = baseline && !dirty ? baseline : await save();
      if (!t) return undefined;
      // Schedules carry a version but PUT takes no If-Match: read it first, and never
      // overwrite a change made meanwhile (in Settings → Schedules). Deleted there: make it anew.
      const current = existing && (await unwrap(api.GET("/schedules/{id}", { params: { path: { id: existing.id } } })).catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 404) return undefined;
        throw e;
      }));
      if (current && current.version !== existing?.version) {
        setError(
          new ApiError(409, {
            type: "about:blank",
            title: "Someone else changed this schedule",
            status: 409,
            detail: "It was changed in Settings → Schedules after you saved it here, so nothing was overwritten. Open Settings → Schedules to see it and edit it there.",
          }),
        );
        return undefined;
      }
      const body = { template_id: t.id, mode: input.mode, expression: input.expression, timezone: input.timezone, ...(input.notify ? { notify: input.notify } : {}) };
      const schedule = current
        ? await unwrap(api.PUT("/schedules/{id}", { params: { path: { id: current.id } }, body: updateInput(current, t.id, input) }))
        : await unwrap(api.POST("/schedules", { body }));
      void client.invalidateQueries({ queryKey: ["schedules"] });
      toast({ color: "green", title: current ? "Schedule updated" : "Schedule saved", message: schedule.next[0] ? `“${t.name}” runs next on ${fireTimes(schedule.next.slice(0, 1), schedule.timezone)[0]} (${schedule.timezone}).` : t.name });
      return schedule;
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setRunBusy(undefined);
    }
  };

  const Editor = editor.Editor;
  const claimed = (p: string) => p === "/name" || p === "/description" || reviewClaims(p) || editor.claims(draft.config, p);
  const crmName = CRM_NAME[me.account.crm];

  return (
    // Mantine's error red (shade 6) is below 4.5:1 for the small text of field errors.
    <Stack gap="md" pb="xl" style={{ "--mantine-color-error": "var(--mantine-color-red-9)" } as React.CSSProperties}>
      <div>
        <Title order={2}>{info.title}</Title>
        <Text c="dimmed">{info.summary}</Text>
      </div>
      {readOnly && (
        <Alert color="blue" title="Read-only">
          You can read {info.title} templates and preview them, but not save, copy, delete or apply. Ask your account's owner or an admin for write access (Settings → Users).
        </Alert>
      )}
      <TemplateBar
        module={module}
        moduleTitle={info.title}
        current={baseline}
        name={draft.name}
        description={draft.description}
        onName={(name) => setDraft((d) => ({ ...d, name }))}
        onDescription={(description) => setDraft((d) => ({ ...d, description }))}
        dirty={dirty}
        readOnly={readOnly}
        busy={barBusy}
        error={error}
        stale={stale}
        onPick={(tid) => open(tid)}
        onNew={() => open(undefined)}
        onSave={onSave}
        onCopy={() => void onCopy()}
        onDelete={() => void onDelete()}
        onShare={() => void onShare()}
        onReload={reload}
      />
      <Editor
        config={draft.config}
        onChange={(config) => setDraft((d) => ({ ...d, config }))}
        error={error}
        readOnly={readOnly}
        {...(module === "grid" ? { edits, onEditsChange: setEdits } : {})}
      />
      {Boolean(error) && (
        <div aria-live="polite">
          {error instanceof ApiError && error.fields.length > 0 && error.fields.every((f) => claimed(f.pointer)) ? (
            <Alert color="red" title={error.problem.title} role="alert">
              {error.fields.length === 1 ? "Correct the field marked in red, then try again." : `Correct the ${error.fields.length} fields marked in red, then try again.`}
            </Alert>
          ) : (
            <ProblemAlert error={error} claimed={claimed} />
          )}
        </div>
      )}
      <Review
        moduleTitle={info.title}
        crmName={crmName}
        readOnly={readOnly}
        scheduleBlocked={readOnly && (!baseline || dirty) ? "A schedule runs a saved template: saving needs write access." : undefined}
        integrationSet={me.account.integration_set}
        busy={runBusy}
        error={error}
        onRun={(mode, scope, notify) => void onRun(mode, scope, notify)}
        onSchedule={onSchedule}
      />
      <Modal opened={shareUrl !== undefined} onClose={() => setShareUrl(undefined)} title="Share link" centered>
        <Stack>
          <Text size="sm">The browser did not allow copying. Select the link and copy it:</Text>
          <TextInput label="Link to this template" readOnly value={shareUrl ?? ""} onFocus={(e) => e.currentTarget.select()} />
          <Group justify="flex-end">
            <Anchor href={shareUrl}>Open it</Anchor>
            <Button onClick={() => setShareUrl(undefined)}>Done</Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}
