// Recipes (/automation/recipes): every recipe — its steps in order, its object, its id for
// the CRM's automation — with Run now and Edit; and the latest recipe runs.
import { Anchor, Badge, Button, Center, Group, List, Loader, Paper, Stack, Table, Text, Title } from "@mantine/core";
import { Link, useNavigate } from "react-router";
import { useMe } from "../../api/session";
import { moduleInfo } from "../../app/modules";
import { CopyValue } from "../../components/CopyValue";
import { ProblemAlert } from "../../components/ProblemAlert";
import { useAutomation, useRecipes, useRunRecipe } from "./api";
import { RecipeRunsTable } from "./RecipeRunsTable";
import { hookEndpoint, type Automation, type Recipe } from "./logic";
import { AutomationNote } from "./AutomationNote";

export default function RecipesPage() {
  const { data: me } = useMe();
  const recipes = useRecipes();
  const automation = useAutomation(me);
  if (!me) return null;
  const all = recipes.data?.pages.flatMap((p) => p.recipes) ?? [];

  return (
    <Stack gap="lg" maw={1200}>
      <Group justify="space-between" align="flex-start">
        <div>
          <Title order={2}>Recipes</Title>
          <Text size="sm" c="gray.7" maw={760}>
            A recipe runs saved templates one after another on the same records — say, fix names, then set the lead source, then flag what is still
            invalid. Run it now, or let a {me.account.crm === "hubspot" ? "HubSpot workflow" : "Salesforce Flow"} start it on the records it hands over.
          </Text>
        </div>
        <Button component={Link} to="/automation/recipes/new">
          New recipe
        </Button>
      </Group>
      <AutomationNote me={me} automation={automation.data} />
      {recipes.isPending ? (
        <Center h={160}>
          <Loader aria-label="Loading recipes" />
        </Center>
      ) : recipes.error ? (
        <ProblemAlert error={recipes.error} title="Steward could not load the recipes" />
      ) : all.length === 0 ? (
        <Paper withBorder p="lg" radius="md">
          <Title order={3} size="h4">
            No recipes yet
          </Title>
          <Text size="sm" mt={4}>
            Choose <strong>New recipe</strong>, then pick the templates to run and in which order. Templates are saved on a module&apos;s page.
          </Text>
        </Paper>
      ) : (
        <>
          <RecipesTable recipes={all} automation={automation.data} />
          {recipes.hasNextPage && (
            <Group justify="center">
              <Button variant="default" onClick={() => void recipes.fetchNextPage()} loading={recipes.isFetchingNextPage}>
                Show more recipes
              </Button>
            </Group>
          )}
        </>
      )}
      <Stack gap="xs" component="section" aria-labelledby="recent-recipe-runs">
        <Title order={3} size="h4" id="recent-recipe-runs">
          Latest recipe runs
        </Title>
        <RecipeRunsTable label="Latest recipe runs" />
      </Stack>
    </Stack>
  );
}

function RecipesTable({ recipes, automation }: { recipes: Recipe[]; automation: Automation | undefined }) {
  return (
    <Table.ScrollContainer minWidth={960}>
      <Table verticalSpacing="sm" aria-label="Recipes">
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col">Recipe</Table.Th>
            <Table.Th scope="col">Steps, in order</Table.Th>
            <Table.Th scope="col">Object</Table.Th>
            <Table.Th scope="col">Recipe ID{automation?.active ? " and endpoint" : ""}</Table.Th>
            <Table.Th scope="col">Actions</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {recipes.map((r) => (
            <RecipeRow key={r.id} recipe={r} automation={automation} />
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function RecipeRow({ recipe: r, automation }: { recipe: Recipe; automation: Automation | undefined }) {
  const run = useRunRecipe();
  const navigate = useNavigate();
  const start = () =>
    run.mutate(r, {
      onSuccess: (rr) => void navigate(`/automation/recipe-runs/${rr.id}`),
    });
  return (
    <>
      <Table.Tr>
        <Table.Td>
          <Anchor component={Link} to={`/automation/recipes/${r.id}`} fw={500}>
            {r.name}
          </Anchor>
          {r.description && (
            <Text size="xs" c="gray.7">
              {r.description}
            </Text>
          )}
          <Text size="xs" c="gray.7">
            by {r.created_by_email}
          </Text>
        </Table.Td>
        <Table.Td>
          <List type="ordered" size="sm" spacing={2}>
            {r.steps.map((s, i) => (
              <List.Item key={`${i}${s.template_id}`}>
                {s.template_name}{" "}
                <Text span size="xs" c="gray.7">
                  ({moduleInfo(s.module)?.title ?? s.module})
                </Text>{" "}
                <Badge size="xs" variant="light" color={s.mode === "apply" ? "red" : "blue"}>
                  {s.mode === "apply" ? "Apply" : "Preview"}
                </Badge>
              </List.Item>
            ))}
          </List>
        </Table.Td>
        <Table.Td>
          <Text size="sm">{r.object}</Text>
        </Table.Td>
        <Table.Td>
          <Stack gap={6}>
            <CopyValue value={r.id} what={`the ID of ${r.name}`} />
            {automation?.active && <CopyValue value={hookEndpoint(automation, r.id)} what={`the endpoint of ${r.name}`} />}
          </Stack>
        </Table.Td>
        <Table.Td>
          <Group gap={6} wrap="nowrap">
            <Button size="xs" onClick={start} loading={run.isPending} aria-label={`Run ${r.name} now`}>
              Run now
            </Button>
            <Button size="xs" variant="default" component={Link} to={`/automation/recipes/${r.id}`} aria-label={`Edit ${r.name}`}>
              Edit
            </Button>
          </Group>
        </Table.Td>
      </Table.Tr>
      {run.error && (
        <Table.Tr>
          <Table.Td colSpan={5}>
            <ProblemAlert error={run.error} title={`${r.name} did not start`} />
          </Table.Td>
        </Table.Tr>
      )}
    </>
  );
}

