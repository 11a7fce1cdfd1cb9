// The Transform Data editor: the object, its ordered steps, and whether records whose only
// news is a problem are listed.
import { Checkbox, Stack, Title } from "@mantine/core";
import { useCallback } from "react";
import { errorAt } from "../../../../api/problem";
import { ObjectSelect } from "../../../../components/crm";
import { omit, sameJson, useDefaultObject } from "../filter";
import type { Configs, EditorProps } from "../types";
import { StepList } from "./StepList";
import { emptyTransform, starterSteps, stepsClaim } from "./steps";

export function emptyConfig(object: string): Configs["transform"] {
  return emptyTransform(object);
}

/** Whether this editor shows the API's error at `pointer` beside an input (the page's alert shows the rest). */
export function claims(config: Configs["transform"], pointer: string): boolean {
  return pointer === "/config/object" || pointer === "/config/flag_problems" || stepsClaim(config.steps, "/config/steps", pointer);
}

export function TransformEditor({ config, onChange, error, readOnly }: EditorProps<Configs["transform"]>) {
  useDefaultObject(config, onChange, emptyConfig, readOnly);
  const changeObject = useCallback(
    (object: string) => {
      // Untouched starter steps follow the object (firstname → FirstName); edited steps stay.
      const untouched = sameJson(config.steps, starterSteps(config.object));
      onChange({ ...config, object, steps: untouched ? starterSteps(object) : config.steps });
    },
    [config, onChange],
  );
  return (
    <Stack gap="md">
      <ObjectSelect w={320} value={config.object} onChange={changeObject} disabled={readOnly} error={errorAt(error, "/config/object")} />
      <Title order={3} size="h5">
        Steps, applied in order to every record
      </Title>
      <StepList
        object={config.object}
        steps={config.steps}
        onChange={(steps) => onChange({ ...config, steps })}
        error={error}
        pointer="/config/steps"
        readOnly={readOnly}
        emptyText="No steps yet: add one to choose a field and what to do with it."
      />
      <Checkbox
        label="List records whose values cannot be fixed (a phone that is no phone number), even when nothing else changes"
        disabled={readOnly}
        checked={config.flag_problems ?? false}
        onChange={(e) => {
          onChange(e.currentTarget.checked ? { ...config, flag_problems: true } : omit(config, "flag_problems"));
        }}
        error={errorAt(error, "/config/flag_problems")}
      />
    </Stack>
  );
}
