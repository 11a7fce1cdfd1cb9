// "Save these weights to the template": a scored merge run's model (learned from the records,
// or the template's own) saved as the template's `score.model`, so later runs reuse it. The
// template is read fresh and saved with the version read (If-Match), as its editor saves.
import { Alert, Button, Group, Text } from "@mantine/core";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../../api/client";
import { unwrap } from "../../api/problem";
import type { components } from "../../api/schema";
import { ProblemAlert } from "../../components/ProblemAlert";
import { saveModel, type ScoreModel } from "../modules/editors/merge/score";
import type { MergeConfig } from "../modules/editors/merge/config";
import { templateKey } from "../modules/TemplateBar";
import type { Run } from "./logic";
import { weightsState } from "./review";

type TemplateInput = components["schemas"]["TemplateInput"];

export function SaveWeights({ run, writer }: { run: Run; writer: boolean }) {
  const id = run.template_id ?? "";
  const model = run.score_model;
  const shown = run.module === "merge" && Boolean(id) && model !== undefined && model !== null && typeof model === "object";
  const client = useQueryClient();
  const template = useQuery({
    queryKey: templateKey(id),
    queryFn: () => unwrap(api.GET("/templates/{id}", { params: { path: { id } } })),
    enabled: shown,
  });
  const save = useMutation({
    mutationFn: async () => {
      const t = await unwrap(api.GET("/templates/{id}", { params: { path: { id } } }));
      const config = saveModel(t.config as MergeConfig, model as ScoreModel);
      const body = { module: t.module, name: t.name, description: t.description, config } as TemplateInput;
      return unwrap(api.PUT("/templates/{id}", { params: { path: { id }, header: { "If-Match": `"${t.version}"` } }, body }));
    },
    onSuccess: (saved) => {
      client.setQueryData(templateKey(saved.id), saved);
      void client.invalidateQueries({ queryKey: ["templates", "list"] });
    },
  });

  if (!shown || !template.data) return null;
  const state = weightsState(template.data.config, model);
  if (state === "no-score") return null;
  const name = template.data.name;
  return (
    <Alert color="blue" variant="light" title="Match weights" role="status">
      {state === "saved" ? (
        <Text size="sm">{save.isSuccess ? `Saved: “${name}” now scores pairs with these weights on every run.` : `“${name}” scores pairs with these weights (saved to the template).`}</Text>
      ) : (
        <Group justify="space-between">
          <Text size="sm">This run learned its weights from your records. Save them to “{name}” to score every later run the same way, instead of learning again.</Text>
          {writer && (
            <Button size="xs" variant="default" loading={save.isPending} onClick={() => save.mutate()}>
              Save these weights to the template
            </Button>
          )}
        </Group>
      )}
      <ProblemAlert error={save.error} title="The weights could not be saved" />
    </Alert>
  );
}
