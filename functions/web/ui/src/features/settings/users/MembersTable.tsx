// The team as a table: each member's role, status, last sign-in and access per module.
// Owners and admins edit a row in place and save it (only what changed is sent); an API
// problem shows at the select it names, anything else under the row.
import { Fragment, useState } from "react";
import { ActionIcon, Badge, Button, Group, Menu, NativeSelect, Stack, Table, Text, VisuallyHidden } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api } from "../../../api/client";
import { errorAt, unwrap } from "../../../api/problem";
import { meKey, type Me } from "../../../api/session";
import { MODULES } from "../../../app/modules";
import { needsAlert } from "../problems";
import { ProblemAlert } from "../../../components/ProblemAlert";
import { dayAndTime, when } from "../format";
import { teamKey } from "../queries";
import { notify } from "../notify";
import {
  displayName,
  draftOf,
  memberActions,
  memberPatch,
  ROLE_LABELS,
  STATUS_LABELS,
  type AccessDraft,
  type Member,
  type Permission,
} from "../team";

const ACCESS_SHORT: Record<Permission, string> = { none: "None", read: "Read", write: "Write" };
const ACCESS_COLOR: Record<Permission, string> = { none: "gray", read: "blue", write: "green" };
const STATUS_COLOR = { active: "green", invited: "yellow", removed: "gray" } as const;

export interface MemberDialogs {
  transfer(m: Member): void;
  remove(m: Member): void;
}

export function MembersTable({ members, me, dialogs }: { members: Member[]; me: Me; dialogs: MemberDialogs }) {
  return (
    <Table.ScrollContainer minWidth={1080}>
      <Table verticalSpacing="sm" highlightOnHover={false} aria-label="Team members">
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col">Member</Table.Th>
            <Table.Th scope="col">Role</Table.Th>
            <Table.Th scope="col">Status</Table.Th>
            <Table.Th scope="col">Last sign-in</Table.Th>
            {MODULES.map((m) => (
              <Table.Th scope="col" key={m.id}>
                {m.title}
              </Table.Th>
            ))}
            <Table.Th scope="col">
              <VisuallyHidden>Actions</VisuallyHidden>
            </Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {members.map((m) => (
            <MemberRow key={m.id} member={m} me={me} dialogs={dialogs} />
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function MemberRow({ member: m, me, dialogs }: { member: Member; me: Me; dialogs: MemberDialogs }) {
  const client = useQueryClient();
  const name = displayName(m);
  const actions = memberActions(me, m);
  const [draft, setDraft] = useState<AccessDraft | null>(null);
  const shown = draft ?? draftOf(m);
  const body = draft ? memberPatch(m, draft) : undefined;

  const refresh = async () => {
    await client.invalidateQueries({ queryKey: teamKey });
    if (m.id === me.user.id) await client.invalidateQueries({ queryKey: meKey });
  };
  const save = useMutation({
    mutationFn: () => unwrap(api.PATCH("/team/members/{id}", { params: { path: { id: m.id } }, body: body ?? {} })),
    onSuccess: async () => {
      await refresh();
      setDraft(null);
      notify(`Saved ${name}'s access.`, "green");
    },
  });
  const invitation = m.invitation;
  const resend = useMutation({
    mutationFn: () => unwrap(api.POST("/team/invitations/{id}/resend", { params: { path: { id: invitation?.id ?? "" } } })),
    onSuccess: async () => {
      await refresh();
      notify(`Invitation sent again to ${m.email}.`, "green");
    },
  });
  const cancel = useMutation({
    mutationFn: () => unwrap(api.DELETE("/team/invitations/{id}", { params: { path: { id: invitation?.id ?? "" } } })),
    onSuccess: async () => {
      await refresh();
      notify(`Invitation to ${m.email} cancelled.`);
    },
  });

  const edit = (next: Partial<AccessDraft>) => {
    save.reset();
    setDraft({ ...shown, ...next, permissions: { ...shown.permissions, ...next.permissions } });
  };
  const claimed = (p: string) => p === "/role" || p.startsWith("/permissions/");
  const rowError = save.error ?? resend.error ?? cancel.error;
  const showAlert = save.error ? needsAlert(save.error, claimed) : Boolean(rowError);
  const hasMenu = actions.resendInvitation || actions.cancelInvitation || actions.transferOwnership || actions.remove;
  const isMe = m.id === me.user.id;

  return (
    <Fragment>
      <Table.Tr>
        <Table.Td>
          <Stack gap={0}>
            <Text size="sm" fw={500}>
              {name}
              {isMe ? " (you)" : ""}
            </Text>
            {m.name && (
              <Text size="xs" c="gray.7">
                {m.email}
              </Text>
            )}
          </Stack>
        </Table.Td>
        <Table.Td>
          {actions.editAccess ? (
            <NativeSelect
              size="xs"
              w={88}
              aria-label={`Role of ${name}`}
              value={shown.role}
              data={[
                { value: "admin", label: "Admin" },
                { value: "user", label: "User" },
              ]}
              onChange={(e) => edit({ role: e.currentTarget.value === "admin" ? "admin" : "user" })}
              error={errorAt(save.error, "/role")}
            />
          ) : (
            <Text size="sm">{ROLE_LABELS[m.role]}</Text>
          )}
        </Table.Td>
        <Table.Td>
          <Badge miw="max-content" variant="light" color={STATUS_COLOR[m.status]}>
            {m.status === "invited" && invitation?.expired ? "Invitation expired" : STATUS_LABELS[m.status]}
          </Badge>
          {m.status === "invited" && invitation && (
            <Text size="xs" c="gray.7" mt={2}>
              Sent {when(invitation.sent_at)}
            </Text>
          )}
        </Table.Td>
        <Table.Td style={{ whiteSpace: "nowrap" }}>
          {m.last_login_at ? (
            dayAndTime(m.last_login_at).map((part) => (
              <Text size="sm" key={part}>
                {part}
              </Text>
            ))
          ) : (
            <Text size="sm">Never</Text>
          )}
        </Table.Td>
        {MODULES.map((mod) => (
          <Table.Td key={mod.id}>
            {actions.editAccess ? (
              <NativeSelect
                size="xs"
                w={82}
                aria-label={`${mod.title} access for ${name}`}
                value={shown.permissions[mod.id]}
                data={(["none", "read", "write"] as const).map((p) => ({ value: p, label: ACCESS_SHORT[p] }))}
                onChange={(e) => edit({ permissions: { ...shown.permissions, [mod.id]: e.currentTarget.value as Permission } })}
                error={errorAt(save.error, `/permissions/${mod.id}`)}
              />
            ) : m.status === "removed" ? (
              <Text size="sm" c="gray.7">
                None
              </Text>
            ) : (
              <Badge miw="max-content" variant="light" color={ACCESS_COLOR[m.permissions[mod.id]]}>
                {ACCESS_SHORT[m.permissions[mod.id]]}
              </Badge>
            )}
          </Table.Td>
        ))}
        <Table.Td>
          <Group gap={6} wrap="nowrap" justify="flex-end">
            {hasMenu && (
              <Menu position="bottom-end" withinPortal>
                <Menu.Target>
                  <ActionIcon variant="subtle" color="gray.8" aria-label={`Actions for ${name}`}>
                    <span aria-hidden="true">⋯</span>
                  </ActionIcon>
                </Menu.Target>
                <Menu.Dropdown>
                  {actions.resendInvitation && <Menu.Item onClick={() => resend.mutate()}>Resend invitation</Menu.Item>}
                  {actions.cancelInvitation && <Menu.Item onClick={() => cancel.mutate()}>Cancel invitation</Menu.Item>}
                  {actions.transferOwnership && <Menu.Item onClick={() => dialogs.transfer(m)}>Transfer ownership…</Menu.Item>}
                  {actions.remove && (
                    <Menu.Item color="red.9" onClick={() => dialogs.remove(m)}>
                      Remove from team…
                    </Menu.Item>
                  )}
                </Menu.Dropdown>
              </Menu>
            )}
          </Group>
        </Table.Td>
      </Table.Tr>
      {(body || showAlert) && (
        <Table.Tr>
          <Table.Td colSpan={5 + MODULES.length}>
            <Stack gap="xs">
              {body && (
                <Group gap="sm" justify="flex-end">
                  <Text size="sm">Unsaved changes to {name}&apos;s access</Text>
                  <Button size="xs" onClick={() => save.mutate()} loading={save.isPending}>
                    Save
                  </Button>
                  <Button
                    size="xs"
                    variant="default"
                    onClick={() => {
                      setDraft(null);
                      save.reset();
                    }}
                  >
                    Undo
                  </Button>
                </Group>
              )}
              {showAlert && <ProblemAlert error={rowError} title={`Could not update ${name}`} {...(save.error ? { claimed } : {})} />}
            </Stack>
          </Table.Td>
        </Table.Tr>
      )}
    </Fragment>
  );
}
