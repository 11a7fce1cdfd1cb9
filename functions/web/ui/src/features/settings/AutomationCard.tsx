// Settings → CRM account → CRM automation: whether Salesforce Flows or HubSpot workflows
// may start recipes, what the CRM side needs (endpoint, account header, the signing secret
// shown once after activation or rotation), and the Owner's switches. Admins read it.
import { useState } from "react";
import { Alert, Badge, Button, Group, Modal, NumberInput, Paper, SimpleGrid, Stack, Text, Title } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../../api/client";
import { errorAt, unwrap } from "../../api/problem";
import type { components } from "../../api/schema";
import type { Me } from "../../api/session";
import { CopyValue } from "../../components/CopyValue";
import { ProblemAlert } from "../../components/ProblemAlert";
import { when } from "./format";
import { notify } from "./notify";

type Automation = components["schemas"]["AutomationView"];
type Activated = components["schemas"]["Activated"];

const automationKey = ["account", "automation"] as const;

export function AutomationCard({ me, ownerEmail }: { me: Me; ownerEmail: string | undefined }) {
  const hubspot = me.account.crm === "hubspot";
  const caller = hubspot ? "HubSpot workflows" : "Salesforce Flows";
  const manager = me.role === "owner" || me.role === "admin";
  const automation = useQuery({ queryKey: automationKey, enabled: manager, queryFn: () => unwrap(api.GET("/account/automation")) });
  const [secret, setSecret] = useState<Activated | null>(null);

  return (
    <Paper withBorder p="md" radius="md" component="section" aria-labelledby="automation-title">
      <Group justify="space-between" mb={4}>
        <Title order={3} size="h4" id="automation-title">
          CRM automation (Flows / workflows)
        </Title>
        {automation.data && (
          <Badge variant="light" color={automation.data.active ? "green" : "gray"} size="lg">
            {automation.data.active ? "Active" : "Off"}
          </Badge>
        )}
      </Group>
      <Text size="sm" mb="sm" maw={820}>
        Lets {caller} start Steward recipes on the records they hand over — for example, tidy every new lead as it arrives. Calls for the same recipe that
        arrive close together join one recipe run. See Recipes in the docs for the {hubspot ? "workflow action" : "Flow and Named Credential"} set-up.
      </Text>
      {!manager ? (
        <Text size="sm" c="gray.7">
          Only owners and admins see these settings{ownerEmail ? `; ask ${ownerEmail}` : ""}.
        </Text>
      ) : automation.isPending ? (
        <Text size="sm">Loading…</Text>
      ) : automation.error ? (
        <ProblemAlert error={automation.error} title="Steward could not load the CRM automation settings" />
      ) : (
        <Stack gap="md">
          {secret && <SigningSecret activated={secret} hubspot={hubspot} onDone={() => setSecret(null)} />}
          <Settings automation={automation.data} hubspot={hubspot} owner={me.role === "owner"} />
          {me.role === "owner" ? (
            <OwnerActions automation={automation.data} onSecret={setSecret} />
          ) : (
            <Text size="sm" c="gray.7">
              Only the owner{ownerEmail ? ` (${ownerEmail})` : ""} can activate, rotate or deactivate CRM automation.
            </Text>
          )}
        </Stack>
      )}
    </Paper>
  );
}

function Settings({ automation: a, hubspot, owner }: { automation: Automation; hubspot: boolean; owner: boolean }) {
  // When the card opened: enough to tell whether the previous secret still signs.
  const [opened] = useState(() => Date.now());
  return (
    <Stack gap="sm">
      {a.active && (
        <Text size="sm">
          Activated by {a.activated_by_email ?? "the owner"} on {when(a.activated_at)}
          {a.rotated_at ? `; signing secret last rotated ${when(a.rotated_at)}` : ""}.
        </Text>
      )}
      {a.previous_valid_until && new Date(a.previous_valid_until).getTime() > opened && (
        <Alert color="blue" variant="light" title="The previous signing secret still works for a while" role="status">
          Calls signed with the secret before the rotation are accepted until {when(a.previous_valid_until)}: update the CRM side before then.
        </Alert>
      )}
      {hubspot ? (
        <Text size="sm">
          In HubSpot, open a workflow and add the action <strong>Steward: Run recipe</strong>, then pick the recipe. HubSpot signs its calls with Steward&apos;s app
          secret, so it needs no signing secret from here; activation is what lets its calls run.
          {!a.hubspot_action_url && " The action is not registered on this Steward yet: whoever runs Steward registers it once (steward hubspot register-action)."}
        </Text>
      ) : (
        <Text size="sm">
          In Salesforce, a Flow calls the endpoint below (with the recipe&apos;s ID from the Recipes screen) through a Named Credential whose External Credential holds
          the signing secret and sends the account header.
        </Text>
      )}
      <SimpleGrid cols={{ base: 1, md: 2 }} spacing="sm">
        <CopyValue label="Endpoint" value={a.endpoint} what="endpoint" />
        <CopyValue label="Account header (X-Steward-Account)" value={a.account_header} what="account header" />
        {hubspot && a.hubspot_action_url && <CopyValue label="Workflow action URL" value={a.hubspot_action_url} what="workflow action URL" />}
      </SimpleGrid>
      {/* Off, the owner sets these in the activation form below. */}
      {(a.active || !owner) && (
        <Group gap="xl">
          <Text size="sm">
            <strong>Gathering window:</strong> {a.window_seconds} s (calls for one recipe within it join one recipe run)
          </Text>
          <Text size="sm">
            <strong>API allowance kept for other tools:</strong> {a.reserve_percent}%
          </Text>
        </Group>
      )}
    </Stack>
  );
}

function SigningSecret({ activated, hubspot, onDone }: { activated: Activated; hubspot: boolean; onDone: () => void }) {
  return (
    <Alert color="orange" variant="light" title="Copy the signing secret now" role="alert">
      <Stack gap="xs">
        <Text size="sm">
          You will not see it again.{" "}
          {hubspot
            ? "HubSpot does not need it (it signs with Steward's app secret); keep it only if another caller signs its own calls."
            : "Paste it into the External Credential's SigningSecret in Salesforce."}
        </Text>
        <CopyValue value={activated.signing_secret} what="signing secret" />
        <Group>
          <Button size="xs" variant="default" onClick={onDone}>
            I have copied it
          </Button>
        </Group>
      </Stack>
    </Alert>
  );
}

function OwnerActions({ automation: a, onSecret }: { automation: Automation; onSecret: (a: Activated) => void }) {
  const client = useQueryClient();
  const [windowSeconds, setWindowSeconds] = useState<number | string>(a.window_seconds || 10);
  const [reservePercent, setReservePercent] = useState<number | string>(a.reserve_percent);
  const [confirm, setConfirm] = useState<"rotate" | "deactivate" | null>(null);
  const done = async (answer: Activated | Automation) => {
    client.setQueryData(automationKey, "automation" in answer ? answer.automation : answer);
    await client.invalidateQueries({ queryKey: automationKey });
  };
  const activate = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/account/automation/activate", {
          body: { window_seconds: windowSeconds === "" ? null : Number(windowSeconds), reserve_percent: reservePercent === "" ? null : Number(reservePercent) },
        }),
      ),
    onSuccess: async (answer) => {
      onSecret(answer);
      await done(answer);
    },
  });
  const rotate = useMutation({
    mutationFn: () => unwrap(api.POST("/account/automation/rotate")),
    onSuccess: async (answer) => {
      onSecret(answer);
      setConfirm(null);
      await done(answer);
    },
  });
  const deactivate = useMutation({
    mutationFn: () => unwrap(api.POST("/account/automation/deactivate")),
    onSuccess: async (answer) => {
      setConfirm(null);
      notify("CRM automation is off: calls from the CRM are refused.");
      await done(answer);
    },
  });

  if (!a.active) {
    return (
      <form
        onSubmit={(e) => {
          e.preventDefault();
          activate.mutate();
        }}
      >
        <Stack gap="sm">
          <Group align="flex-start" grow maw={620}>
            <NumberInput
              label="Gathering window (seconds)"
              description="Calls for one recipe within it join one run (1–300)."
              min={1}
              max={300}
              value={windowSeconds}
              onChange={setWindowSeconds}
              error={errorAt(activate.error, "/window_seconds")}
            />
            <NumberInput
              label="API allowance kept for other tools (%)"
              description="Recipe runs leave this share of the CRM's daily API calls (0–90)."
              min={0}
              max={90}
              value={reservePercent}
              onChange={setReservePercent}
              error={errorAt(activate.error, "/reserve_percent")}
            />
          </Group>
          <ProblemAlert error={activate.error} title="CRM automation was not activated" claimed={(p) => p === "/window_seconds" || p === "/reserve_percent"} />
          <Group>
            <Button type="submit" loading={activate.isPending}>
              Activate CRM automation
            </Button>
          </Group>
        </Stack>
      </form>
    );
  }
  return (
    <>
      <Group>
        <Button variant="default" onClick={() => setConfirm("rotate")}>
          Rotate signing secret…
        </Button>
        <Button variant="light" color="red" onClick={() => setConfirm("deactivate")}>
          Deactivate…
        </Button>
      </Group>
      <Modal opened={confirm === "rotate"} onClose={() => setConfirm(null)} title="Rotate the signing secret?">
        <Stack>
          <Text size="sm">
            Steward makes a new signing secret and shows it once. The current one keeps working for an hour, so the CRM side can be updated without refused calls.
          </Text>
          <ProblemAlert error={rotate.error} title="The secret was not rotated" />
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setConfirm(null)}>
              Cancel
            </Button>
            <Button onClick={() => rotate.mutate()} loading={rotate.isPending}>
              Rotate now
            </Button>
          </Group>
        </Stack>
      </Modal>
      <Modal opened={confirm === "deactivate"} onClose={() => setConfirm(null)} title="Deactivate CRM automation?">
        <Stack>
          <Text size="sm">
            Calls from Flows and workflows are refused from now on; recipe runs already started go on. Activating again makes a new signing secret.
          </Text>
          <ProblemAlert error={deactivate.error} title="CRM automation was not deactivated" />
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setConfirm(null)}>
              Keep it on
            </Button>
            <Button color="red" onClick={() => deactivate.mutate()} loading={deactivate.isPending}>
              Deactivate
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
