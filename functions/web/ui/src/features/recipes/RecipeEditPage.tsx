// A recipe, new (/automation/recipes/new) or saved (/automation/recipes/:recipeId): its
// name, its steps in order (a template and a mode each; moved, removed, added), saved with
// the version read; a saved one also shows its ID and endpoint for the CRM's automation,
// Run now, Delete and its latest runs. The API's problems show beside the step they name.
import { useState } from "react";
import {
  Alert,
  Anchor,
  Badge,
  Button,
  Center,
  Group,
  Loader,
  Modal,
  NativeSelect,
  Paper,
  Radio,
  SimpleGrid,
  Stack,
  Text,
  TextInput,
  Textarea,
  Title,
} from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate, useParams } from "react-router";
import { ApiError, errorAt } from "../../api/problem";
import { can, useMe, type Me } from "../../api/session";
import { MODULES, moduleInfo } from "../../app/modules";
import { CopyValue } from "../../components/CopyValue";
import { ProblemAlert } from "../../components/ProblemAlert";
import { recipeKey, useAllTemplates, useAutomation, useDeleteRecipe, useRecipe, useRunRecipe, useSaveRecipe } from "./api";
import { RecipeRunsTable } from "./RecipeRunsTable";
import {
  changed,
  claimedByEditor,
  draftObject,
  draftOf,
  draftStep,
  hookEndpoint,
  moveStep,
  recipeInput,
  stepPointer,
  templateObject,
  templatesForStep,
  type Automation,
  type DraftStep,
  type Recipe,
  type Template,
} from "./logic";

const MAX_STEPS = 10;

function notify(message: string, color?: "green") {
  notifications.show({ message, ...(color ? { color } : {}), closeButtonProps: { "aria-label": "Dismiss" } });
}

export default function RecipeEditPage() {
  const { recipeId } = useParams();
  const id = recipeId === "new" ? undefined : recipeId;
  const { data: me } = useMe();
  const recipe = useRecipe(id);
  const templates = useAllTemplates();

  if (!me || (id && recipe.isPending) || templates.isPending) {
    return (
      <Center h="40vh">
        <Loader aria-label="Loading the recipe" />
      </Center>
    );
  }
  if (id && recipe.error) {
    const missing = recipe.error instanceof ApiError && recipe.error.status === 404;
    return (
      <Stack>
        <Back />
        <Title order={2}>Recipe</Title>
        <ProblemAlert error={recipe.error} title={missing ? "No such recipe in this account" : "Steward could not load the recipe"} />
      </Stack>
    );
  }
  if (templates.error) return <ProblemAlert error={templates.error} title="Steward could not load the templates" />;
  // A new editor for each recipe (and each version saved by someone else, after a reload).
  return <Editor key={recipe.data ? `${recipe.data.id}:${recipe.data.version}` : "new"} me={me} recipe={recipe.data} templates={templates.data.templates} />;
}

function Back() {
  return (
    <Anchor component={Link} to="/automation/recipes" size="sm">
      ← Recipes
    </Anchor>
  );
}

function Editor({ me, recipe, templates }: { me: Me; recipe: Recipe | undefined; templates: Template[] }) {
  const navigate = useNavigate();
  const client = useQueryClient();
  const [name, setName] = useState(recipe?.name ?? "");
  const [description, setDescription] = useState(recipe?.description ?? "");
  const [steps, setSteps] = useState<DraftStep[]>(() => (recipe ? draftOf(recipe) : [draftStep()]));
  const [deleting, setDeleting] = useState(false);
  const save = useSaveRecipe(recipe);
  const run = useRunRecipe();
  const automation = useAutomation(me);
  const dirty = changed(recipe, name, description, steps);
  const object = draftObject(templates, steps);
  const stale = save.error instanceof ApiError && (save.error.status === 409 || save.error.status === 412);
  const error = stale ? null : save.error;

  const setStep = (i: number, next: Partial<DraftStep>) => setSteps(steps.map((s, j) => (j === i ? { ...s, ...next } : s)));
  const submit = () =>
    save.mutate(recipeInput(name, description, steps), {
      // A refusal may be about templates changed since this page read them: read them again.
      onError: () => void client.invalidateQueries({ queryKey: ["templates", "list", "all"] }),
      onSuccess: (saved) => {
        notify(`Saved ${saved.name}.`, "green");
        if (!recipe) void navigate(`/automation/recipes/${saved.id}`, { replace: true });
      },
    });
  const startRun = (r: Recipe) => run.mutate(r, { onSuccess: (rr) => void navigate(`/automation/recipe-runs/${rr.id}`) });

  return (
    <Stack gap="lg" maw={960}>
      <div>
        <Back />
        <Group justify="space-between" align="flex-start" mt={4}>
          <Title order={2}>{recipe ? recipe.name : "New recipe"}</Title>
          {recipe && (
            <Group gap="xs">
              <Button onClick={() => startRun(recipe)} loading={run.isPending} disabled={dirty} title={dirty ? "Save your changes first" : undefined}>
                Run now
              </Button>
              <Button variant="light" color="red" onClick={() => setDeleting(true)}>
                Delete…
              </Button>
            </Group>
          )}
        </Group>
        <Text size="sm" c="gray.7" maw={760}>
          The steps run one after another on the same {object ? `${object} ` : ""}records: each starts when the one before has ended, and a step that fails stops the
          rest. A Preview step changes nothing and reports what it would change; an Apply step writes to the CRM.
        </Text>
      </div>

      <ProblemAlert error={run.error} title="The recipe did not start" />
      {recipe && dirty && (
        <Text size="sm" c="orange.9">
          You have unsaved changes: Run now runs the saved recipe, so save first.
        </Text>
      )}
      {recipe && <ForAutomation me={me} recipe={recipe} automation={automation.data} />}

      <form
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <Stack gap="md">
          {stale && (
            <Alert color="orange" title="Someone else changed this recipe" role="alert">
              It was saved by someone else after you opened it.{" "}
              <Button
                size="compact-sm"
                variant="white"
                color="orange"
                onClick={() => {
                  save.reset();
                  if (recipe) void client.invalidateQueries({ queryKey: recipeKey(recipe.id) });
                }}
              >
                Load their version
              </Button>{" "}
              (your changes here are then lost).
            </Alert>
          )}
          <TextInput label="Name" value={name} onChange={(e) => setName(e.currentTarget.value)} error={errorAt(error, "/name")} required maxLength={200} />
          <Textarea
            label="Description"
            description="Optional: what it is for, who relies on it."
            value={description}
            onChange={(e) => setDescription(e.currentTarget.value)}
            error={errorAt(error, "/description")}
            autosize
            minRows={2}
            maxLength={2000}
          />
          <Stack gap="sm" component="section" aria-labelledby="steps-title">
            <div>
              <Title order={3} size="h4" id="steps-title">
                Steps
              </Title>
              <Text size="sm" c="gray.7">
                {object
                  ? `Every step works on ${object} records, so only templates on ${object} are offered.`
                  : "The first template you pick sets the object every other step works on."}{" "}
                Grid Edit templates cannot be steps: a grid run applies edits a person typed.
              </Text>
            </div>
            {templates.length === 0 && <NoTemplates me={me} />}
            {steps.map((s, i) => (
              <StepEditor
                key={s.key}
                index={i}
                count={steps.length}
                step={s}
                steps={steps}
                templates={templates}
                me={me}
                error={error}
                onChange={(next) => setStep(i, next)}
                onMove={(to) => setSteps(moveStep(steps, i, to))}
                onRemove={() => setSteps(steps.filter((_, j) => j !== i))}
              />
            ))}
            {errorAt(error, "/steps") && (
              <Text size="sm" c="red.9" role="alert">
                {errorAt(error, "/steps")}
              </Text>
            )}
            <Group>
              <Button variant="default" onClick={() => setSteps([...steps, draftStep()])} disabled={steps.length >= MAX_STEPS}>
                Add step
              </Button>
              {steps.length >= MAX_STEPS && (
                <Text size="sm" c="gray.7">
                  A recipe has at most {MAX_STEPS} steps.
                </Text>
              )}
            </Group>
          </Stack>
          {error instanceof ApiError && error.fields.length > 0 && error.fields.every((f) => claimedByEditor(f.pointer)) ? (
            <Text size="sm" c="red.9" role="alert">
              The recipe was not saved: see the {error.fields.length === 1 ? "message" : "messages"} above.
            </Text>
          ) : (
            <ProblemAlert error={error} title="The recipe was not saved" claimed={claimedByEditor} />
          )}
          <Group justify="flex-end">
            {recipe && dirty && (
              <Button
                variant="default"
                onClick={() => {
                  save.reset();
                  setName(recipe.name);
                  setDescription(recipe.description ?? "");
                  setSteps(draftOf(recipe));
                }}
              >
                Discard changes
              </Button>
            )}
            <Button type="submit" loading={save.isPending} disabled={recipe !== undefined && !dirty}>
              Save recipe
            </Button>
          </Group>
        </Stack>
      </form>

      {recipe && (
        <Stack gap="xs" component="section" aria-labelledby="recipe-runs-title">
          <Title order={3} size="h4" id="recipe-runs-title">
            Latest runs of this recipe
          </Title>
          <RecipeRunsTable recipeId={recipe.id} label={`Latest runs of ${recipe.name}`} />
        </Stack>
      )}
      {recipe && <DeleteDialog recipe={recipe} opened={deleting} onClose={() => setDeleting(false)} />}
    </Stack>
  );
}

function StepEditor(p: {
  index: number;
  count: number;
  step: DraftStep;
  steps: DraftStep[];
  templates: Template[];
  me: Me;
  error: unknown;
  onChange: (next: Partial<DraftStep>) => void;
  onMove: (to: number) => void;
  onRemove: () => void;
}) {
  const { index: i, step } = p;
  const n = i + 1;
  const offered = templatesForStep(p.templates, p.steps, i);
  const picked = p.templates.find((t) => t.id === step.template_id);
  const mayApply = picked ? can(p.me, picked.module, "write") : true;
  const groups = MODULES.filter((m) => m.id !== "grid")
    .map((m) => ({
      group: m.title,
      items: offered.filter((t) => t.module === m.id).map((t) => ({ value: t.id, label: `${t.name} (${templateObject(t) ?? "no object"})` })),
    }))
    .filter((g) => g.items.length > 0);
  // The step's own template when it no longer fits (a Grid Edit one), so the API's message reads against it.
  const own = picked && picked.module === "grid" ? [{ group: "Grid Edit", items: [{ value: picked.id, label: picked.name }] }] : [];
  const templateError = errorAt(p.error, stepPointer(i, "template_id"));
  const modeError = errorAt(p.error, stepPointer(i, "mode"));
  const otherError = errorAt(p.error, stepPointer(i));
  const invalid = templateError || modeError || otherError;

  return (
    <Paper withBorder p="md" radius="md" component="section" aria-label={`Step ${n}`} style={invalid ? { borderColor: "var(--mantine-color-red-7)" } : undefined}>
      <Group justify="space-between" align="flex-start" mb="xs">
        <Group gap="xs">
          <Badge variant="filled" color="gray" size="lg" circle aria-hidden>
            {n}
          </Badge>
          <Text fw={600}>Step {n}</Text>
          {picked && (
            <Text size="sm" c="gray.7">
              {moduleInfo(picked.module)?.title ?? picked.module}
            </Text>
          )}
        </Group>
        <Group gap={4}>
          <Button size="compact-sm" variant="subtle" onClick={() => p.onMove(i - 1)} disabled={i === 0} aria-label={`Move step ${n} up`}>
            ↑ Up
          </Button>
          <Button size="compact-sm" variant="subtle" onClick={() => p.onMove(i + 1)} disabled={i === p.count - 1} aria-label={`Move step ${n} down`}>
            ↓ Down
          </Button>
          <Button size="compact-sm" variant="subtle" color="red" onClick={p.onRemove} disabled={p.count === 1} aria-label={`Remove step ${n}`}>
            Remove
          </Button>
        </Group>
      </Group>
      <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="md">
        <NativeSelect
          label={`Template for step ${n}`}
          value={step.template_id}
          onChange={(e) => {
            const next = p.templates.find((t) => t.id === e.currentTarget.value);
            // Apply needs write access to the template's module: fall back to Preview.
            p.onChange({ template_id: e.currentTarget.value, mode: next && !can(p.me, next.module, "write") ? "preview" : step.mode });
          }}
          data={[{ value: "", label: "Choose a template…" }, ...own, ...groups]}
          error={templateError}
          required
        />
        <Radio.Group label={`Mode of step ${n}`} value={step.mode} onChange={(v) => p.onChange({ mode: v === "apply" ? "apply" : "preview" })} error={modeError}>
          <Group gap="md" mt={8}>
            <Radio value="preview" label="Preview (changes nothing)" />
            <Radio value="apply" label="Apply (writes to the CRM)" disabled={!mayApply && step.mode !== "apply"} />
          </Group>
          {!mayApply && (
            <Text size="xs" c="gray.7" mt={4}>
              Apply needs write access to {picked ? (moduleInfo(picked.module)?.title ?? picked.module) : "the module"}.
            </Text>
          )}
        </Radio.Group>
      </SimpleGrid>
      {otherError && (
        <Text size="sm" c="red.9" mt="xs">
          {otherError}
        </Text>
      )}
    </Paper>
  );
}

function NoTemplates({ me }: { me: Me }) {
  const mine = MODULES.filter((m) => m.id !== "grid" && can(me, m.id, "read"));
  return (
    <Alert color="blue" variant="light" title="No templates to use yet">
      A step runs a saved template. Save one on a module&apos;s page first:{" "}
      {mine.map((m, i) => (
        <span key={m.id}>
          {i > 0 && ", "}
          <Anchor component={Link} to={`/modules/${m.id}`} c="inherit" underline="always">
            {m.title}
          </Anchor>
        </span>
      ))}
      .
    </Alert>
  );
}

/** What the CRM's automation needs to call this recipe: its ID, and the endpoint when on. */
function ForAutomation({ me, recipe, automation }: { me: Me; recipe: Recipe; automation: Automation | undefined }) {
  const hubspot = me.account.crm === "hubspot";
  return (
    <Paper withBorder p="md" radius="md" component="section" aria-labelledby="for-automation-title">
      <Title order={3} size="h5" id="for-automation-title" mb={6}>
        For {hubspot ? "HubSpot workflows" : "Salesforce Flows"}
      </Title>
      <Stack gap="xs">
        <CopyValue label="Recipe ID" value={recipe.id} what="recipe ID" />
        {automation?.active && <CopyValue label="Endpoint" value={hookEndpoint(automation, recipe.id)} what="endpoint" />}
        <Text size="sm" c="gray.7">
          {hubspot
            ? "In a HubSpot workflow, add the action “Steward: Run recipe” and pick this recipe; HubSpot waits for it to end before the next action."
            : "A Flow runs this recipe by calling its endpoint with the records' IDs (see Recipes in the docs)."}{" "}
          {automation && !automation.active && "CRM automation is off: an owner activates it in Settings → CRM account."}
        </Text>
      </Stack>
    </Paper>
  );
}

function DeleteDialog({ recipe, opened, onClose }: { recipe: Recipe; opened: boolean; onClose: () => void }) {
  const remove = useDeleteRecipe();
  const navigate = useNavigate();
  return (
    <Modal opened={opened} onClose={onClose} title="Delete this recipe?">
      <Stack>
        <Text size="sm">
          <strong>{recipe.name}</strong> is deleted: Flows or workflows that call it are then refused. Its templates and its past runs stay.
        </Text>
        <ProblemAlert error={remove.error} title="The recipe was not deleted" />
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button
            color="red"
            loading={remove.isPending}
            onClick={() =>
              remove.mutate(recipe, {
                onSuccess: () => {
                  notify(`Deleted ${recipe.name}.`);
                  void navigate("/automation/recipes");
                },
              })
            }
          >
            Delete recipe
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
