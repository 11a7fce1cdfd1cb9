// The run page's report email: sent or not, when, attached or linked, to whom, and to whom
// not with why (a recipient the account's policy no longer allows is left out, and said).
import { Badge, Group, List, Paper, Text, Title } from "@mantine/core";
import { deliveryView } from "./delivery";
import type { Run } from "./logic";

export function ReportDelivery({ run }: { run: Run }) {
  const v = deliveryView(run);
  if (!v || !run.notify) return null;
  return (
    <Paper withBorder p="md" radius="md" aria-labelledby="report-title" component="section">
      <Group gap="sm">
        <Title order={3} size="h5" id="report-title">
          Report email
        </Title>
        <Badge color={v.color} variant="light">
          {v.label}
        </Badge>
      </Group>
      {run.notify.subject && (
        <Text size="sm" mt={4}>
          Subject “{run.notify.subject}”
        </Text>
      )}
      <Text size="sm" mt={4}>
        {v.summary}
      </Text>
      <Recipients title="Sent to" id="report-sent-to" addresses={v.sentTo} />
      <Recipients title="To be sent to" id="report-planned" addresses={v.planned} />
      {v.refused.length > 0 && (
        <>
          <Text size="sm" fw={700} mt="sm" id="report-refused">
            Not sent to
          </Text>
          <List size="sm" aria-labelledby="report-refused">
            {v.refused.map((r) => (
              <List.Item key={r.address}>
                <strong>{r.address}</strong>: {r.reason}
              </List.Item>
            ))}
          </List>
        </>
      )}
    </Paper>
  );
}

function Recipients({ title, id, addresses }: { title: string; id: string; addresses: string[] }) {
  if (addresses.length === 0) return null;
  return (
    <>
      <Text size="sm" fw={700} mt="sm" id={id}>
        {title}
      </Text>
      <List size="sm" aria-labelledby={id}>
        {addresses.map((a) => (
          <List.Item key={a}>{a}</List.Item>
        ))}
      </List>
    </>
  );
}
