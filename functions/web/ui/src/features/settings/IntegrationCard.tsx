// The integration user: the CRM user Steward acts as when a schedule fires, so automations
// keep running whoever made them. Its status, and (owners and admins) how to connect it:
// an OAuth round trip through the CRM, or a member's existing connection.
import { useState } from "react";
import { Alert, Anchor, Badge, Button, Group, Modal, NativeSelect, Paper, Stack, Text, Title } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Link } from "react-router";
import { api } from "../../api/client";
import { errorAt, unwrap } from "../../api/problem";
import { meKey, type Me } from "../../api/session";
import type { components } from "../../api/schema";
import { ProblemAlert } from "../../components/ProblemAlert";
import { when } from "./format";
import { teamKey } from "./queries";
import { displayName, integrationLoginLabel, isManager, type Member } from "./team";
import { notify } from "./notify";

type Integration = components["schemas"]["IntegrationView"];

export const CRM_TITLE = { hubspot: "HubSpot", salesforce: "Salesforce", csv: "CSV" } as const;

/** Where the browser goes to connect one: the CRM's consent page, then back to Steward. */
export function integrationLoginUrl(crm: Me["account"]["crm"]): string | undefined {
  return crm === "csv" ? undefined : `/auth/${crm}/login?purpose=integration`;
}

export function IntegrationStatus({ integration }: { integration: Integration }) {
  if (!integration.set) {
    return (
      <Group gap="xs">
        <Badge miw="max-content" color="orange" variant="light">
          Not set
        </Badge>
        <Text size="sm">Scheduled runs are skipped, and Flows' and workflows' recipe calls refused, until an integration user is connected.</Text>
      </Group>
    );
  }
  const failing = integration.healthy === false;
  return (
    <Stack gap={4}>
      <Group gap="xs">
        <Badge miw="max-content" color={failing ? "red" : "green"} variant="light">
          {failing ? "Connection failing" : "Connected"}
        </Badge>
        <Text size="sm">
          as <strong>{integration.email ?? "an unnamed CRM user"}</strong>
          {integration.checked_at ? `, last checked ${when(integration.checked_at)}` : ""}
        </Text>
      </Group>
      {failing && integration.problem && (
        <Text size="sm" c="red.9">
          {integration.problem}
        </Text>
      )}
    </Stack>
  );
}

/** The full section on the Users page; `compact` (the CRM account page) links there instead of offering the actions. */
export function IntegrationCard({ integration, me, members, compact = false }: { integration: Integration; me: Me; members: Member[]; compact?: boolean }) {
  const crm = CRM_TITLE[me.account.crm];
  const manager = isManager(me);
  const loginUrl = integrationLoginUrl(me.account.crm);
  return (
    <Paper withBorder p="md" radius="md" component="section" aria-labelledby="integration-title">
      <Stack gap="sm">
        <Title order={3} size="h4" id="integration-title">
          Integration user
        </Title>
        <Text size="sm">
          Schedules and recipes started by {crm} automation run as this {crm} user, not as the person who made them, so they keep working
          when someone leaves. A dedicated service
          user in {crm} is best.
        </Text>
        <IntegrationStatus integration={integration} />
        {compact ? (
          <Text size="sm">
            {manager ? "Connect or change it in " : "Owners and admins manage it in "}
            <Anchor component={Link} to="/settings/users">
              Settings → Users
            </Anchor>
            .
          </Text>
        ) : manager ? (
          <IntegrationActions integration={integration} members={members} crm={crm} loginUrl={loginUrl} />
        ) : (
          <Text size="sm">Only owners and admins can connect or change it.</Text>
        )}
      </Stack>
    </Paper>
  );
}

function IntegrationActions({ integration, members, crm, loginUrl }: { integration: Integration; members: Member[]; crm: string; loginUrl: string | undefined }) {
  const client = useQueryClient();
  const active = members.filter((m) => m.status === "active");
  const [userId, setUserId] = useState("");
  const [confirmClear, setConfirmClear] = useState(false);
  const refresh = () => Promise.all([client.invalidateQueries({ queryKey: teamKey }), client.invalidateQueries({ queryKey: meKey })]);
  const use = useMutation({
    mutationFn: () => unwrap(api.PUT("/team/integration", { body: { user_id: userId } })),
    onSuccess: async (view) => {
      await refresh();
      setUserId("");
      notify(`The integration user is now ${view.email ?? "set"}.`, "green");
    },
  });
  const clear = useMutation({
    mutationFn: () => unwrap(api.DELETE("/team/integration")),
    onSuccess: async () => {
      await refresh();
      setConfirmClear(false);
      notify("The integration user was disconnected.");
    },
  });
  return (
    <Stack gap="sm">
      {loginUrl && (
        <Group gap="sm" align="center">
          <Button component="a" href={loginUrl}>
            {integrationLoginLabel(integration, crm)}
          </Button>
          <Text size="xs" c="gray.7" maw={520}>
            Opens {crm}&apos;s sign-in: sign in there as the user Steward should act as, then allow access. You come back here.
          </Text>
        </Group>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          use.mutate();
        }}
      >
        <Group align="flex-end" gap="sm">
          <NativeSelect
            label="Or use a member's connection"
            description="Someone on the team who has signed in, e.g. a service user you invited."
            value={userId}
            onChange={(e) => setUserId(e.currentTarget.value)}
            data={[{ value: "", label: "Choose a member" }, ...active.map((m) => ({ value: m.id, label: `${displayName(m)} (${m.email})` }))]}
            error={errorAt(use.error, "/user_id")}
            w={360}
          />
          <Button type="submit" variant="default" disabled={!userId} loading={use.isPending}>
            Use this member
          </Button>
          {integration.set && (
            <Button variant="light" color="red" onClick={() => setConfirmClear(true)}>
              Disconnect
            </Button>
          )}
        </Group>
      </form>
      <ProblemAlert error={use.error} title="The integration user was not changed" claimed={(p) => p === "/user_id"} />
      <Modal closeButtonProps={{ "aria-label": "Close" }} opened={confirmClear} onClose={() => setConfirmClear(false)} title="Disconnect the integration user?">
        <Stack>
          <Text size="sm">
            Steward forgets the connection of {integration.email ?? "the integration user"}. Every schedule is skipped (its last fire says
            why) until you connect one again.
          </Text>
          <ProblemAlert error={clear.error} title="Not disconnected" />
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setConfirmClear(false)}>
              Cancel
            </Button>
            <Button color="red" onClick={() => clear.mutate()} loading={clear.isPending}>
              Disconnect
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}

export function ConnectedNotice({ onClose }: { onClose: () => void }) {
  return (
    <Alert color="green" title="Integration user connected" withCloseButton closeButtonLabel="Dismiss" onClose={onClose}>
      Scheduled runs now act as this user in the CRM.
    </Alert>
  );
}
