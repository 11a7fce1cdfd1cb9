// The latest recipe runs (all, or one recipe's): what started each, its status, its
// records, and the link to follow it.
import { Anchor, Badge, Center, Loader, Table, Text } from "@mantine/core";
import { Link } from "react-router";
import { ProblemAlert } from "../../components/ProblemAlert";
import { TRIGGER, formatTime } from "../runs";
import { useRecipeRuns } from "./api";
import { RECIPE_RUN_STATUS, scopeWords } from "./logic";

export function RecipeRunsTable({ recipeId, label }: { recipeId?: string; label: string }) {
  const runs = useRecipeRuns(recipeId);
  if (runs.isPending) {
    return (
      <Center h={80}>
        <Loader aria-label="Loading recipe runs" />
      </Center>
    );
  }
  if (runs.error) return <ProblemAlert error={runs.error} title="Steward could not load the recipe runs" />;
  const list = runs.data.recipe_runs;
  if (list.length === 0) {
    return (
      <Text size="sm" c="gray.7">
        {recipeId ? "This recipe has not run yet." : "No recipe has run yet."}
      </Text>
    );
  }
  return (
    <Table.ScrollContainer minWidth={760}>
      <Table verticalSpacing="xs" aria-label={label}>
        <Table.Thead>
          <Table.Tr>
            {!recipeId && <Table.Th scope="col">Recipe</Table.Th>}
            <Table.Th scope="col">Started</Table.Th>
            <Table.Th scope="col">Trigger</Table.Th>
            <Table.Th scope="col">Records</Table.Th>
            <Table.Th scope="col">Status</Table.Th>
            <Table.Th scope="col">Details</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {list.map((r) => {
            const status = RECIPE_RUN_STATUS[r.status];
            return (
              <Table.Tr key={r.id}>
                {!recipeId && <Table.Td>{r.recipe_name}</Table.Td>}
                <Table.Td>
                  <Text size="sm">{formatTime(r.created_at, true)}</Text>
                  <Text size="xs" c="gray.7">
                    by {r.started_by_email}
                  </Text>
                </Table.Td>
                <Table.Td>{TRIGGER[r.trigger]}</Table.Td>
                <Table.Td>{scopeWords(r.scope, r.object)}</Table.Td>
                <Table.Td>
                  <Badge miw="max-content" variant="light" color={status.color}>
                    {status.label}
                  </Badge>
                </Table.Td>
                <Table.Td>
                  <Anchor component={Link} to={`/automation/recipe-runs/${r.id}`} size="sm" aria-label={`Open the recipe run of ${r.recipe_name} started ${formatTime(r.created_at, true)}`}>
                    Open
                  </Anchor>
                </Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
