// Settings → CRM account: which CRM account this Steward account is, its integration user,
// its policy on what leaves it (reports, schedules), and whether its automation (Flows,
// workflows) may start recipes.
import { Center, Loader, Paper, SimpleGrid, Stack, Text, Title } from "@mantine/core";
import { useMe } from "../../api/session";
import { ProblemAlert } from "../../components/ProblemAlert";
import { AutomationCard } from "./AutomationCard";
import { CRM_TITLE, IntegrationCard } from "./IntegrationCard";
import { PolicyCard } from "./PolicyCard";
import { useTeam } from "./queries";

export default function AccountsPage() {
  const { data: me } = useMe();
  const team = useTeam();
  if (!me) return null;
  const crm = CRM_TITLE[me.account.crm];
  const orgLabel = me.account.crm === "hubspot" ? "HubSpot portal ID" : me.account.crm === "salesforce" ? "Salesforce org ID" : "Org ID";

  return (
    <Stack gap="lg">
      <div>
        <Title order={2}>CRM account</Title>
        <Text size="sm" c="gray.7">
          The {crm} account this Steward account works on. Everyone on the team signs in with it.
        </Text>
      </div>
      <Paper withBorder p="md" radius="md" component="section" aria-labelledby="account-title">
        <Title order={3} size="h4" id="account-title" mb="sm">
          Account
        </Title>
        <SimpleGrid cols={{ base: 1, sm: 3 }} component="dl" spacing="md" style={{ margin: 0 }}>
          <Field term="CRM" value={crm} />
          <Field term={orgLabel} value={me.account.org_id} />
          <Field term="Steward account ID" value={me.account.id} />
        </SimpleGrid>
      </Paper>
      {team.isPending ? (
        <Center h={120}>
          <Loader aria-label="Loading the integration user" />
        </Center>
      ) : team.error ? (
        <ProblemAlert error={team.error} title="Steward could not load the integration user" />
      ) : (
        <IntegrationCard integration={team.data.integration} me={me} members={team.data.members} compact />
      )}
      <PolicyCard me={me} />
<AutomationCard me={me} ownerEmail={team.data?.members.find((m) => m.role === "owner")?.email} />
    </Stack>
  );
}

function Field({ term, value }: { term: string; value: string }) {
  return (
    <div>
      <Text component="dt" size="xs" fw={700} c="gray.7" tt="uppercase">
        {term}
      </Text>
      <Text component="dd" size="sm" m={0} style={{ wordBreak: "break-all" }}>
        {value}
      </Text>
    </div>
  );
}
