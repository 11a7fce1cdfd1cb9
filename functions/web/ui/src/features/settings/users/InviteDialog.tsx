// Invite Team: pick a colleague from the CRM's own user list, give them a role and access
// per module, and Steward emails them a welcome with a link to sign in.
import { useState } from "react";
import { Alert, Button, Group, Loader, Modal, NativeSelect, Radio, ScrollArea, SimpleGrid, Stack, Text, TextInput } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api } from "../../../api/client";
import { errorAt, unwrap } from "../../../api/problem";
import type { Me } from "../../../api/session";
import { MODULES } from "../../../app/modules";
import { needsAlert } from "../problems";
import { ProblemAlert } from "../../../components/ProblemAlert";
import { CRM_TITLE } from "../IntegrationCard";
import { useCrmUsers, teamKey } from "../queries";
import { invitable, inviteRequest, NO_ACCESS, PERMISSION_LABELS, type InvitedRole, type Member, type Permission, type Permissions } from "../team";
import { notify } from "../notify";

export function InviteDialog({ opened, onClose, members, me }: { opened: boolean; onClose: () => void; members: Member[]; me: Me }) {
  return (
    <Modal closeButtonProps={{ "aria-label": "Close" }} opened={opened} onClose={onClose} title="Invite a colleague" size="lg">
      {/* Mounted only while open: each invitation starts from a clean form. */}
      {opened && <InviteForm onClose={onClose} members={members} me={me} />}
    </Modal>
  );
}

function InviteForm({ onClose, members, me }: { onClose: () => void; members: Member[]; me: Me }) {
  const client = useQueryClient();
  const crmUsers = useCrmUsers(true);
  const [query, setQuery] = useState("");
  const [userId, setUserId] = useState<string | null>(null);
  const [role, setRole] = useState<InvitedRole>("user");
  const [permissions, setPermissions] = useState<Permissions>({ ...NO_ACCESS });
  const crm = CRM_TITLE[me.account.crm];

  const candidates = invitable(crmUsers.data ?? [], members, query);
  const chosen = (crmUsers.data ?? []).find((u) => u.id === userId);
  const invite = useMutation({
    mutationFn: () => unwrap(api.POST("/team/invitations", { body: inviteRequest(userId ?? "", role, permissions) })),
    onSuccess: async (m) => {
      await client.invalidateQueries({ queryKey: teamKey });
      notify(`Invitation sent to ${m.email}.`, "green");
      onClose();
    },
  });
  const claimed = (p: string) => p === "/user_id" || p === "/role" || p.startsWith("/permissions/");

  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        invite.mutate();
      }}
    >
      <Stack>
        <Text size="sm">
          Choose someone from your {crm} users. Steward emails them a welcome message with a link to sign in with {crm}; they appear here as
          invited until they do.
        </Text>
        <TextInput label={`Search ${crm} users`} placeholder="Name or email" value={query} onChange={(e) => setQuery(e.currentTarget.value)} />
        {crmUsers.isPending ? (
          <Loader size="sm" aria-label={`Loading ${crm} users`} />
        ) : crmUsers.error ? (
          <ProblemAlert error={crmUsers.error} title={`Steward could not read your ${crm} users`} />
        ) : (
          <Radio.Group
            label={`${crm} user`}
            value={userId}
            onChange={setUserId}
            error={errorAt(invite.error, "/user_id")}
            withAsterisk
          >
            <ScrollArea.Autosize mah={220} type="auto" mt={6}>
              <Stack gap={6} pr="sm">
                {candidates.length === 0 ? (
                  <Text size="sm">
                    {query ? `No ${crm} user matches “${query}” who is not on the team yet.` : `Everyone in your ${crm} is already on the team.`}
                  </Text>
                ) : (
                  candidates.map((u) => <Radio key={u.id} value={u.id} label={u.name ? `${u.name} — ${u.email}` : u.email} />)
                )}
              </Stack>
            </ScrollArea.Autosize>
          </Radio.Group>
        )}
        <NativeSelect
          label="Role"
          description="Admins also manage the team, invitations and the integration user."
          value={role}
          data={[
            { value: "user", label: "User" },
            { value: "admin", label: "Admin" },
          ]}
          onChange={(e) => setRole(e.currentTarget.value === "admin" ? "admin" : "user")}
          error={errorAt(invite.error, "/role")}
        />
        <div>
          <Text size="sm" fw={500}>
            Access per module
          </Text>
          <Text size="xs" c="gray.7" mb={6}>
            Read: see templates and preview. Write: also apply changes to {crm}. Modules with no access are hidden from them.
          </Text>
          <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="sm">
            {MODULES.map((m) => (
              <NativeSelect
                key={m.id}
                label={m.title}
                value={permissions[m.id]}
                data={(["none", "read", "write"] as const).map((p) => ({ value: p, label: PERMISSION_LABELS[p] }))}
                onChange={(e) => setPermissions({ ...permissions, [m.id]: e.currentTarget.value as Permission })}
                error={errorAt(invite.error, `/permissions/${m.id}`)}
              />
            ))}
          </SimpleGrid>
        </div>
        {chosen && (
          <Alert color="blue" variant="light">
            {chosen.name ?? chosen.email} will get a welcome email at {chosen.email}.
          </Alert>
        )}
        {needsAlert(invite.error, claimed) && <ProblemAlert error={invite.error} title="The invitation was not sent" claimed={claimed} />}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" loading={invite.isPending} disabled={!userId}>
            Send invitation
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
