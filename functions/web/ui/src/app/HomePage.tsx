// Where a signed-in person lands: what each module does, the ones they may use first.
import { Badge, Card, SimpleGrid, Stack, Text, Title } from "@mantine/core";
import { Link } from "react-router";
import { can, useMe } from "../api/session";
import { MODULES } from "./modules";

export function HomePage() {
  const { data: me } = useMe();
  const mine = MODULES.filter((m) => can(me, m.id, "read"));
  return (
    <Stack>
      <Title order={2}>What would you like to clean up?</Title>
      {mine.length === 0 ? (
        <Text>You have no modules yet. Ask your account's owner or an admin to give you access in Settings → Users.</Text>
      ) : (
        <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }}>
          {mine.map((m) => (
            <Card key={m.id} component={Link} to={`/modules/${m.id}`} withBorder padding="lg">
              <Text fw={600}>{m.title}</Text>
              <Text size="sm" c="dimmed" mt={4}>
                {m.summary}
              </Text>
              {!can(me, m.id, "write") && (
                <Badge mt="sm" variant="outline" color="gray" w="fit-content">
                  read-only: preview only
                </Badge>
              )}
            </Card>
          ))}
        </SimpleGrid>
      )}
    </Stack>
  );
}
