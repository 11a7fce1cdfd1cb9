// Editing a schedule: mode, expression (read back in words as it is typed), time zone and
// report recipients. A save first checks nobody else saved meanwhile (the version); if
// someone did, the form shows their version instead of overwriting it.
import { useState } from "react";
import { Alert, Button, Code, Group, Modal, Radio, Select, Stack, TagsInput, Text, TextInput } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api } from "../../../api/client";
import { ApiError, errorAt, unwrap } from "../../../api/problem";
import { can, type Me } from "../../../api/session";
import { needsAlert } from "../problems";
import { ProblemAlert } from "../../../components/ProblemAlert";
import { schedulesKey } from "../queries";
import { scheduleInWords } from "../scheduleWords";
import { changedSince, editOf, scheduleInput, timeZones, type Schedule, type ScheduleEdit } from "../schedules";
import { notify } from "../notify";

export function EditScheduleDialog({ schedule, me, onClose }: { schedule: Schedule | null; me: Me; onClose: () => void }) {
  return (
    <Modal closeButtonProps={{ "aria-label": "Close" }} opened={schedule !== null} onClose={onClose} title={schedule ? `Edit schedule: ${schedule.template_name}` : "Edit schedule"} size="lg">
      {schedule && <EditForm key={schedule.id} initial={schedule} me={me} onClose={onClose} />}
    </Modal>
  );
}

/** Thrown when the stored schedule is newer than the one the form opened. */
class Stale extends Error {
  constructor(readonly current: Schedule) {
    super("changed by someone else");
  }
}

function EditForm({ initial, me, onClose }: { initial: Schedule; me: Me; onClose: () => void }) {
  const client = useQueryClient();
  const [opened, setOpened] = useState(initial);
  const [edit, setEdit] = useState<ScheduleEdit>(() => editOf(initial));
  const [stale, setStale] = useState(false);
  const [zones] = useState(() => timeZones(initial.timezone));
  const mayApply = can(me, opened.module, "write");

  const reload = (current: Schedule) => {
    setOpened(current);
    setEdit(editOf(current));
    setStale(true);
    void client.invalidateQueries({ queryKey: schedulesKey });
  };
  const save = useMutation({
    mutationFn: async () => {
      // The API replaces without a version check of its own (no If-Match on schedules): read first.
      const current = await unwrap(api.GET("/schedules/{id}", { params: { path: { id: opened.id } } }));
      if (changedSince(opened, current)) throw new Stale(current);
      return unwrap(api.PUT("/schedules/{id}", { params: { path: { id: opened.id } }, body: scheduleInput(current, edit) }));
    },
    onSuccess: async () => {
      await client.invalidateQueries({ queryKey: schedulesKey });
      notify(`Saved the schedule of ${opened.template_name}.`, "green");
      onClose();
    },
    onError: async (e) => {
      if (e instanceof Stale) reload(e.current);
      else if (e instanceof ApiError && e.status === 409) {
        reload(await unwrap(api.GET("/schedules/{id}", { params: { path: { id: opened.id } } })));
      }
    },
  });
  const error = save.error instanceof Stale || (save.error instanceof ApiError && save.error.status === 409) ? null : save.error;
  const recipientsError = errorAt(error, "/notify", true);
  const claimed = (p: string) => ["/mode", "/expression", "/timezone"].includes(p) || p.startsWith("/notify");

  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        setStale(false);
        save.mutate();
      }}
    >
      <Stack>
        {stale && (
          <Alert color="orange" title="Someone else changed this schedule" role="alert">
            It was saved by someone else after you opened it. The form now shows the saved version: make your change again and save.
          </Alert>
        )}
        <Radio.Group label="Mode" value={edit.mode} onChange={(v) => setEdit({ ...edit, mode: v === "apply" ? "apply" : "preview" })} error={errorAt(error, "/mode")}>
          <Stack gap={6} mt={6}>
            <Radio value="preview" label="Preview: plan the changes and report them; nothing changes in the CRM" />
            <Radio
              value="apply"
              disabled={!mayApply}
              label="Apply: make the changes in the CRM"
              description={mayApply ? undefined : "Needs write access to this module."}
            />
          </Stack>
        </Radio.Group>
        <TextInput
          label="Expression"
          description={
            <>
              For example <Code>rate(1 day)</Code> or <Code>cron(0 9 ? * MON-FRI *)</Code> (minute, hour, day of month, month, day of week, year).
            </>
          }
          value={edit.expression}
          onChange={(e) => setEdit({ ...edit, expression: e.currentTarget.value })}
          error={errorAt(error, "/expression")}
          required
        />
        <Text size="sm" aria-live="polite">
          Runs: <strong>{scheduleInWords(edit.expression, edit.timezone)}</strong>
        </Text>
        <Select
          label="Time zone"
          description="The clock a cron expression is read in."
          searchable
          data={zones}
          value={edit.timezone}
          onChange={(v) => v && setEdit({ ...edit, timezone: v })}
          error={errorAt(error, "/timezone")}
          allowDeselect={false}
          maxDropdownHeight={240}
        />
        <TagsInput
          label="Report recipients"
          description="Each run's report (with its CSV) is emailed to these addresses. Press Enter after each one; none means no email."
          value={edit.recipients}
          onChange={(recipients) => setEdit({ ...edit, recipients })}
          splitChars={[",", " ", ";"]}
          error={recipientsError}
          clearable
        />
        {needsAlert(error, claimed) && <ProblemAlert error={error} title="The schedule was not saved" claimed={claimed} />}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" loading={save.isPending}>
            Save schedule
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
