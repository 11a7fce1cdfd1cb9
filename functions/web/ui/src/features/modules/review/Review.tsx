// The Review step below the editor: Run (all records or selected ones), Notify and When
// (run now, or automate on a schedule), then the action: Preview / Apply, or Save schedule.
import { useState } from "react";
import { Alert, Anchor, Button, Card, Group, Modal, SegmentedControl, Select, Stack, Tabs, Text, Textarea, Title } from "@mantine/core";
import { Link } from "react-router";
import { errorAt } from "../../../api/problem";
import type { components } from "../../../api/schema";
import { EMPTY_NOTIFY, NotifyFields, notifyInput, type NotifyDraft } from "./Notify";
import { DEFAULT_FREQUENCY, browserTimeZone, toExpression, type Frequency } from "./frequency";
import { sameDraft, type ScheduleDraft } from "./schedule";
import { parseIds } from "./scope";
import { WhenFields, type When } from "./When";

type S = components["schemas"];
export type Mode = S["Mode"];
export type Scope = S["Scope"];
export type NotifyInput = S["NotifyInput"];
export type Schedule = S["Schedule"];

/** Pointers the Review step shows beside its inputs. */
export function reviewClaims(pointer: string): boolean {
  return /^\/(notify|expression|timezone|scope)(\/|$)/.test(pointer);
}

export interface ReviewProps {
  moduleTitle: string;
  crmName: string;
  /** Read-only members preview; they neither apply nor save. */
  readOnly: boolean;
  /** Why a schedule cannot be saved now (read-only with unsaved changes), else undefined. */
  scheduleBlocked: string | undefined;
  integrationSet: boolean;
  busy: "preview" | "apply" | "schedule" | undefined;
  error: unknown;
  onRun: (mode: Mode, scope: Scope, notify: NotifyInput | undefined) => void;
  /** Saves the schedule: a new one, or `existing` updated (never a second one for one tab). */
  onSchedule: (input: ScheduleDraft, existing: Schedule | undefined) => Promise<Schedule | undefined>;
}

export function Review({ moduleTitle, crmName, readOnly, scheduleBlocked, integrationSet, busy, error, onRun, onSchedule }: ReviewProps) {
  const [tab, setTab] = useState<string | null>("run");
  const [scopeKind, setScopeKind] = useState<"all" | "ids">("all");
  const [idsText, setIdsText] = useState("");
  const [notify, setNotify] = useState<NotifyDraft>(EMPTY_NOTIFY);
  const [when, setWhen] = useState<When>("now");
  const [frequency, setFrequency] = useState<Frequency>(DEFAULT_FREQUENCY);
  const [timezone, setTimezone] = useState(browserTimeZone);
  const [scheduleMode, setScheduleMode] = useState<Mode>("preview");
  // The schedule this tab saved, with what it sent: a second save updates it.
  const [saved, setSaved] = useState<{ schedule: Schedule; sent: ScheduleDraft }>();
  const [confirmApply, setConfirmApply] = useState(false);

  const ids = parseIds(idsText);
  const scope: Scope = scopeKind === "all" ? "all" : { ids };
  const scopeProblem = scopeKind === "ids" && ids.length === 0 ? "Paste at least one record id" : undefined;
  const expression = toExpression(frequency);
  const recipients = notify.recipients.length;
  const notifyErr = errorAt(error, "/notify", true);
  const whenErr = errorAt(error, "/expression") ?? errorAt(error, "/timezone");
  const run = (mode: Mode) => !scopeProblem && onRun(mode, scope, notifyInput(notify));
  const scheduleDraft: ScheduleDraft | undefined = expression ? { mode: scheduleMode, expression, timezone, notify: notifyInput(notify) } : undefined;
  const unchanged = Boolean(saved && scheduleDraft && sameDraft(saved.sent, scheduleDraft));

  const summary = [
    when === "now" ? (scopeKind === "all" ? "Runs now on all records" : `Runs now on ${ids.length} selected record${ids.length === 1 ? "" : "s"}`) : "Runs on a schedule",
    recipients ? `report to ${recipients} recipient${recipients === 1 ? "" : "s"}` : "no report email",
  ].join(" · ");

  return (
    <Card withBorder padding="md" component="section" aria-labelledby="review-title">
      <Title order={2} size="h3" id="review-title">
        Review and run
      </Title>
      <Text size="sm" c="dimmed" mb="sm">
        Preview shows what would change without touching {crmName}. Apply makes the changes.
      </Text>
      <Tabs value={tab} onChange={setTab} keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="run" {...(errorAt(error, "/scope", true) ? { color: "red" } : {})}>
            Run
          </Tabs.Tab>
          <Tabs.Tab value="notify" {...(notifyErr ? { color: "red" } : {})}>
            Notify{recipients ? ` (${recipients})` : ""}
          </Tabs.Tab>
          <Tabs.Tab value="when" {...(whenErr ? { color: "red" } : {})}>
            When{when === "automate" ? ": automate" : ""}
          </Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="run" pt="md">
          <Stack gap="sm" maw={640}>
            <div>
              <Text size="sm" fw={500} id="scope-label">
                Records
              </Text>
              <SegmentedControl
                aria-labelledby="scope-label"
                value={scopeKind}
                onChange={(v) => setScopeKind(v as "all" | "ids")}
                data={[
                  { value: "all", label: "All records" },
                  { value: "ids", label: "Selected records" },
                ]}
              />
            </div>
            {scopeKind === "ids" && (
              <Textarea
                label="Record IDs"
                description="Paste the CRM ids, one a line (or separated by commas)"
                autosize
                minRows={3}
                maxRows={10}
                value={idsText}
                onChange={(e) => setIdsText(e.currentTarget.value)}
                error={errorAt(error, "/scope", true) ?? scopeProblem}
              />
            )}
            {when === "automate" && (
              <Text size="sm" c="dimmed">
                A schedule always runs on all records.
              </Text>
            )}
          </Stack>
        </Tabs.Panel>
        <Tabs.Panel value="notify" pt="md">
          <NotifyFields value={notify} onChange={setNotify} error={error} />
        </Tabs.Panel>
        <Tabs.Panel value="when" pt="md">
          <WhenFields
            when={when}
            onWhen={setWhen}
            frequency={frequency}
            onFrequency={setFrequency}
            timezone={timezone}
            onTimezone={setTimezone}
            integrationSet={integrationSet}
            saved={unchanged ? saved?.schedule : undefined}
            error={error}
          />
        </Tabs.Panel>
      </Tabs>

      {notifyErr && tab !== "notify" && (
        <Text c="red" size="sm" mt="sm">
          Notify: {notifyErr}
        </Text>
      )}
      {whenErr && tab !== "when" && (
        <Text c="red" size="sm" mt="sm">
          When: {whenErr}
        </Text>
      )}

      <Group mt="lg" pt="md" justify="space-between" style={{ borderTop: "1px solid var(--mantine-color-gray-3)" }}>
        <Text size="sm" c="dimmed">
          {summary}
        </Text>
        {when === "now" ? (
          <Group gap="sm">
            <Button variant="default" onClick={() => run("preview")} loading={busy === "preview"} disabled={Boolean(busy) || Boolean(scopeProblem)}>
              Preview
            </Button>
            {readOnly ? (
              <Text size="sm" c="dimmed" maw={320}>
                You can preview. Applying needs write access to {moduleTitle}: ask an owner or admin.
              </Text>
            ) : (
              <Button color="red" onClick={() => setConfirmApply(true)} loading={busy === "apply"} disabled={Boolean(busy) || Boolean(scopeProblem)}>
                Apply
              </Button>
            )}
          </Group>
        ) : (
          <Group gap="sm" align="flex-end">
            <Select
              label="Each run"
              w={220}
              allowDeselect={false}
              value={scheduleMode}
              onChange={(m) => m && setScheduleMode(m as Mode)}
              data={[
                { value: "preview", label: "Preview (report only)" },
                { value: "apply", label: "Apply the changes", disabled: readOnly },
              ]}
              error={errorAt(error, "/mode")}
            />
            <Button
              onClick={() => {
                if (!scheduleDraft) return;
                void onSchedule(scheduleDraft, saved?.schedule).then((s) => s && setSaved({ schedule: s, sent: scheduleDraft }));
              }}
              loading={busy === "schedule"}
              disabled={!scheduleDraft || unchanged || Boolean(busy) || Boolean(scheduleBlocked)}
            >
              {saved ? "Update schedule" : "Save schedule"}
            </Button>
          </Group>
        )}
      </Group>
      {when === "automate" && scheduleBlocked && (
        <Text size="sm" c="dimmed" mt="xs" ta="right">
          {scheduleBlocked}
        </Text>
      )}
      {when === "automate" && saved && (
        <Alert color={unchanged ? "green" : "blue"} mt="md" title={unchanged ? "Schedule saved" : "Schedule saved, with changes not saved yet"}>
          {unchanged
            ? `It runs ${saved.schedule.mode === "apply" ? "and applies the changes" : "as a preview (report only)"} on its schedule, as the integration user. To change it, edit it above and press Update schedule. `
            : "Press Update schedule to save your changes to this schedule (no second schedule is made). "}
          Pause, resume or delete it in{" "}
          <Anchor component={Link} to="/settings/schedules" c="inherit" fw={700} underline="always">
            Settings → Schedules
          </Anchor>
          .
        </Alert>
      )}

      <Modal opened={confirmApply} onClose={() => setConfirmApply(false)} title={`Apply in ${crmName}?`} centered>
        <Stack>
          <Text size="sm">
            Apply changes the records in {crmName} {scopeKind === "all" ? "across all records" : `for ${ids.length} selected record${ids.length === 1 ? "" : "s"}`}. Run a Preview first if you have not
            read what it would change.
          </Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setConfirmApply(false)}>
              Cancel
            </Button>
            <Button
              color="red"
              onClick={() => {
                setConfirmApply(false);
                run("apply");
              }}
            >
              Apply now
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Card>
  );
}
