// Grid Edit's editor: what the grid shows (object, columns, filter, sort, page size) and the
// grid itself, whose edited cells are the run's `edits` (the module page sends them with
// POST /runs). Problems the API names at `/edits/<n>/...` are shown in the edited cell.
import { useMemo, useState } from "react";
import { Alert, Group, NumberInput, Paper, SegmentedControl, Select, Stack, Text, Title } from "@mantine/core";
import { errorAt } from "../../../../api/problem";
import type { components } from "../../../../api/schema";
import { FieldsSelect, ObjectSelect, useFields, type CrmField } from "../../../../components/crm";
import { FilterBuilder } from "../filter";
import type { Configs, EditorProps } from "../types";
import { claimsPointer, problemsByCell } from "./edits";
import { EditsPanel } from "./EditsPanel";
import { GridTable } from "./GridTable";
import { MAX_VIEW_PAGE, useGridRecords, type GridRecord } from "./records";

type GridConfig = Configs["grid"];
type Sort = components["schemas"]["Sort"];

export function emptyConfig(object: string): GridConfig {
  return { object, columns: [] };
}

export type GridEdit = components["schemas"]["CellEditInput"];
/** Grid's extra props: the cells edited so far (what a grid run applies). */
export interface GridEditsProps {
  edits: GridEdit[];
  onEditsChange: (edits: GridEdit[]) => void;
}

/**
 * Whether the grid editor shows the problem at `pointer` itself (the module page leaves it out
 * of its alert): the config inputs' pointers and every `/edits/<n>/...`, shown in edit n's cell.
 */
export function claims(_config: GridConfig, pointer: string): boolean {
  return claimsPointer(pointer);
}

/** `config` with `key` set, or left out when `value` is undefined (optional keys are absent, not null). */
function withKey<K extends "filter" | "sort" | "page_size">(config: GridConfig, key: K, value: GridConfig[K] | undefined): GridConfig {
  const next = { ...config };
  if (value === undefined || value === null) delete next[key];
  else next[key] = value;
  return next;
}

function SortPicker({ config, onChange, fields, error, readOnly }: { config: GridConfig; onChange: (c: GridConfig) => void; fields: CrmField[]; error: unknown; readOnly: boolean }) {
  const sort = config.sort ?? undefined;
  const data = [{ value: "", label: "The CRM's order" }, ...fields.map((f) => ({ value: f.name, label: f.label && f.label !== f.name ? `${f.label} (${f.name})` : f.name }))];
  if (sort && !data.some((d) => d.value === sort.field)) data.push({ value: sort.field, label: sort.field });
  const set = (s: Sort | undefined) => onChange(withKey(config, "sort", s));
  return (
    <Group align="flex-end" gap="xs">
      <Select
        label="Sort by"
        description="Saved with the template; the grid lists records in the CRM's order as they load"
        searchable
        allowDeselect={false}
        data={data}
        value={sort?.field ?? ""}
        onChange={(v) => set(v ? { field: v, direction: sort?.direction ?? "asc" } : undefined)}
        error={errorAt(error, "/config/sort/field") ?? errorAt(error, "/config/sort")}
        disabled={readOnly}
        w={320}
      />
      {sort && (
        <SegmentedControl
          aria-label="Sort direction"
          data={[
            { value: "asc", label: "Ascending" },
            { value: "desc", label: "Descending" },
          ]}
          value={sort.direction ?? "asc"}
          onChange={(d) => set({ field: sort.field, direction: d as Sort["direction"] & string })}
          disabled={readOnly}
        />
      )}
    </Group>
  );
}

export function GridEditor({ config, onChange, error, readOnly, edits, onEditsChange }: EditorProps<GridConfig> & GridEditsProps) {
  const fieldsQuery = useFields(config.object);
  const fieldList = useMemo(() => fieldsQuery.data?.fields ?? [], [fieldsQuery.data]);
  const fields = useMemo(() => new Map(fieldList.map((f) => [f.name, f])), [fieldList]);
  const view = useGridRecords(config);
  const records = useMemo(() => view.data?.pages.flatMap((p) => p.records) ?? [], [view.data]);
  const recordsById = useMemo(() => new Map<string, GridRecord>(records.map((r) => [r.id, r])), [records]);

  // The API's `/edits/<n>` pointers index the list that was sent: the edits as they were
  // when this error arrived.
  const [sent, setSent] = useState({ error, edits });
  if (sent.error !== error) setSent({ error, edits });
  const problems = useMemo(() => problemsByCell(error, sent.edits, edits), [error, sent.edits, edits]);

  const { fetchNextPage, hasNextPage, isFetchingNextPage } = view;
  const loadMore = useMemo(() => () => void fetchNextPage(), [fetchNextPage]);

  const setObject = (object: string) => {
    if (object === config.object) return;
    onChange(emptyConfig(object));
    if (edits.length > 0) onEditsChange([]);
  };

  return (
    <Stack gap="md">
      <Paper withBorder p="md" component="section" aria-labelledby="grid-config-title">
        <Title order={3} size="h4" id="grid-config-title" mb="xs">
          What the grid shows
        </Title>
        <Stack gap="sm">
          <Group align="flex-start" gap="md" grow preventGrowOverflow={false}>
            <ObjectSelect value={config.object} onChange={setObject} error={errorAt(error, "/config/object")} disabled={readOnly} maw={280} />
            <FieldsSelect
              object={config.object}
              label="Columns"
              description="The fields shown, in this order"
              placeholder={config.columns.length ? undefined : "Choose fields"}
              value={config.columns}
              onChange={(columns) => onChange({ ...config, columns })}
              error={errorAt(error, "/config/columns", true)}
              disabled={readOnly || !config.object}
              clearable
            />
          </Group>
          <div>
            <Text size="sm" fw={500} mb={4}>
              Which records
            </Text>
            <FilterBuilder
              object={config.object}
              value={config.filter}
              onChange={(f) => onChange(withKey(config, "filter", f))}
              error={error}
              pointer="/config/filter"
              readOnly={readOnly}
              emptyText={`No conditions: every ${config.object || "record"} record.`}
            />
          </div>
          <Group align="flex-end" gap="md">
            <SortPicker config={config} onChange={onChange} fields={fieldList} error={error} readOnly={readOnly} />
            <NumberInput
              label="Page size"
              description={`Records loaded at a time as you scroll (the grid loads at most ${MAX_VIEW_PAGE})`}
              min={1}
              max={500}
              allowDecimal={false}
              value={config.page_size ?? 100}
              onChange={(v) => onChange(withKey(config, "page_size", typeof v === "number" && v >= 1 ? v : undefined))}
              error={errorAt(error, "/config/page_size")}
              disabled={readOnly}
              w={300}
            />
          </Group>
        </Stack>
      </Paper>

      <section aria-labelledby="grid-records-title">
        <Group justify="space-between" mb={6}>
          <Title order={3} size="h4" id="grid-records-title">
            Records
          </Title>
          {config.columns.length > 0 && view.isSuccess && (
            <Text size="sm" c="dimmed" role="status">
              {records.length.toLocaleString()} {records.length === 1 ? "record" : "records"} loaded
              {hasNextPage ? " · more load as you scroll" : " · all loaded"}
            </Text>
          )}
        </Group>
        {readOnly && (
          <Text size="sm" mb={6}>
            You can read this module but not edit records.
          </Text>
        )}
        {!readOnly && config.columns.length > 0 && (
          <Text size="sm" c="dimmed" mb={6}>
            Click a cell or press Enter to edit it · Enter keeps the value · Esc cancels · Tab keeps it and moves right · arrow keys move between cells
          </Text>
        )}
        {!config.object || config.columns.length === 0 ? (
          <Paper withBorder p="lg">
            <Text c="dimmed">{config.object ? "Choose the columns to show, and the grid of records appears here." : "Choose an object."}</Text>
          </Paper>
        ) : view.isError ? (
          <Alert color="red" title="The records could not be loaded" role="alert">
            {view.error instanceof Error ? view.error.message : String(view.error)}
          </Alert>
        ) : view.isPending ? (
          <Paper withBorder p="lg">
            <Text c="dimmed">Loading records…</Text>
          </Paper>
        ) : records.length === 0 ? (
          <Paper withBorder p="lg">
            <Text c="dimmed">No records match.</Text>
          </Paper>
        ) : (
          <GridTable
            object={config.object}
            columns={config.columns}
            fields={fields}
            records={records}
            hasMore={Boolean(hasNextPage)}
            loadingMore={isFetchingNextPage}
            loadMore={loadMore}
            edits={edits}
            onEditsChange={onEditsChange}
            problems={problems}
            readOnly={readOnly}
          />
        )}
      </section>

      <EditsPanel edits={edits} onEditsChange={onEditsChange} fields={fields} recordsById={recordsById} problems={problems} readOnly={readOnly} />
    </Stack>
  );
}
