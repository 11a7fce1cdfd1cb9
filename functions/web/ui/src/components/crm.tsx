// The CRM's objects and fields, for every editor's pickers: GET /crm/objects and
// GET /crm/objects/{object}/fields (the server caches them per account for 5 minutes; the
// console keeps them as long).
import { Select, MultiSelect, type SelectProps, type MultiSelectProps } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { api } from "../api/client";
import { unwrap } from "../api/problem";
import type { components } from "../api/schema";

export type CrmField = components["schemas"]["Field"];
export type CrmObject = components["schemas"]["CrmObject"];

const FIVE_MINUTES = 5 * 60_000;

export function useObjects() {
  return useQuery({
    queryKey: ["crm", "objects"],
    queryFn: () => unwrap(api.GET("/crm/objects")),
    staleTime: FIVE_MINUTES,
  });
}

export function useFields(object: string | undefined) {
  return useQuery({
    queryKey: ["crm", "fields", object],
    queryFn: () => unwrap(api.GET("/crm/objects/{object}/fields", { params: { path: { object: object ?? "" } } })),
    enabled: Boolean(object),
    staleTime: FIVE_MINUTES,
  });
}

/** `label (name)` so people find a field by either. */
function fieldOption(f: CrmField) {
  return { value: f.name, label: f.label && f.label !== f.name ? `${f.label} (${f.name})` : f.name };
}

type Picked<P> = Omit<P, "data" | "value" | "onChange" | "filter">;

/** Picks one of the CRM's objects (by API name). */
export function ObjectSelect({ value, onChange, ...rest }: Picked<SelectProps> & { value: string; onChange: (v: string) => void }) {
  const objects = useObjects();
  const data = (objects.data?.objects ?? []).map((o) => ({ value: o.name, label: `${o.label} (${o.name})` }));
  if (value && !data.some((d) => d.value === value)) data.push({ value, label: value });
  return (
    <Select
      label="Object"
      searchable
      allowDeselect={false}
      data={data}
      value={value || null}
      onChange={(v) => v && onChange(v)}
      nothingFoundMessage={objects.isPending ? "Loading the CRM's objects…" : "No such object"}
      {...rest}
    />
  );
}

/**
 * Picks one field of `object`. `filter` narrows the choice (e.g. writable fields only).
 * A value the CRM does not have (an old template) stays visible, so its error can be read.
 */
export function FieldSelect({
  object,
  value,
  onChange,
  onClear,
  filter,
  ...rest
}: Picked<SelectProps> & { object: string; value: string | null | undefined; onChange: (v: string) => void; onClear?: () => void; filter?: (f: CrmField) => boolean }) {
  const fields = useFields(object);
  const data = (fields.data?.fields ?? []).filter((f) => !filter || filter(f)).map(fieldOption);
  if (value && !data.some((d) => d.value === value)) data.push({ value, label: value });
  return (
    <Select
      searchable
      allowDeselect={false}
      clearable={onClear !== undefined}
      data={data}
      value={value || null}
      onChange={(v) => (v ? onChange(v) : onClear?.())}
      nothingFoundMessage={fields.isPending ? "Loading fields…" : "No such field"}
      {...rest}
    />
  );
}

/** Picks several fields of `object`, in the order chosen. */
export function FieldsSelect({
  object,
  value,
  onChange,
  filter,
  ...rest
}: Picked<MultiSelectProps> & { object: string; value: string[]; onChange: (v: string[]) => void; filter?: (f: CrmField) => boolean }) {
  const fields = useFields(object);
  const data = (fields.data?.fields ?? []).filter((f) => !filter || filter(f)).map(fieldOption);
  for (const v of value) if (!data.some((d) => d.value === v)) data.push({ value: v, label: v });
  return <MultiSelect searchable data={data} value={value} onChange={onChange} {...rest} />;
}

/** The field's description from the schema, for type-aware editors (operators, inputs). */
export function useField(object: string, name: string | undefined): CrmField | undefined {
  const fields = useFields(object);
  return fields.data?.fields.find((f) => f.name === name);
}
