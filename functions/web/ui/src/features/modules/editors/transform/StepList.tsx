// The ordered list of transform steps (transform's `steps`, validate's `fix`): add,
// remove, move up/down, and each step's function with its own parameters.
import { ActionIcon, Autocomplete, Button, Checkbox, Group, MultiSelect, Paper, Select, Stack, TagsInput, Text, TextInput } from "@mantine/core";
import { useMemo } from "react";
import { errorAt } from "../../../../api/problem";
import { FieldSelect, FieldsSelect, type CrmField } from "../../../../components/crm";
import { ErrorText, useKeyedList } from "../filter";
import {
  CHAR_CLASSES,
  DATE_FORMATS,
  FUNCTIONS,
  PHONE_FORMATS,
  changeFunction,
  fieldRole,
  localeRegion,
  nextStep,
  param,
  regionOptions,
  setParam,
  type CharClass,
  type Step,
  type StepFn,
} from "./steps";

export interface StepListProps {
  object: string;
  steps: Step[];
  onChange: (steps: Step[]) => void;
  error: unknown;
  /** `/config/steps` or `/config/fix`. */
  pointer: string;
  readOnly: boolean;
  /** Said when there are no steps. */
  emptyText?: string;
  addLabel?: string;
  /** What a step is called on screen and in accessible names (`Step 2`, `Fix step 2`). */
  noun?: string;
}

const writable = (f: CrmField) => f.writable;
const anyField = () => true;

export function StepList({ object, steps, onChange, error, pointer, readOnly, emptyText, addLabel = "Add step", noun = "Step" }: StepListProps) {
  const list = useKeyedList(steps, onChange);
  return (
    <Stack gap="sm">
      {list.items.length === 0 && emptyText ? (
        <Text size="sm" c="dimmed">
          {emptyText}
        </Text>
      ) : null}
      {list.items.map(({ key, value: step }, i) => (
        <StepCard
          key={key}
          object={object}
          step={step}
          index={i}
          noun={noun}
          count={list.items.length}
          error={error}
          pointer={`${pointer}/${i}`}
          readOnly={readOnly}
          onChange={(s) => list.set(i, s)}
          onMove={(to) => list.move(i, to)}
          onRemove={() => list.remove(i)}
        />
      ))}
      <ErrorText message={errorAt(error, pointer)} />
      {!readOnly && (
        <Group>
          <Button variant="light" onClick={() => list.add(nextStep(steps))}>
            {addLabel}
          </Button>
        </Group>
      )}
    </Stack>
  );
}

function StepCard({
  object,
  step,
  index,
  noun,
  count,
  error,
  pointer,
  readOnly,
  onChange,
  onMove,
  onRemove,
}: {
  object: string;
  step: Step;
  index: number;
  noun: string;
  count: number;
  error: unknown;
  pointer: string;
  readOnly: boolean;
  onChange: (s: Step) => void;
  onMove: (to: number) => void;
  onRemove: () => void;
}) {
  const n = index + 1;
  const at = (key: string, deep = false) => errorAt(error, `${pointer}/${key}`, deep);
  const hint = FUNCTIONS.find((f) => f.fn === step.fn)?.hint;
  return (
    <Paper withBorder p="sm" role="group" aria-label={`${noun} ${n}`}>
      <Stack gap="xs">
        <Group justify="space-between" wrap="nowrap">
          <Text size="sm">
            <Text span fw={600}>
              {noun} {n}
            </Text>
            {hint ? (
              <Text span c="dimmed" size="sm">
                {" · "}
                {hint}
              </Text>
            ) : null}
          </Text>
          {!readOnly && (
            <Group gap={4}>
              <ActionIcon variant="subtle" aria-label={`Move ${noun.toLowerCase()} ${n} up`} disabled={index === 0} onClick={() => onMove(index - 1)}>
                ↑
              </ActionIcon>
              <ActionIcon variant="subtle" aria-label={`Move ${noun.toLowerCase()} ${n} down`} disabled={index === count - 1} onClick={() => onMove(index + 1)}>
                ↓
              </ActionIcon>
              <ActionIcon variant="subtle" color="red" aria-label={`Remove ${noun.toLowerCase()} ${n}`} onClick={onRemove}>
                ×
              </ActionIcon>
            </Group>
          )}
        </Group>
        <Group align="flex-start" gap="sm" wrap="wrap">
          <Select
            label="Function"
            w={260}
            allowDeselect={false}
            searchable
            disabled={readOnly}
            data={FUNCTIONS.map((f) => ({ value: f.fn, label: f.label }))}
            value={step.fn}
            onChange={(fn) => fn && fn !== step.fn && onChange(changeFunction(step, fn as StepFn, localeRegion()))}
            error={at("fn")}
          />
          <FieldSelect
            object={object}
            label={fieldRole(step.fn)}
            w={280}
            disabled={readOnly}
            filter={step.fn === "split_name" ? anyField : writable}
            value={step.field}
            onChange={(field) => onChange({ ...step, field })}
            error={at("field")}
          />
          <StepParams object={object} step={step} onChange={onChange} at={at} readOnly={readOnly} />
        </Group>
        <ErrorText message={errorAt(error, pointer)} />
      </Stack>
    </Paper>
  );
}

function StepParams({ object, step, onChange, at, readOnly }: { object: string; step: Step; onChange: (s: Step) => void; at: (key: string, deep?: boolean) => string | undefined; readOnly: boolean }) {
  const regions = useMemo(() => regionOptions(), []);
  const set = (key: string, value: unknown) => onChange(setParam(step, key, value));
  const text = (key: string) => param<string>(step, key) ?? "";
  const flag = (key: string, label: string, byDefault: boolean) => (
    <Checkbox mt={30} label={label} disabled={readOnly} checked={param<boolean>(step, key) ?? byDefault} onChange={(e) => set(key, e.currentTarget.checked)} error={at(key)} />
  );
  switch (step.fn) {
    case "trim":
      return flag("collapse", "Also collapse spaces inside", true);
    case "title_case":
      return (
        <>
          {flag("particles", "Keep van, de, la lowercase", true)}
          {flag("mac", "MacLeod-style names", false)}
        </>
      );
    case "phone":
      return (
        <>
          <Select label="Format" w={280} allowDeselect={false} disabled={readOnly} data={PHONE_FORMATS} value={step.format ?? "e164"} onChange={(v) => v && set("format", v)} error={at("format")} />
          <Select
            label="Default country"
            placeholder="None: only numbers with +code"
            w={260}
            searchable
            clearable
            allowDeselect={false}
            disabled={readOnly}
            data={withValue(regions, step.default_region)}
            value={step.default_region ?? null}
            onChange={(v) => set("default_region", v ?? undefined)}
            error={at("default_region")}
          />
          <FieldSelect
            object={object}
            label="Record's country field"
            placeholder="None: the default country"
            w={260}
            disabled={readOnly}
            value={step.region_field}
            onChange={(v) => set("region_field", v)}
            onClear={() => set("region_field", undefined)}
            error={at("region_field")}
          />
        </>
      );
    case "country":
      return (
        <Select
          label="Write as"
          w={240}
          allowDeselect={false}
          disabled={readOnly}
          data={[
            { value: "alpha2", label: "Two-letter code (US)" },
            { value: "alpha3", label: "Three-letter code (USA)" },
            { value: "name", label: "Name (United States)" },
          ]}
          value={step.to}
          onChange={(v) => v && set("to", v)}
          error={at("to")}
        />
      );
    case "state":
      return (
        <>
          <Select
            label="Write as"
            w={220}
            allowDeselect={false}
            disabled={readOnly}
            data={[
              { value: "code", label: "Code (CA, ON)" },
              { value: "name", label: "Name (California, Ontario)" },
            ]}
            value={step.to}
            onChange={(v) => v && set("to", v)}
            error={at("to")}
          />
          <Select
            label="Country"
            w={220}
            allowDeselect={false}
            disabled={readOnly}
            data={[
              { value: "both", label: "US and Canada" },
              { value: "US", label: "United States only" },
              { value: "CA", label: "Canada only" },
            ]}
            value={step.country ?? "both"}
            onChange={(v) => set("country", v === "both" || !v ? undefined : v)}
            error={at("country")}
          />
        </>
      );
    case "split_name":
      return (
        <>
          <FieldSelect object={object} label="First name into" w={240} disabled={readOnly} filter={writable} value={step.first} onChange={(v) => set("first", v)} error={at("first")} />
          <FieldSelect object={object} label="Last name into" w={240} disabled={readOnly} filter={writable} value={step.last} onChange={(v) => set("last", v)} error={at("last")} />
        </>
      );
    case "join":
      return (
        <>
          <FieldsSelect object={object} label="Fields to join" w={320} disabled={readOnly} value={step.from} onChange={(v) => set("from", v)} error={at("from", true)} />
          <TextInput label="Separator" description="A space when empty" w={140} disabled={readOnly} value={step.separator ?? ""} onChange={(e) => set("separator", e.currentTarget.value === "" ? undefined : e.currentTarget.value)} error={at("separator")} />
        </>
      );
    case "copy":
      return <FieldSelect object={object} label="Copy from" w={240} disabled={readOnly} value={step.from} onChange={(v) => set("from", v)} error={at("from")} />;
    case "replace":
      return (
        <>
          <TextInput label="Find (regex)" w={240} disabled={readOnly} value={step.pattern} onChange={(e) => set("pattern", e.currentTarget.value)} error={at("pattern")} />
          <TextInput label="Replace with" placeholder="$1 inserts group 1" w={200} disabled={readOnly} value={step.with ?? ""} onChange={(e) => set("with", e.currentTarget.value)} error={at("with")} />
          {flag("ignore_case", "Ignore case", false)}
        </>
      );
    case "remove":
      return (
        <>
          <TextInput label="Characters to remove" w={200} placeholder="()-." disabled={readOnly} value={text("chars")} onChange={(e) => set("chars", e.currentTarget.value === "" ? undefined : e.currentTarget.value)} error={at("chars")} />
          <MultiSelect
            label="And every"
            w={320}
            disabled={readOnly}
            data={CHAR_CLASSES}
            value={step.classes ?? []}
            onChange={(v) => set("classes", v.length ? (v as CharClass[]) : undefined)}
            error={at("classes", true)}
          />
        </>
      );
    case "date":
      return (
        <>
          <Autocomplete label="Write as (format)" description="%Y-%m-%d is 2024-03-05" w={240} disabled={readOnly} data={DATE_FORMATS} value={step.to} onChange={(v) => set("to", v)} error={at("to")} />
          <TagsInput
            label="Read only these formats"
            description="Empty: every common layout"
            w={260}
            disabled={readOnly}
            data={DATE_FORMATS}
            value={step.from ?? []}
            onChange={(v) => set("from", v.length ? v : undefined)}
            error={at("from", true)}
          />
          {flag("day_first", "Day before month (05/03 is 5 March)", false)}
        </>
      );
    case "default":
      return <TextInput label="Value when empty" w={240} disabled={readOnly} value={step.value} onChange={(e) => set("value", e.currentTarget.value)} error={at("value")} />;
    default:
      return null;
  }
}

function withValue(options: { value: string; label: string }[], value: string | null | undefined) {
  return value && !options.some((o) => o.value === value) ? [...options, { value, label: value }] : options;
}
