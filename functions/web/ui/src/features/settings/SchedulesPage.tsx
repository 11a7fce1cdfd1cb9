// Settings → Schedules: every schedule of the modules you can read, when it runs (in words),
// its next run and what its last one did (a run, or a skip and why); pause, resume, edit,
// delete. Schedules are made on a module page (Review → When → Automate).
import { useState } from "react";
import { Alert, Anchor, Badge, Button, Center, Code, Group, List, Loader, Modal, Paper, Stack, Table, Text, Title } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Link } from "react-router";
import { api } from "../../api/client";
import { unwrap } from "../../api/problem";
import { can, useMe, type Me } from "../../api/session";
import { MODULES, moduleInfo } from "../../app/modules";
import { ProblemAlert } from "../../components/ProblemAlert";
import { fromNow, when, whenInZone } from "./format";
import { schedulesKey, useSchedules } from "./queries";
import { EditScheduleDialog } from "./schedules/EditScheduleDialog";
import { scheduleInWords } from "./scheduleWords";
import { canChangeSchedule, type Schedule } from "./schedules";
import { notify } from "./notify";

export default function SchedulesPage() {
  const { data: me } = useMe();
  const schedules = useSchedules();
  const [editing, setEditing] = useState<Schedule | null>(null);
  const [deleting, setDeleting] = useState<Schedule | null>(null);
  if (!me) return null;
  const all = schedules.data?.pages.flatMap((p) => p.schedules) ?? [];

  return (
    <Stack gap="lg">
      <div>
        <Title order={2}>Schedules</Title>
        <Text size="sm" c="gray.7">
          Templates that run on their own. Each run appears in the Activity Tracker and, when it has recipients, is emailed as a report.
        </Text>
      </div>
      {!me.account.integration_set && (
        <Alert color="orange" title="No integration user" role="status">
          Every schedule is skipped until an integration user is connected: schedules act in the CRM as that user.{" "}
          {me.role === "user" ? "Ask an owner or admin to connect one in " : "Connect one in "}
          <Anchor component={Link} to="/settings/users" c="inherit" underline="always" fw={500}>
            Settings → Users
          </Anchor>
          .
        </Alert>
      )}
      {schedules.isPending ? (
        <Center h={160}>
          <Loader aria-label="Loading schedules" />
        </Center>
      ) : schedules.error ? (
        <ProblemAlert error={schedules.error} title="Steward could not load the schedules" />
      ) : all.length === 0 ? (
        <NoSchedules me={me} />
      ) : (
        <>
          <SchedulesTable schedules={all} me={me} onEdit={setEditing} onDelete={setDeleting} />
          {schedules.hasNextPage && (
            <Group justify="center">
              <Button variant="default" onClick={() => void schedules.fetchNextPage()} loading={schedules.isFetchingNextPage}>
                Show more schedules
              </Button>
            </Group>
          )}
        </>
      )}
      <EditScheduleDialog schedule={editing} me={me} onClose={() => setEditing(null)} />
      <DeleteDialog schedule={deleting} onClose={() => setDeleting(null)} />
    </Stack>
  );
}

function NoSchedules({ me }: { me: Me }) {
  const mine = MODULES.filter((m) => can(me, m.id, "read"));
  return (
    <Paper withBorder p="lg" radius="md">
      <Stack gap="xs">
        <Title order={3} size="h4">
          No schedules yet
        </Title>
        <Text size="sm">
          Schedules are made on a module&apos;s page: open or save a template, then in Review choose <strong>When → Automate</strong> and pick how
          often it runs. It then shows up here.
        </Text>
        {mine.length > 0 && (
          <List size="sm">
            {mine.map((m) => (
              <List.Item key={m.id}>
                <Anchor component={Link} to={`/modules/${m.id}`}>
                  {m.title}
                </Anchor>
              </List.Item>
            ))}
          </List>
        )}
      </Stack>
    </Paper>
  );
}

function SchedulesTable({ schedules, me, onEdit, onDelete }: { schedules: Schedule[]; me: Me; onEdit: (s: Schedule) => void; onDelete: (s: Schedule) => void }) {
  return (
    <Table.ScrollContainer minWidth={1000}>
      <Table verticalSpacing="sm" aria-label="Schedules">
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col">Template</Table.Th>
            <Table.Th scope="col">Mode</Table.Th>
            <Table.Th scope="col">Runs</Table.Th>
            <Table.Th scope="col">Next run</Table.Th>
            <Table.Th scope="col">Last run</Table.Th>
            <Table.Th scope="col">Status</Table.Th>
            <Table.Th scope="col">Actions</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {schedules.map((s) => (
            <ScheduleRow key={s.id} schedule={s} me={me} onEdit={onEdit} onDelete={onDelete} />
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function ScheduleRow({ schedule: s, me, onEdit, onDelete }: { schedule: Schedule; me: Me; onEdit: (s: Schedule) => void; onDelete: (s: Schedule) => void }) {
  const client = useQueryClient();
  const mayChange = canChangeSchedule(me, s);
  const toggle = useMutation({
    mutationFn: () => unwrap(api.POST(s.paused ? "/schedules/{id}/resume" : "/schedules/{id}/pause", { params: { path: { id: s.id } } })),
    onSuccess: async (next) => {
      await client.invalidateQueries({ queryKey: schedulesKey });
      notify(`${next.template_name} is ${next.paused ? "paused" : "running on schedule again"}.`);
    },
  });
  const next = s.next[0];
  return (
    <>
      <Table.Tr>
        <Table.Td>
          <Anchor component={Link} to={`/modules/${s.module}?template=${encodeURIComponent(s.template_id)}`} fw={500}>
            {s.template_name}
          </Anchor>
          <Text size="xs" c="gray.7">
            {moduleInfo(s.module)?.title ?? s.module} · by {s.created_by_email}
          </Text>
        </Table.Td>
        <Table.Td>
          <Badge miw="max-content" variant="light" color={s.mode === "apply" ? "red" : "blue"}>
            {s.mode === "apply" ? "Apply" : "Preview"}
          </Badge>
        </Table.Td>
        <Table.Td>
          <Text size="sm">{scheduleInWords(s.expression, s.timezone)}</Text>
          <Code fz="xs">{s.expression}</Code>
          {s.notify && s.notify.recipients.length > 0 && (
            <Text size="xs" c="gray.7">
              Report to {s.notify.recipients.join(", ")}
            </Text>
          )}
        </Table.Td>
        <Table.Td>
          {s.paused ? (
            <Text size="sm">None while paused</Text>
          ) : next ? (
            <>
              <Text size="sm">{whenInZone(next)}</Text>
              <Text size="xs" c="gray.7">
                {fromNow(next)}
              </Text>
            </>
          ) : (
            <Text size="sm">None</Text>
          )}
        </Table.Td>
        <Table.Td>
          <LastRun schedule={s} />
        </Table.Td>
        <Table.Td>
          <Badge miw="max-content" variant="light" color={s.paused ? "gray" : "green"}>
            {s.paused ? "Paused" : "Active"}
          </Badge>
        </Table.Td>
        <Table.Td>
          {mayChange ? (
            <Group gap={6} wrap="nowrap">
              <Button size="xs" variant="default" onClick={() => toggle.mutate()} loading={toggle.isPending} aria-label={`${s.paused ? "Resume" : "Pause"} ${s.template_name}`}>
                {s.paused ? "Resume" : "Pause"}
              </Button>
              <Button size="xs" variant="default" onClick={() => onEdit(s)} aria-label={`Edit ${s.template_name}`}>
                Edit
              </Button>
              <Button size="xs" variant="light" color="red" onClick={() => onDelete(s)} aria-label={`Delete ${s.template_name}`}>
                Delete
              </Button>
            </Group>
          ) : (
            <Text size="xs" c="gray.7">
              Needs {s.mode === "apply" ? "write" : "read"} access to {moduleInfo(s.module)?.title ?? s.module}
            </Text>
          )}
        </Table.Td>
      </Table.Tr>
      {toggle.error && (
        <Table.Tr>
          <Table.Td colSpan={7}>
            <ProblemAlert error={toggle.error} title={`${s.template_name} was not ${s.paused ? "resumed" : "paused"}`} />
          </Table.Td>
        </Table.Tr>
      )}
    </>
  );
}

function LastRun({ schedule: s }: { schedule: Schedule }) {
  const last = s.last_fire;
  if (!last) return <Text size="sm">Not run yet</Text>;
  if (last.skipped) {
    return (
      <Stack gap={2}>
        <Group gap={6}>
          <Badge miw="max-content" variant="light" color="orange">
            Skipped
          </Badge>
          <Text size="xs" c="gray.7">
            {when(last.scheduled_time)}
          </Text>
        </Group>
        <Text size="xs">{last.skipped}</Text>
      </Stack>
    );
  }
  return (
    <Stack gap={2}>
      <Text size="sm">{when(last.scheduled_time)}</Text>
      {last.run_id && (
        <Anchor component={Link} to={`/activity/${encodeURIComponent(last.run_id)}`} size="xs">
          Open run {last.run_id}
        </Anchor>
      )}
    </Stack>
  );
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

function DeleteDialog({ schedule, onClose }: { schedule: Schedule | null; onClose: () => void }) {
  const client = useQueryClient();
  const remove = useMutation({
    mutationFn: (s: Schedule) => unwrap(api.DELETE("/schedules/{id}", { params: { path: { id: s.id } } })),
    onSuccess: async (_, s) => {
      await client.invalidateQueries({ queryKey: schedulesKey });
      notify(`The schedule of ${s.template_name} was deleted.`);
      onClose();
    },
  });
  const close = () => {
    remove.reset();
    onClose();
  };
  return (
    <Modal closeButtonProps={{ "aria-label": "Close" }} opened={schedule !== null} onClose={close} title="Delete this schedule?">
      {schedule && (
        <Stack>
          <Text size="sm">
            <strong>{schedule.template_name}</strong> stops running ({lowerFirst(scheduleInWords(schedule.expression, schedule.timezone))}). The
            template itself and its past runs stay; you can schedule it again from its module page.
          </Text>
          <ProblemAlert error={remove.error} title="The schedule was not deleted" />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button color="red" onClick={() => remove.mutate(schedule)} loading={remove.isPending}>
              Delete schedule
            </Button>
          </Group>
        </Stack>
      )}
    </Modal>
  );
}
