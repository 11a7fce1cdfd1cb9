// The Data Validation editor: the object, the rules every record is checked against, and
// optional fix steps (transform's) run on the records that fail.
import { Stack, Text, Title } from "@mantine/core";
import { useCallback } from "react";
import { errorAt } from "../../../../api/problem";
import { ObjectSelect } from "../../../../components/crm";
import { omit, sameJson, useDefaultObject } from "../filter";
import { StepList } from "../transform/StepList";
import type { Configs, EditorProps } from "../types";
import { RuleList } from "./RuleList";
import { emptyValidate, rulesClaim, starterRules } from "./rules";
import { stepsClaim } from "../transform/steps";

export function emptyConfig(object: string): Configs["validate"] {
  return emptyValidate(object);
}

/** Whether this editor shows the API's error at `pointer` beside an input (the page's alert shows the rest). */
export function claims(config: Configs["validate"], pointer: string): boolean {
  return pointer === "/config/object" || rulesClaim(config.rules, pointer) || stepsClaim(config.fix ?? [], "/config/fix", pointer);
}

export function ValidateEditor({ config, onChange, error, readOnly }: EditorProps<Configs["validate"]>) {
  useDefaultObject(config, onChange, emptyConfig, readOnly);
  const changeObject = useCallback(
    (object: string) => {
      const untouched = sameJson(config.rules, starterRules(config.object)) && !config.fix?.length;
      onChange(untouched ? emptyConfig(object) : { ...config, object });
    },
    [config, onChange],
  );
  return (
    <Stack gap="md">
      <ObjectSelect w={320} value={config.object} onChange={changeObject} disabled={readOnly} error={errorAt(error, "/config/object")} />
      <Title order={3} size="h5">
        Rules, each checked on every record
      </Title>
      <RuleList object={config.object} rules={config.rules} onChange={(rules) => onChange({ ...config, rules })} error={error} readOnly={readOnly} />
      <Title order={3} size="h5">
        Fix failing records (optional)
      </Title>
      <Text size="sm" c="dimmed">
        These transform steps run only on records that fail a rule; the rules are then checked again. Without steps, failing records are only reported.
      </Text>
      <StepList
        object={config.object}
        steps={config.fix ?? []}
        onChange={(fix) => {
          onChange(fix.length ? { ...config, fix } : omit(config, "fix"));
        }}
        error={error}
        pointer="/config/fix"
        readOnly={readOnly}
        addLabel="Add fix step"
        noun="Fix step"
      />
    </Stack>
  );
}
