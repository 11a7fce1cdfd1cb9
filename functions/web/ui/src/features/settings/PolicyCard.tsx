// Settings → CRM account: the account's policy on what leaves it — where run reports (with
// their CSV) may be emailed, and how often a schedule may run. Owners and admins edit it
// (with the version read: a colleague's change since is not overwritten); others read it.
import { useState } from "react";
import { Alert, Button, Center, Group, List, Loader, NumberInput, Paper, Stack, TagsInput, Text, Title } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api } from "../../api/client";
import { policyKey, usePolicy, type AccountPolicy, type PolicyInput } from "../../api/policy";
import { ApiError, errorAt, unwrap } from "../../api/problem";
import type { Me } from "../../api/session";
import { ProblemAlert } from "../../components/ProblemAlert";
import { when } from "./format";
import { notify } from "./notify";
import { MAX_INTERVAL, MIN_INTERVAL, describePolicy, policyChanged, policyDraft, policyInput, type PolicyDraft } from "./policy";
import { needsAlert } from "./problems";
import { isManager } from "./team";

const claimed = (p: string) => p.startsWith("/allowed_recipient_domains") || p === "/min_schedule_interval_minutes";

export function PolicyCard({ me }: { me: Me }) {
  const policy = usePolicy();
  return (
    <Paper withBorder p="md" radius="md" component="section" aria-labelledby="policy-title">
      <Title order={3} size="h4" id="policy-title" mb={4}>
        Reports and schedules policy
      </Title>
      <Text size="sm" c="gray.7" mb="md">
        What leaves this account is the owner&apos;s and admins&apos; call: where run reports, with their CSV of records, may be emailed, and how often schedules may run.
      </Text>
      {policy.isPending ? (
        <Center h={80}>
          <Loader aria-label="Loading the policy" />
        </Center>
      ) : policy.error ? (
        <ProblemAlert error={policy.error} title="Steward could not load the policy" />
      ) : isManager(me) ? (
        // A new version read (saved here or reloaded) starts the form again from it.
        <PolicyForm key={policy.data.version} policy={policy.data} />
      ) : (
        <PolicyText policy={policy.data} />
      )}
      {policy.data?.updated_at && (
        <Text size="xs" c="gray.7" mt="sm">
          Last changed {when(policy.data.updated_at)}
          {policy.data.updated_by ? ` by ${policy.data.updated_by}` : ""}.
        </Text>
      )}
    </Paper>
  );
}

function PolicyText({ policy }: { policy: AccountPolicy }) {
  const said = describePolicy(policy);
  return (
    <Stack gap="xs">
      <List size="sm">
        <List.Item>{said.reports}</List.Item>
        <List.Item>{said.schedules}</List.Item>
      </List>
      <Text size="sm" c="gray.7">
        Only the owner or an admin can change this.
      </Text>
    </Stack>
  );
}

function PolicyForm({ policy }: { policy: AccountPolicy }) {
  const qc = useQueryClient();
  const [draft, setDraft] = useState<PolicyDraft>(() => policyDraft(policy));
  const save = useMutation({
    mutationFn: (body: PolicyInput) => unwrap(api.PUT("/account/policy", { params: { header: { "If-Match": `"${policy.version}"` } }, body })),
    onSuccess: (saved) => {
      qc.setQueryData(policyKey, saved);
      notify("Policy saved. It applies to new runs and schedules, and to reports and scheduled runs from now on.", "green");
    },
  });
  const input = policyInput(draft);
  const changed = policyChanged(draft, policy);
  const stale = save.error instanceof ApiError && save.error.status === 409;

  return (
    <Stack gap="md" maw={640}>
      <TagsInput
        label="Allowed report domains"
        description="Run reports are emailed only to addresses at these domains (their subdomains too). Leave it empty to allow any address. Type a domain and press Enter."
        placeholder={draft.domains.length ? undefined : "acme.com"}
        value={draft.domains}
        onChange={(domains) => setDraft({ ...draft, domains })}
        splitChars={[",", " ", ";"]}
        error={errorAt(save.error, "/allowed_recipient_domains", true)}
        clearable
      />
      <NumberInput
        label="Least time between scheduled runs"
        description={`In minutes. A schedule that would run more often is refused, and one saved before that does is skipped. The default is 15; ${MIN_INTERVAL} minute is the least AWS allows.`}
        min={MIN_INTERVAL}
        max={MAX_INTERVAL}
        allowDecimal={false}
        allowNegative={false}
        styles={{ wrapper: { maxWidth: 220 } }}
        suffix=" minutes"
        value={draft.minutes}
        onChange={(n) => setDraft({ ...draft, minutes: typeof n === "number" ? n : "" })}
        error={errorAt(save.error, "/min_schedule_interval_minutes") ?? (draft.minutes === "" ? "Enter a number of minutes" : undefined)}
      />
      {stale ? (
        <Alert color="orange" title="Someone else changed the policy" role="alert">
          <Text size="sm" mb="xs">
            An owner or admin saved the policy after you opened this page. Load their version, then make your change again.
          </Text>
          <Button size="xs" variant="default" onClick={() => void qc.invalidateQueries({ queryKey: policyKey })}>
            Load the current policy
          </Button>
        </Alert>
      ) : (
        needsAlert(save.error, claimed) && <ProblemAlert error={save.error} title="The policy could not be saved" claimed={claimed} />
      )}
      <Group gap="sm">
        <Button onClick={() => input && save.mutate(input)} loading={save.isPending} disabled={!changed || !input}>
          Save policy
        </Button>
        {changed && (
          <Button variant="default" onClick={() => (save.reset(), setDraft(policyDraft(policy)))} disabled={save.isPending}>
            Discard changes
          </Button>
        )}
      </Group>
    </Stack>
  );
}
