// The filter builder: AND/OR groups (nestable) of conditions, each a field, an operator
// offered by the field's type, and value inputs suited to it. Controlled by the API's
// Filter; every API error is shown beside the part its pointer names.
import { ActionIcon, Button, Checkbox, Group, MultiSelect, NumberInput, Paper, Select, Stack, TagsInput, Text, TextInput } from "@mantine/core";
import { errorAt } from "../../../../api/problem";
import { FieldSelect, useFields, type CrmField } from "../../../../components/crm";
import {
  addItem,
  arity,
  changeField,
  changeOperator,
  comparesText,
  emptyGroup,
  fromFilter,
  inputKind,
  newCondition,
  operatorLabel,
  operatorsFor,
  pointers,
  toFilter,
  updateNode,
  type ConditionNode,
  type Filter,
  type FilterNode,
  type GroupNode,
  type InputKind,
  type Scalar,
} from "./filter";
import { useSynced } from "./useSynced";

export interface FilterBuilderProps {
  /** The CRM object whose fields are offered. */
  object: string;
  value: Filter | null | undefined;
  /** undefined: no conditions (every record). */
  onChange: (filter: Filter | undefined) => void;
  /** The last API problem, read at `pointer` and below. */
  error: unknown;
  /** Where the filter sits in the request body (`/config/filter`). */
  pointer: string;
  readOnly?: boolean;
  /** Said when there are no conditions (`Every contacts record`). */
  emptyText?: string;
}

interface Ctx {
  object: string;
  fields: CrmField[];
  error: unknown;
  ptrs: Map<string, string>;
  readOnly: boolean;
  edit: (key: string, update: (n: FilterNode) => FilterNode | null) => void;
  add: (groupKey: string, item: FilterNode) => void;
}

export function FilterBuilder({ object, value, onChange, error, pointer, readOnly = false, emptyText }: FilterBuilderProps) {
  const [root, setRoot] = useSynced(value ?? undefined, fromFilter, toFilter);
  const fields = useFields(object).data?.fields ?? [];
  const commit = (next: GroupNode) => {
    setRoot(next);
    onChange(toFilter(next));
  };
  const ctx: Ctx = {
    object,
    fields,
    error,
    ptrs: pointers(root, pointer),
    readOnly,
    edit: (key, update) => commit(updateNode(root, key, update)),
    add: (groupKey, item) => commit(addItem(root, groupKey, item)),
  };
  return (
    <Stack gap="xs">
      {root.items.length === 0 ? (
        <Text size="sm" c="dimmed">
          {emptyText ?? "No conditions: every record."}
        </Text>
      ) : (
        <GroupBody group={root} path="" ctx={ctx} />
      )}
      <ErrorText message={errorAt(error, pointer)} />
      {!readOnly && <AddButtons group={root} ctx={ctx} />}
    </Stack>
  );
}

function AddButtons({ group, ctx, label }: { group: GroupNode; ctx: Ctx; label?: string }) {
  const suffix = label ? ` to ${label}` : "";
  return (
    <Group gap="xs">
      <Button size="xs" variant="light" onClick={() => ctx.add(group.key, newCondition())}>
        Add condition{suffix}
      </Button>
      <Button size="xs" variant="subtle" onClick={() => ctx.add(group.key, { ...emptyGroup(group.join === "all" ? "any" : "all"), items: [newCondition()] })}>
        Add group{suffix}
      </Button>
    </Group>
  );
}

function GroupBody({ group, path, ctx }: { group: GroupNode; path: string; ctx: Ctx }) {
  const ptr = ctx.ptrs.get(group.key) ?? "";
  const name = path ? `Group ${path}` : "Conditions";
  return (
    <Stack gap="xs">
      {group.items.length > 1 || path ? (
        <Select
          label={path ? `${name}: match` : "Match"}
          w={260}
          allowDeselect={false}
          disabled={ctx.readOnly}
          data={[
            { value: "all", label: "All of these (AND)" },
            { value: "any", label: "Any of these (OR)" },
          ]}
          value={group.join}
          onChange={(v) => v && ctx.edit(group.key, (g) => ({ ...(g as GroupNode), join: v as "all" | "any" }))}
        />
      ) : null}
      {group.items.map((item, i) => {
        const p = path ? `${path}.${i + 1}` : `${i + 1}`;
        return item.kind === "condition" ? (
          <ConditionRow key={item.key} node={item} path={p} ctx={ctx} />
        ) : (
          <Paper key={item.key} withBorder p="sm" role="group" aria-label={`Group ${p}`}>
            <Stack gap="xs">
              <GroupBody group={item} path={p} ctx={ctx} />
              {!ctx.readOnly && (
                <Group justify="space-between">
                  <AddButtons group={item} ctx={ctx} label={`group ${p}`} />
                  <Button size="xs" variant="subtle" color="red" onClick={() => ctx.edit(item.key, () => null)}>
                    Remove group {p}
                  </Button>
                </Group>
              )}
            </Stack>
          </Paper>
        );
      })}
      <ErrorText message={errorAt(ctx.error, `${ptr}/${group.join}`)} />
    </Stack>
  );
}

function ConditionRow({ node, path, ctx }: { node: ConditionNode; path: string; ctx: Ctx }) {
  const ptr = ctx.ptrs.get(node.key) ?? "";
  const field = ctx.fields.find((f) => f.name === node.field);
  const kind = inputKind(node, field?.type);
  const offered = operatorsFor(field?.type);
  const ops = offered.includes(node.op) ? offered : [...offered, node.op];
  const set = (next: ConditionNode) => ctx.edit(node.key, () => next);
  const label = `Condition ${path}`;
  return (
    <Group role="group" aria-label={label} align="flex-start" gap="xs" wrap="wrap">
      <FieldSelect
        object={ctx.object}
        label="Field"
        w={280}
        disabled={ctx.readOnly}
        value={node.field}
        onChange={(name) => set(changeField(node, name, ctx.fields.find((f) => f.name === name)?.type))}
        error={errorAt(ctx.error, `${ptr}/field`) ?? errorAt(ctx.error, ptr)}
      />
      <Select
        label="Operator"
        w={180}
        allowDeselect={false}
        disabled={ctx.readOnly}
        data={ops.map((op) => ({ value: op, label: operatorLabel(op, kind) }))}
        value={node.op}
        onChange={(op) => op && set(changeOperator(node, op as ConditionNode["op"]))}
        error={errorAt(ctx.error, `${ptr}/op`)}
      />
      <ValueInputs node={node} kind={kind} field={field} ptr={ptr} ctx={ctx} onChange={set} />
      {comparesText(node) && arity(node.op) !== "none" && kind === "text" && (
        <Checkbox
          mt={32}
          label="Match case"
          disabled={ctx.readOnly}
          checked={node.case_sensitive ?? false}
          onChange={(e) => set({ ...node, case_sensitive: e.currentTarget.checked })}
          error={errorAt(ctx.error, `${ptr}/case_sensitive`)}
        />
      )}
      {!ctx.readOnly && (
        <ActionIcon mt={28} variant="subtle" color="red" size="lg" aria-label={`Remove condition ${path}`} onClick={() => ctx.edit(node.key, () => null)}>
          ×
        </ActionIcon>
      )}
    </Group>
  );
}

function ValueInputs({ node, kind, field, ptr, ctx, onChange }: { node: ConditionNode; kind: InputKind; field: CrmField | undefined; ptr: string; ctx: Ctx; onChange: (n: ConditionNode) => void }) {
  const vptr = `${ptr}/value`;
  const typeError = errorAt(ctx.error, `${ptr}/type`);
  const n = arity(node.op);
  if (n === "none") return typeError ? <ErrorText message={typeError} /> : null;
  if (n === "many") {
    const values = (Array.isArray(node.value) ? node.value : []).map(String);
    const error = errorAt(ctx.error, vptr, true) ?? typeError;
    const set = (vs: string[]) => onChange({ ...node, value: vs });
    return kind === "picklist" && field && field.options.length > 0 ? (
      <MultiSelect label="Values" w={300} searchable disabled={ctx.readOnly} data={withCurrent(field.options, values)} value={values} onChange={set} error={error} />
    ) : (
      <TagsInput label="Values" description="Press Enter after each" w={300} disabled={ctx.readOnly} value={values} onChange={set} error={error} />
    );
  }
  if (n === "two") {
    const pair = Array.isArray(node.value) ? node.value : [];
    const setAt = (i: number, v: Scalar) => {
      const next: Scalar[] = [pair[0] ?? "", pair[1] ?? ""];
      next[i] = v;
      onChange({ ...node, value: next });
    };
    return (
      <>
        <ScalarInput label="From" kind={kind} field={field} value={pair[0]} onChange={(v) => setAt(0, v)} readOnly={ctx.readOnly} error={errorAt(ctx.error, `${vptr}/0`) ?? errorAt(ctx.error, vptr) ?? typeError} />
        <ScalarInput label="To" kind={kind} field={field} value={pair[1]} onChange={(v) => setAt(1, v)} readOnly={ctx.readOnly} error={errorAt(ctx.error, `${vptr}/1`)} />
      </>
    );
  }
  return (
    <ScalarInput
      label="Value"
      kind={kind}
      field={field}
      value={Array.isArray(node.value) ? node.value[0] : node.value}
      onChange={(v) => onChange({ ...node, value: v })}
      readOnly={ctx.readOnly}
      error={errorAt(ctx.error, vptr) ?? typeError}
    />
  );
}

function withCurrent(options: string[], values: string[]): string[] {
  return [...options, ...values.filter((v) => !options.includes(v))];
}

/** One value, in the input its kind calls for. */
export function ScalarInput({
  label,
  kind,
  field,
  value,
  onChange,
  readOnly,
  error,
  w = 220,
}: {
  label: string;
  kind: InputKind;
  field: CrmField | undefined;
  value: Scalar | undefined;
  onChange: (v: Scalar) => void;
  readOnly: boolean;
  error: string | undefined;
  w?: number;
}) {
  const text = value === undefined ? "" : String(value);
  switch (kind) {
    case "number":
      return (
        <NumberInput
          label={label}
          w={w}
          disabled={readOnly}
          value={typeof value === "number" ? value : text}
          onChange={onChange}
          error={error}
        />
      );
    case "date":
      return <TextInput type="date" label={label} w={w} disabled={readOnly} value={text} onChange={(e) => onChange(e.currentTarget.value)} error={error} />;
    case "datetime":
      return <TextInput label={label} w={w} placeholder="2024-01-31T09:00:00Z" disabled={readOnly} value={text} onChange={(e) => onChange(e.currentTarget.value)} error={error} />;
    case "bool":
      return (
        <Select
          label={label}
          w={w}
          allowDeselect={false}
          disabled={readOnly}
          data={[
            { value: "true", label: "Yes (true)" },
            { value: "false", label: "No (false)" },
          ]}
          value={text === "" ? null : text.toLowerCase()}
          onChange={(v) => v && onChange(v)}
          error={error}
        />
      );
    case "picklist":
      if (field && field.options.length > 0)
        return <Select label={label} w={w} searchable allowDeselect={false} disabled={readOnly} data={withCurrent(field.options, text ? [text] : [])} value={text || null} onChange={(v) => v !== null && onChange(v)} error={error} />;
      return <TextInput label={label} w={w} disabled={readOnly} value={text} onChange={(e) => onChange(e.currentTarget.value)} error={error} />;
    default:
      return <TextInput label={label} w={w} disabled={readOnly} value={text} onChange={(e) => onChange(e.currentTarget.value)} error={error} />;
  }
}

export function ErrorText({ message }: { message: string | undefined }) {
  if (!message) return null;
  return (
    <Text size="sm" c="red.8" role="alert">
      {message}
    </Text>
  );
}

