// Settings → Users: who is on the team, their role and access per module (editable by
// owners and admins), invitations from the CRM's user list, ownership transfer, removal,
// and the integration user that keeps schedules running.
import { useState } from "react";
import { Alert, Button, Center, Group, Loader, Stack, Text, Title } from "@mantine/core";
import { useSearchParams } from "react-router";
import { useMe } from "../../api/session";
import { ProblemAlert } from "../../components/ProblemAlert";
import { ConnectedNotice, CRM_TITLE, IntegrationCard } from "./IntegrationCard";
import { useTeam } from "./queries";
import { isManager, sortMembers, type Member } from "./team";
import { RemoveDialog, TransferDialog } from "./users/ConfirmDialogs";
import { InviteDialog } from "./users/InviteDialog";
import { MembersTable } from "./users/MembersTable";

export default function UsersPage() {
  const { data: me } = useMe();
  const team = useTeam();
  const [params, setParams] = useSearchParams();
  const [inviting, setInviting] = useState(false);
  const [transferTo, setTransferTo] = useState<Member | null>(null);
  const [removing, setRemoving] = useState<Member | null>(null);

  if (!me) return null;
  const manager = isManager(me);
  const crm = CRM_TITLE[me.account.crm];
  const connected = params.get("integration") === "connected";

  return (
    <Stack gap="lg">
      <Group justify="space-between" align="flex-start">
        <div>
          <Title order={2}>Users</Title>
          <Text size="sm" c="gray.7">
            Who can use Steward on this {crm} account, and what they may do in each module.
          </Text>
        </div>
        {manager && (
          <Button onClick={() => setInviting(true)} disabled={!team.data}>
            Invite Team
          </Button>
        )}
      </Group>
      {connected && (
        <ConnectedNotice
          onClose={() => {
            params.delete("integration");
            setParams(params, { replace: true });
          }}
        />
      )}
      {team.isPending ? (
        <Center h={160}>
          <Loader aria-label="Loading the team" />
        </Center>
      ) : team.error ? (
        <ProblemAlert error={team.error} title="Steward could not load the team" />
      ) : (
        <>
          {!manager && (
            <Alert color="gray" variant="light">
              You can see the team; only owners and admins can change it.
            </Alert>
          )}
          <MembersTable members={sortMembers(team.data.members)} me={me} dialogs={{ transfer: setTransferTo, remove: setRemoving }} />
          <Text size="xs" c="gray.7">
            Read: see templates, preview and download results. Write: also apply changes to {crm}. The owner may do everything.
          </Text>
          <IntegrationCard integration={team.data.integration} me={me} members={team.data.members} />
          <InviteDialog opened={inviting} onClose={() => setInviting(false)} members={team.data.members} me={me} />
          <TransferDialog member={transferTo} onClose={() => setTransferTo(null)} />
          <RemoveDialog member={removing} onClose={() => setRemoving(null)} />
        </>
      )}
    </Stack>
  );
}
