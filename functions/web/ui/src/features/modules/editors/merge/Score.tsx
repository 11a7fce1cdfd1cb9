// The score part of the merge editor: compared fields (each with its kind and the kind's
// options), the two thresholds in percent with the band in words, blocking keys under
// "Advanced", and the saved weights. Every edit is a pure function of score.ts.
import { useState } from "react";
import { Alert, Button, Card, Collapse, Group, NumberInput, Select, Stack, Text, TextInput, Title } from "@mantine/core";
import { errorAt } from "../../../../api/problem";
import { FieldSelect, FieldsSelect } from "../../../../components/crm";
import { formatTime } from "../../../runs";
import type { MergeConfig } from "./config";
import {
  DEFAULT_MERGE_THRESHOLD,
  DEFAULT_REVIEW_THRESHOLD,
  SCORE_COMPARES,
  addBlockingKey,
  addScoreField,
  blockingKeys,
  compareHint,
  forgetModel,
  fromPercent,
  modelDate,
  removeScoreField,
  setBlockingKey,
  setScoreCompare,
  setScoreOption,
  setThreshold,
  thresholdWords,
  toPercent,
  updateScoreField,
  type ScoreCompare,
  type ScoreField,
} from "./score";

/** Hints under the inputs, so a row's inputs line up whatever their hints' length. */
const BELOW: ("label" | "input" | "description" | "error")[] = ["label", "input", "description", "error"];

interface Props {
  config: MergeConfig;
  onChange: (config: MergeConfig) => void;
  error: unknown;
  readOnly: boolean;
}

function ScoreFieldRow({ config, i, onChange, error, readOnly }: Props & { i: number }) {
  const f = config.score?.fields[i];
  if (!f) return null;
  const at = `/config/score/fields/${i}`;
  const set = (change: (f: ScoreField) => ScoreField) => onChange(updateScoreField(config, i, change));
  const name = `Compared field ${i + 1}`;
  const count = config.score?.fields.length ?? 0;
  return (
    <Card withBorder padding="sm" bg="gray.0" role="group" aria-label={name}>
      <Group align="flex-start" wrap="wrap" gap="sm">
        <FieldSelect
          object={config.object}
          label="Field"
          placeholder={f.field ? undefined : "Pick a field"}
          value={f.field}
          onChange={(v) => set((x) => setScoreOption(x, "field", v))}
          error={errorAt(error, `${at}/field`) ?? errorAt(error, at)}
          readOnly={readOnly}
          inputWrapperOrder={BELOW}
          w={240}
        />
        <Select
          label="Compare as"
          description={compareHint(f.compare)}
          data={SCORE_COMPARES.map((c) => ({ value: c.value, label: c.label }))}
          value={f.compare}
          allowDeselect={false}
          onChange={(v) => v && set((x) => setScoreCompare(x, v as ScoreCompare))}
          error={errorAt(error, `${at}/compare`)}
          readOnly={readOnly}
          inputWrapperOrder={BELOW}
          w={260}
        />
        {f.compare === "name" && (
          <FieldSelect
            object={config.object}
            label="Compare crosswise with"
            description="Optional: catches first and last name swapped"
            placeholder="None"
            clearable
            value={f.swap_with}
            onChange={(v) => set((x) => setScoreOption(x, "swap_with", v || undefined))}
            onClear={() => set((x) => setScoreOption(x, "swap_with", undefined))}
            error={errorAt(error, `${at}/swap_with`)}
            readOnly={readOnly}
            inputWrapperOrder={BELOW}
            w={280}
          />
        )}
        {f.compare === "phone" && (
          <>
            <TextInput
              label="Default region"
              description="For numbers without a country code"
              placeholder="US"
              value={f.default_region ?? ""}
              onChange={(e) => set((x) => setScoreOption(x, "default_region", e.currentTarget.value.toUpperCase() || undefined))}
              error={errorAt(error, `${at}/default_region`)}
              readOnly={readOnly}
              inputWrapperOrder={BELOW}
              w={130}
            />
            <FieldSelect
              object={config.object}
              label="Country field"
              description="Optional: each record's country"
              placeholder="None"
              clearable
              value={f.region_field}
              onChange={(v) => set((x) => setScoreOption(x, "region_field", v || undefined))}
              onClear={() => set((x) => setScoreOption(x, "region_field", undefined))}
              error={errorAt(error, `${at}/region_field`)}
              readOnly={readOnly}
              inputWrapperOrder={BELOW}
              w={220}
            />
          </>
        )}
        {!readOnly && (
          <Button variant="subtle" color="red" mt={26} ml="auto" onClick={() => onChange(removeScoreField(config, i))} disabled={count <= 1} aria-label={`Remove ${name.toLowerCase()}`}>
            Remove
          </Button>
        )}
      </Group>
    </Card>
  );
}

function Thresholds({ config, onChange, error, readOnly }: Props) {
  const s = config.score;
  if (!s) return null;
  return (
    <Stack gap={6}>
      <Group align="flex-start" gap="lg">
        <NumberInput
          label="Merge when at least"
          description="Sure the two records are the same"
          suffix="% sure"
          min={50}
          max={100}
          step={0.5}
          decimalScale={3}
          placeholder={String(toPercent(DEFAULT_MERGE_THRESHOLD))}
          value={toPercent(s.merge_threshold) ?? ""}
          onChange={(v) => onChange(setThreshold(config, "merge_threshold", fromPercent(v)))}
          error={errorAt(error, "/config/score/merge_threshold")}
          readOnly={readOnly}
          inputWrapperOrder={BELOW}
          w={240}
        />
        <NumberInput
          label="Ask me when at least"
          description="Below the merge threshold: you decide"
          suffix="% sure"
          min={0}
          max={100}
          step={1}
          decimalScale={3}
          placeholder={String(toPercent(DEFAULT_REVIEW_THRESHOLD))}
          value={toPercent(s.review_threshold) ?? ""}
          onChange={(v) => onChange(setThreshold(config, "review_threshold", fromPercent(v)))}
          error={errorAt(error, "/config/score/review_threshold")}
          readOnly={readOnly}
          inputWrapperOrder={BELOW}
          w={240}
        />
      </Group>
      <Text size="sm" c="gray.7">
        {thresholdWords(s)}
      </Text>
    </Stack>
  );
}

function Blocking({ config, onChange, error, readOnly }: Props) {
  const keys = blockingKeys(config);
  const [open, setOpen] = useState(keys.length > 0 || Boolean(errorAt(error, "/config/score/blocking", true)));
  return (
    <div>
      <Button variant="subtle" size="compact-sm" px={0} onClick={() => setOpen((o) => !o)} aria-expanded={open} aria-controls="score-advanced">
        {open ? "▾" : "▸"} Advanced: which records are compared
      </Button>
      <Collapse expanded={open} id="score-advanced">
        <Stack gap="xs" mt="xs">
          <Text size="sm" c="gray.7">
            Two records are scored only when they agree exactly on all fields of at least one key below. With no key, Steward picks keys from the compared fields. More keys find more pairs and take longer.
          </Text>
          {errorAt(error, "/config/score/blocking") && (
            <Text c="red.9" size="sm">
              {errorAt(error, "/config/score/blocking")}
            </Text>
          )}
          {keys.map((fields, k) => (
            <FieldsSelect
              key={k}
              object={config.object}
              label={`Key ${k + 1}: same`}
              description="Remove every field to remove the key"
              value={fields}
              onChange={(f) => onChange(setBlockingKey(config, k, f))}
              error={errorAt(error, `/config/score/blocking/${k}`, true)}
              readOnly={readOnly}
              w={460}
            />
          ))}
          {!readOnly && (
            <FieldsSelect
              object={config.object}
              label="Add a key"
              placeholder="Pick the fields two records must share"
              value={[]}
              onChange={(f) => onChange(addBlockingKey(config, f))}
              w={460}
            />
          )}
        </Stack>
      </Collapse>
    </div>
  );
}

function Model({ config, onChange, readOnly }: Props) {
  const model = config.score?.model;
  if (!model) {
    return (
      <Text size="sm" c="gray.7">
        <b>Weights:</b> learned from your data on every run (no labels needed). A run's weights can be saved to the template from its run page.
      </Text>
    );
  }
  const when = modelDate(model);
  return (
    <Alert color="blue" variant="light" title={`Using saved weights${when ? ` (learned on ${formatTime(when)})` : ""}`}>
      <Group justify="space-between" align="center">
        <Text size="sm">Every run scores pairs with these weights instead of learning new ones, so results stay the same from run to run.</Text>
        {!readOnly && (
          <Button variant="default" size="xs" onClick={() => onChange(forgetModel(config))}>
            Forget saved weights
          </Button>
        )}
      </Group>
    </Alert>
  );
}

export function ScoreSection(props: Props) {
  const { config, onChange, error, readOnly } = props;
  const s = config.score;
  if (!s) return null;
  return (
    <Card withBorder padding="md" component="section" aria-label="Match score">
      <Title order={3} size="h4">
        Match score
      </Title>
      <Text size="sm" c="dimmed" mb="sm">
        Steward compares these fields for each pair of records and adds up how much each agreement (or disagreement) says, into how likely the two are the same. A missing value counts neither way.
      </Text>
      <Stack gap="sm">
        {(errorAt(error, "/config/score/fields") ?? errorAt(error, "/config/score")) && (
          <Text c="red.9" size="sm" role="alert">
            {errorAt(error, "/config/score/fields") ?? errorAt(error, "/config/score")}
          </Text>
        )}
        {s.fields.map((_, i) => (
          <ScoreFieldRow key={i} {...props} i={i} />
        ))}
        {!readOnly && (
          <Button variant="light" size="xs" w="fit-content" onClick={() => onChange(addScoreField(config))}>
            Add a compared field
          </Button>
        )}
        <Thresholds {...props} />
        <Model {...props} />
        <Blocking {...props} />
      </Stack>
    </Card>
  );
}
