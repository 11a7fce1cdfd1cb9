// A recipe run (/automation/recipe-runs/:recipeRunId): what started it, on which records,
// how far it got (polled until it ends), each step's status with its run, and why it
// stopped when it failed.
import { Alert, Anchor, Badge, Center, Group, Loader, Paper, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { Link, useParams } from "react-router";
import { ApiError } from "../../api/problem";
import { moduleInfo } from "../../app/modules";
import { ProblemAlert } from "../../components/ProblemAlert";
import { TRIGGER, formatTime } from "../runs";
import { useRecipeRun } from "./api";
import { RECIPE_RUN_STATUS, explainRecipeRun, recipeRunOver, scopeWords, stepStatus } from "./logic";
import { Fact } from "../../components/Fact";

export default function RecipeRunPage() {
  const { recipeRunId = "" } = useParams();
  const run = useRecipeRun(recipeRunId);

  if (run.isPending) {
    return (
      <Center h="40vh">
        <Loader aria-label="Loading the recipe run" />
      </Center>
    );
  }
  if (run.error) {
    const missing = run.error instanceof ApiError && run.error.status === 404;
    return (
      <Stack>
        <Anchor component={Link} to="/automation/recipes" size="sm">
          ← Recipes
        </Anchor>
        <Title order={2}>Recipe run {recipeRunId}</Title>
        <ProblemAlert error={run.error} title={missing ? "No such recipe run in this account" : "The recipe run could not be loaded"} />
      </Stack>
    );
  }

  const r = run.data;
  const status = RECIPE_RUN_STATUS[r.status];
  const explanation = explainRecipeRun(r);
  const over = recipeRunOver(r.status);
  const done = r.steps.filter((s) => s.status && ["succeeded", "partial", "failed", "cancelled"].includes(s.status)).length;

  return (
    <Stack gap="lg" maw={1100}>
      <div>
        <Anchor component={Link} to="/automation/recipes" size="sm">
          ← Recipes
        </Anchor>
        <Group gap="sm" mt={4}>
          <Title order={2}>Recipe run: {r.recipe_name}</Title>
          <Badge size="lg" color={status.color} variant="light">
            {status.label}
          </Badge>
        </Group>
        <Text size="sm" c="gray.7" aria-live="polite">
          {over ? `${done} of ${r.steps.length} steps ran.` : r.status === "gathering" ? "Gathering records…" : `Step ${r.current + 1} of ${r.steps.length} is running; this page follows it.`}
        </Text>
      </div>

      {explanation && (
        <Alert color={r.status === "failed" ? "red" : r.status === "partial" ? "orange" : "blue"} title={status.label} role={r.status === "failed" ? "alert" : "status"}>
          {explanation}
          {r.status === "gathering" && r.gather_until && ` Window closes ${formatTime(r.gather_until)}.`}
        </Alert>
      )}
      {r.successor && (
        <Text size="sm">
          Calls this run had no room for (a run takes 2,000 records) went on to{" "}
          <Anchor component={Link} to={`/automation/recipe-runs/${r.successor}`}>
            the next recipe run
          </Anchor>
          .
        </Text>
      )}

      <Paper withBorder p="md" radius="md">
        <SimpleGrid cols={{ base: 2, sm: 3, md: 4 }} spacing="md">
          <Fact label="Recipe">
            <Anchor component={Link} to={`/automation/recipes/${r.recipe_id}`}>
              {r.recipe_name}
            </Anchor>
          </Fact>
          <Fact label="Trigger">{TRIGGER[r.trigger]}</Fact>
          <Fact label="Records">{scopeWords(r.scope, r.object)}</Fact>
          <Fact label="Started by">{r.acting.kind === "integration" ? `${r.started_by_email} (as the integration user)` : r.started_by_email}</Fact>
          <Fact label="Created">{formatTime(r.created_at)}</Fact>
          <Fact label="Finished">{over ? formatTime(r.finished_at) : "Not yet"}</Fact>
          {r.invocations.length > 0 && <Fact label="Automation calls">{r.invocations.length.toLocaleString()}</Fact>}
          <Fact label="Recipe run ID">{r.id}</Fact>
        </SimpleGrid>
      </Paper>

      <Stack gap="xs" component="section" aria-labelledby="recipe-run-steps">
        <Title order={3} size="h4" id="recipe-run-steps">
          Steps
        </Title>
        <Table.ScrollContainer minWidth={720}>
          <Table verticalSpacing="sm" aria-label="Steps">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">#</Table.Th>
                <Table.Th scope="col">Template</Table.Th>
                <Table.Th scope="col">Mode</Table.Th>
                <Table.Th scope="col">Status</Table.Th>
                <Table.Th scope="col">Run</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {r.steps.map((s, i) => {
                const st = stepStatus(r, s, i);
                return (
                  <Table.Tr key={`${i}${s.template_id}`}>
                    <Table.Td>{i + 1}</Table.Td>
                    <Table.Td>
                      <Text size="sm" fw={500}>
                        {s.template_name}
                      </Text>
                      <Text size="xs" c="gray.7">
                        {moduleInfo(s.module)?.title ?? s.module}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Badge miw="max-content" variant="light" color={s.mode === "apply" ? "red" : "blue"}>
                        {s.mode === "apply" ? "Apply" : "Preview"}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      <Badge miw="max-content" variant="light" color={st.color}>
                        {st.label}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      {s.run_id ? (
                        <Anchor component={Link} to={`/activity/${s.run_id}`} size="sm" aria-label={`Open the run of step ${i + 1}, ${s.template_name}`}>
                          Open run
                        </Anchor>
                      ) : (
                        <Text size="sm" c="gray.7">
                          —
                        </Text>
                      )}
                    </Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      </Stack>
    </Stack>
  );
}
