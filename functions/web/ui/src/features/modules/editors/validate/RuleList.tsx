// Validate's rules: one card per rule, its kind, the field it checks, its own keys, and
// the message the report shows instead of the reason.
import { ActionIcon, Button, Checkbox, Group, NumberInput, Paper, Radio, Select, Stack, TagsInput, Text, TextInput } from "@mantine/core";
import { useMemo } from "react";
import { errorAt } from "../../../../api/problem";
import { FieldSelect, useFields } from "../../../../components/crm";
import { ErrorText, useKeyedList } from "../filter";
import { PHONE_FORMATS, regionOptions, setParam } from "../transform/steps";
import { RULE_KINDS, changeRuleKind, nextRule, requiresWhen, setMessage, setRequiresWhen, type Rule, type RuleKind } from "./rules";

interface Props {
  object: string;
  rules: Rule[];
  onChange: (rules: Rule[]) => void;
  error: unknown;
  readOnly: boolean;
}

export function RuleList({ object, rules, onChange, error, readOnly }: Props) {
  const list = useKeyedList(rules, onChange);
  return (
    <Stack gap="sm">
      {list.items.map(({ key, value }, i) => (
        <RuleCard
          key={key}
          object={object}
          rule={value}
          index={i}
          error={error}
          pointer={`/config/rules/${i}`}
          readOnly={readOnly}
          onChange={(r) => list.set(i, r)}
          onRemove={() => list.remove(i)}
        />
      ))}
      <ErrorText message={errorAt(error, "/config/rules")} />
      {!readOnly && (
        <Group>
          <Button variant="light" onClick={() => list.add(nextRule(rules))}>
            Add rule
          </Button>
        </Group>
      )}
    </Stack>
  );
}

function RuleCard({
  object,
  rule,
  index,
  error,
  pointer,
  readOnly,
  onChange,
  onRemove,
}: {
  object: string;
  rule: Rule;
  index: number;
  error: unknown;
  pointer: string;
  readOnly: boolean;
  onChange: (r: Rule) => void;
  onRemove: () => void;
}) {
  const n = index + 1;
  const at = (key: string, deep = false) => errorAt(error, `${pointer}/${key}`, deep);
  const set = (key: string, value: unknown) => onChange(setParam(rule, key, value));
  const hint = RULE_KINDS.find((k) => k.rule === rule.rule)?.hint;
  return (
    <Paper withBorder p="sm" role="group" aria-label={`Rule ${n}`}>
      <Stack gap="xs">
        <Group justify="space-between" wrap="nowrap">
          <Text size="sm">
            <Text span fw={600}>
              Rule {n}
            </Text>
            {hint ? (
              <Text span c="dimmed" size="sm">
                {" · "}
                {hint}
              </Text>
            ) : null}
          </Text>
          {!readOnly && (
            <ActionIcon variant="subtle" color="red" aria-label={`Remove rule ${n}`} onClick={onRemove}>
              ×
            </ActionIcon>
          )}
        </Group>
        <Group align="flex-start" gap="sm" wrap="wrap">
          {rule.rule === "requires" ? (
            <FieldSelect object={object} label="Field" w={280} disabled={readOnly} value={rule.then_required} onChange={(v) => set("then_required", v)} error={at("then_required")} />
          ) : (
            <FieldSelect object={object} label="Field" w={280} disabled={readOnly} value={rule.field} onChange={(v) => set("field", v)} error={at("field")} />
          )}
          <Select
            label="Rule"
            w={260}
            allowDeselect={false}
            disabled={readOnly}
            data={RULE_KINDS.map((k) => ({ value: k.rule, label: k.label }))}
            value={rule.rule}
            onChange={(k) => k && k !== rule.rule && onChange(changeRuleKind(rule, k as RuleKind))}
            error={at("rule")}
          />
          <RuleParams object={object} rule={rule} set={set} onChange={onChange} at={at} readOnly={readOnly} />
        </Group>
        <TextInput
          label="Message in the report (optional)"
          placeholder="Instead of the reason, e.g. needs a real address"
          maw={520}
          disabled={readOnly}
          value={rule.message ?? ""}
          onChange={(e) => onChange(setMessage(rule, e.currentTarget.value))}
          error={at("message")}
        />
        <ErrorText message={errorAt(error, pointer)} />
      </Stack>
    </Paper>
  );
}

function RuleParams({
  object,
  rule,
  set,
  onChange,
  at,
  readOnly,
}: {
  object: string;
  rule: Rule;
  set: (key: string, value: unknown) => void;
  onChange: (r: Rule) => void;
  at: (key: string, deep?: boolean) => string | undefined;
  readOnly: boolean;
}) {
  const regions = useMemo(() => regionOptions(), []);
  const fields = useFields(object).data?.fields ?? [];
  const num = (v: number | string) => (typeof v === "number" ? v : undefined);
  switch (rule.rule) {
    case "regex":
      return (
        <>
          <TextInput label="Pattern (regex)" w={240} placeholder="^\d{5}$" disabled={readOnly} value={rule.pattern} onChange={(e) => set("pattern", e.currentTarget.value)} error={at("pattern")} />
          <Checkbox mt={30} label="Ignore case" disabled={readOnly} checked={rule.ignore_case ?? false} onChange={(e) => set("ignore_case", e.currentTarget.checked || undefined)} />
        </>
      );
    case "phone":
      return (
        <>
          <Select
            label="Default country"
            placeholder="None: only numbers with +code"
            w={260}
            searchable
            clearable
            allowDeselect={false}
            disabled={readOnly}
            data={rule.region && !regions.some((r) => r.value === rule.region) ? [...regions, { value: rule.region, label: rule.region }] : regions}
            value={rule.region ?? null}
            onChange={(v) => set("region", v ?? undefined)}
            error={at("region")}
          />
          <Select
            label="Written in format"
            w={280}
            clearable
            placeholder="Any format"
            disabled={readOnly}
            data={PHONE_FORMATS}
            value={rule.format ?? null}
            onChange={(v) => set("format", v ?? undefined)}
            error={at("format")}
          />
        </>
      );
    case "one_of": {
      const options = fields.find((f) => f.name === rule.field)?.options ?? [];
      return (
        <>
          <TagsInput
            label="Allowed values"
            description={options.length ? "Pick or type; Enter after each" : "Enter after each"}
            w={340}
            disabled={readOnly}
            data={options}
            value={rule.values}
            onChange={(v) => set("values", v)}
            error={at("values", true)}
          />
          <Checkbox mt={30} label="Ignore case" disabled={readOnly} checked={rule.ignore_case ?? false} onChange={(e) => set("ignore_case", e.currentTarget.checked || undefined)} />
        </>
      );
    }
    case "length":
      return (
        <>
          <NumberInput label="At least (characters)" w={170} min={0} allowDecimal={false} disabled={readOnly} value={rule.min ?? ""} onChange={(v) => set("min", num(v))} error={at("min")} />
          <NumberInput label="At most (characters)" w={170} min={0} allowDecimal={false} disabled={readOnly} value={rule.max ?? ""} onChange={(v) => set("max", num(v))} error={at("max")} />
        </>
      );
    case "range":
      return (
        <>
          <NumberInput label="Minimum" w={150} disabled={readOnly} value={rule.min ?? ""} onChange={(v) => set("min", num(v))} error={at("min")} />
          <NumberInput label="Maximum" w={150} disabled={readOnly} value={rule.max ?? ""} onChange={(v) => set("max", num(v))} error={at("max")} />
        </>
      );
    case "requires": {
      const when = requiresWhen(rule);
      return (
        <Stack gap="xs">
          <Radio.Group label="Required when" value={when} onChange={(v) => onChange(setRequiresWhen(rule, v as "present" | "equals"))}>
            <Group mt={4}>
              <Radio value="present" label="another field is filled" disabled={readOnly} />
              <Radio value="equals" label="another field holds a value" disabled={readOnly} />
            </Group>
          </Radio.Group>
          {when === "present" ? (
            <FieldSelect object={object} label="When this field is filled" w={260} disabled={readOnly} value={rule.if_present ?? ""} onChange={(v) => set("if_present", v)} error={at("if_present")} />
          ) : (
            <Group align="flex-start">
              <FieldSelect
                object={object}
                label="When this field"
                w={240}
                disabled={readOnly}
                value={rule.if_equals?.field ?? ""}
                onChange={(v) => set("if_equals", { field: v, value: rule.if_equals?.value ?? "" })}
                error={at("if_equals/field") ?? at("if_equals")}
              />
              <TextInput
                label="Holds"
                w={200}
                disabled={readOnly}
                value={rule.if_equals?.value ?? ""}
                onChange={(e) => set("if_equals", { field: rule.if_equals?.field ?? "", value: e.currentTarget.value })}
                error={at("if_equals/value")}
              />
            </Group>
          )}
        </Stack>
      );
    }
    default:
      return null;
  }
}
