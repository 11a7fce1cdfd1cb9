// The Bulk Operations editor: the object, which of its records (the filter builder), and
// what to do with each (set, clear, copy, or archive/delete).
import { ActionIcon, Alert, Button, Group, Paper, Select, Stack, Text, Title } from "@mantine/core";
import { useCallback } from "react";
import { errorAt } from "../../../../api/problem";
import { useMe } from "../../../../api/session";
import { FieldSelect, FieldsSelect, ObjectSelect, useFields, type CrmField } from "../../../../components/crm";
import { ErrorText, FilterBuilder, omit, ScalarInput, useDefaultObject, useKeyedList } from "../filter";
import type { Configs, EditorProps } from "../types";
import { actionKind, actionKinds, archives, bulkClaims, changeActionKind, emptyBulk, nextAction, setInputKind, type ActionKind, type BulkAction } from "./actions";

export function emptyConfig(object: string): Configs["bulk"] {
  return emptyBulk(object);
}

/** Whether this editor shows the API's error at `pointer` beside an input (the page's alert shows the rest). */
export function claims(config: Configs["bulk"], pointer: string): boolean {
  return bulkClaims(config, pointer);
}

const writable = (f: CrmField) => f.writable;

export function BulkEditor({ config, onChange, error, readOnly }: EditorProps<Configs["bulk"]>) {
  useDefaultObject(config, onChange, emptyConfig, readOnly);
  const crm = useMe().data?.account.crm;
  const list = useKeyedList(config.actions, (actions) => onChange({ ...config, actions }));
  const changeObject = useCallback(
    (object: string) => {
      // Fields belong to the object: a new object starts a new filter and actions.
      onChange(object === config.object ? config : emptyConfig(object));
    },
    [config, onChange],
  );
  return (
    <Stack gap="md">
      <ObjectSelect w={320} value={config.object} onChange={changeObject} disabled={readOnly} error={errorAt(error, "/config/object")} />
      <Title order={3} size="h5">
        Which records
      </Title>
      <FilterBuilder
        object={config.object}
        value={config.filter}
        onChange={(filter) => {
          onChange(filter ? { ...config, filter } : omit(config, "filter"));
        }}
        error={error}
        pointer="/config/filter"
        readOnly={readOnly}
        emptyText={`No conditions: every ${config.object || "record"} record is changed.`}
      />
      <Title order={3} size="h5">
        What to do with each
      </Title>
      {list.items.map(({ key, value }, i) => (
        <ActionCard
          key={key}
          object={config.object}
          action={value}
          index={i}
          crm={crm}
          error={error}
          readOnly={readOnly}
          onChange={(a) => list.set(i, a)}
          onRemove={() => list.remove(i)}
        />
      ))}
      <ErrorText message={errorAt(error, "/config/actions")} />
      {archives(config.actions) && (
        <Alert color="yellow" title={crm === "salesforce" ? "Deleting records" : "Archiving records"}>
          {crm === "salesforce" ? "Delete" : "Archive"} stands alone: it cannot be combined with other actions. The audit keeps the filter's fields (and the fields you add) so the
          records can be restored.
        </Alert>
      )}
      {!readOnly && (
        <Group>
          <Button variant="light" onClick={() => list.add(nextAction())}>
            Add action
          </Button>
        </Group>
      )}
    </Stack>
  );
}

function ActionCard({
  object,
  action,
  index,
  crm,
  error,
  readOnly,
  onChange,
  onRemove,
}: {
  object: string;
  action: BulkAction;
  index: number;
  crm: string | undefined;
  error: unknown;
  readOnly: boolean;
  onChange: (a: BulkAction) => void;
  onRemove: () => void;
}) {
  const n = index + 1;
  const kind = actionKind(action);
  const ptr = `/config/actions/${index}`;
  const at = (key: string, deep = false) => errorAt(error, `${ptr}/${kind}/${key}`, deep);
  const kinds = actionKinds(crm);
  const data = kind === "delete" ? [...kinds, { value: "delete" as ActionKind, label: kinds[3]?.label ?? "Delete" }].filter((k) => k.value !== "archive") : kinds;
  return (
    <Paper withBorder p="sm" role="group" aria-label={`Action ${n}`}>
      <Group align="flex-start" gap="sm" wrap="wrap">
        <Select
          label="Action"
          w={240}
          allowDeselect={false}
          disabled={readOnly}
          data={data}
          value={kind}
          onChange={(k) => k && k !== kind && onChange(changeActionKind(action, k as ActionKind))}
          error={errorAt(error, `${ptr}/${kind}`)}
        />
        <ActionFields object={object} action={action} at={at} readOnly={readOnly} onChange={onChange} />
        {!readOnly && (
          <ActionIcon ml="auto" mt={28} variant="subtle" color="red" size="lg" aria-label={`Remove action ${n}`} onClick={onRemove}>
            ×
          </ActionIcon>
        )}
      </Group>
      <ErrorText message={errorAt(error, ptr)} />
    </Paper>
  );
}

function ActionFields({
  object,
  action,
  at,
  readOnly,
  onChange,
}: {
  object: string;
  action: BulkAction;
  at: (key: string, deep?: boolean) => string | undefined;
  readOnly: boolean;
  onChange: (a: BulkAction) => void;
}) {
  const fields = useFields(object).data?.fields ?? [];
  if ("set" in action) {
    const field = fields.find((f) => f.name === action.set.field);
    return (
      <>
        <FieldSelect object={object} label="Field" w={280} filter={writable} disabled={readOnly} value={action.set.field} onChange={(v) => onChange({ set: { field: v, value: "" } })} error={at("field")} />
        <ScalarInput
          label="New value"
          w={280}
          kind={setInputKind(field?.type)}
          field={field}
          value={action.set.value}
          onChange={(value) => onChange({ set: { ...action.set, value } })}
          readOnly={readOnly}
          error={at("value")}
        />
      </>
    );
  }
  if ("clear" in action)
    return <FieldSelect object={object} label="Field" w={280} filter={writable} disabled={readOnly} value={action.clear.field} onChange={(v) => onChange({ clear: { field: v } })} error={at("field")} />;
  if ("copy" in action)
    return (
      <>
        <FieldSelect object={object} label="Copy from" w={280} disabled={readOnly} value={action.copy.from} onChange={(v) => onChange({ copy: { ...action.copy, from: v } })} error={at("from")} />
        <FieldSelect object={object} label="Into" w={280} filter={writable} disabled={readOnly} value={action.copy.to} onChange={(v) => onChange({ copy: { ...action.copy, to: v } })} error={at("to")} />
      </>
    );
  const body = "archive" in action ? action.archive : action.delete;
  const name = "archive" in action ? "archive" : "delete";
  return (
    <Stack gap={4}>
      <FieldsSelect
        object={object}
        label="Also record in the audit"
        w={360}
        disabled={readOnly}
        value={body.keep ?? []}
        onChange={(keep) => onChange({ [name]: keep.length ? { keep } : {} } as BulkAction)}
        error={at("keep", true)}
      />
      <Text size="xs" c="dimmed">
        The filter&apos;s fields are always recorded.
      </Text>
    </Stack>
  );
}
