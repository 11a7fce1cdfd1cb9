// The editable grid: the records of POST /grid/records in a virtualized table (only the rows
// in view are in the page, so thousands scroll smoothly), more pages loaded as the person
// nears the end. Keyboard: arrows move, Enter or F2 edits, Enter saves, Escape cancels, Tab
// saves and moves right; a click edits too. Events are handled once on the table (the cell is
// found from the event), so rows re-render only when their own data changes.
import { memo, useCallback, useEffect, useId, useMemo, useRef, useState, type FocusEvent, type KeyboardEvent, type MouseEvent } from "react";
import { VisuallyHidden } from "@mantine/core";
import { useVirtualizer } from "@tanstack/react-virtual";
import type { CrmField } from "../../../../components/crm";
import { CellEditor } from "./CellEditor";
import { checkValue } from "./checks";
import { findEdit, setEdit, type CellEdit } from "./edits";
import { formatCell } from "./format";
import type { GridRecord } from "./records";
import classes from "./grid.module.css";

const ROW_HEIGHT = 36;
const ID_WIDTH = 120;

function columnWidth(field: CrmField | undefined): number {
  return field?.type === "bool" ? 110 : 210;
}

interface Editing {
  row: number;
  col: number;
  draft: string;
}

export interface GridTableProps {
  object: string;
  columns: string[];
  fields: Map<string, CrmField>;
  records: GridRecord[];
  hasMore: boolean;
  loadingMore: boolean;
  loadMore: () => void;
  edits: CellEdit[];
  onEditsChange: (edits: CellEdit[]) => void;
  /** The API's problems about edits, by cellKey. */
  problems: Map<string, string>;
  readOnly: boolean;
}

export function fieldLabel(fields: Map<string, CrmField>, name: string): string {
  return fields.get(name)?.label || name;
}

/** What a cell says it is to assistive technology: its value, edit and problem. */
function describe(shown: string, original: string, edited: boolean, problem: string | undefined): string | undefined {
  if (!edited && !problem) return undefined;
  const parts = [shown || "empty"];
  if (edited) parts.push(`edited: was ${original || "empty"}`);
  if (problem) parts.push(`problem: ${problem}`);
  return parts.length === 1 ? parts[0] : `${parts[0]} (${parts.slice(1).join("; ")})`;
}

interface RowProps {
  index: number;
  record: GridRecord;
  columns: string[];
  fields: Map<string, CrmField>;
  rowEdits: Map<string, CellEdit> | undefined;
  rowProblems: Map<string, string> | undefined;
  /** The column of the active cell when it is in this row (-1 when not). */
  activeCol: number;
  tabbableCol: number;
  editing: Editing | undefined;
  readOnly: boolean;
  idPrefix: string;
  onDraft: (v: string) => void;
}

const Row = memo(function Row({ index, record, columns, fields, rowEdits, rowProblems, activeCol, tabbableCol, editing, readOnly, idPrefix, onDraft }: RowProps) {
  return (
    <tr aria-rowindex={index + 2}>
      <th scope="row" className={classes.idCell} data-row={index} data-col={0} tabIndex={tabbableCol === 0 ? 0 : -1}>
        {record.id}
      </th>
      {columns.map((name, i) => {
        const col = i + 1;
        const field = fields.get(name);
        const edit = rowEdits?.get(name);
        const original = record.properties[name] ?? "";
        const value = edit ? (edit.value ?? "") : original;
        const writable = Boolean(field?.writable) && !readOnly;
        const isEditing = editing?.col === col;
        const typeProblem = edit && field ? checkValue(field, edit.value) : undefined;
        const problem = typeProblem ?? rowProblems?.get(name);
        const shown = formatCell(field, value);
        const label = describe(shown, formatCell(field, original), Boolean(edit), problem);
        const problemId = `${idPrefix}-p-${index}-${col}`;
        const draftProblem = isEditing && field ? checkValue(field, editing.draft) : undefined;
        const className = [
          classes.cell,
          !writable && classes.readOnlyCell,
          edit && classes.edited,
          problem && !isEditing && classes.invalid,
          (isEditing || (problem && activeCol === col)) && classes.editing,
        ]
          .filter(Boolean)
          .join(" ");
        return (
          <td
            key={name}
            className={className}
            data-row={index}
            data-col={col}
            tabIndex={tabbableCol === col && !isEditing ? 0 : -1}
            aria-readonly={writable ? undefined : true}
            aria-invalid={problem ? true : undefined}
            aria-label={isEditing ? undefined : label}
            title={isEditing ? undefined : (label ?? (field && !field.writable ? `${field.label || name} is read-only` : undefined))}
          >
            {isEditing && field ? (
              <CellEditor
                field={field}
                label={`${fieldLabel(fields, name)} of record ${record.id}`}
                draft={editing.draft}
                problem={draftProblem}
                problemId={problemId}
                onDraft={onDraft}
              />
            ) : (
              <>
                {problem && <span aria-hidden="true">⚠ </span>}
                {shown}
                {problem && activeCol === col && (
                  <span className={classes.message} aria-hidden="true">
                    {problem}
                  </span>
                )}
              </>
            )}
          </td>
        );
      })}
    </tr>
  );
});

export function GridTable({ object, columns, fields, records, hasMore, loadingMore, loadMore, edits, onEditsChange, problems, readOnly }: GridTableProps) {
  const idPrefix = useId();
  const scroller = useRef<HTMLDivElement>(null);
  const table = useRef<HTMLTableElement>(null);
  const [active, setActive] = useState({ row: 0, col: 1 });
  const [editing, setEditing] = useState<Editing | undefined>();
  const [announcement, setAnnouncement] = useState("");
  const focusPending = useRef(false);
  const lastCol = columns.length;

  // The virtualizer re-renders this component as the person scrolls (not memoized by design).
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count: records.length + (hasMore ? 1 : 0),
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    // Rendered with the next frame rather than synchronously inside each scroll event: a fast
    // wheel gives one render per frame, not one per event.
    useFlushSync: false,
  });
  const items = virtualizer.getVirtualItems();
  const first = items[0];
  const last = items[items.length - 1];

  // Load the next page before the person reaches the end.
  useEffect(() => {
    if (last && hasMore && !loadingMore && last.index >= records.length - 30) loadMore();
  }, [last, hasMore, loadingMore, records.length, loadMore]);

  // Focus follows the active cell once its row is rendered.
  useEffect(() => {
    if (!focusPending.current || editing) return;
    const el = table.current?.querySelector<HTMLElement>(`[data-row="${active.row}"][data-col="${active.col}"]`);
    if (el) {
      el.focus({ preventScroll: true });
      focusPending.current = false;
    }
  });

  const editsByRow = useMemo(() => {
    const out = new Map<string, Map<string, CellEdit>>();
    for (const e of edits) {
      let row = out.get(e.id);
      if (!row) out.set(e.id, (row = new Map()));
      row.set(e.field, e);
    }
    return out;
  }, [edits]);
  const problemsByRow = useMemo(() => {
    const out = new Map<string, Map<string, string>>();
    for (const [key, message] of problems) {
      const [id = "", field = ""] = key.split("\u0000");
      let row = out.get(id);
      if (!row) out.set(id, (row = new Map()));
      row.set(field, message);
    }
    return out;
  }, [problems]);

  const onDraft = useCallback((draft: string) => setEditing((e) => e && { ...e, draft }), []);

  const moveTo = (row: number, col: number) => {
    const r = Math.max(0, Math.min(records.length - 1, row));
    const c = Math.max(0, Math.min(lastCol, col));
    setActive({ row: r, col: c });
    focusPending.current = true;
    virtualizer.scrollToIndex(r, { align: "auto" });
  };

  const writableAt = (col: number) => !readOnly && col > 0 && Boolean(fields.get(columns[col - 1] ?? "")?.writable);

  const startEdit = (row: number, col: number, initial?: string) => {
    const record = records[row];
    const name = columns[col - 1];
    if (!record || !name || !writableAt(col)) return;
    const edit = findEdit(edits, record.id, name)?.edit;
    const draft = initial ?? (edit ? (edit.value ?? "") : (record.properties[name] ?? ""));
    setActive({ row, col });
    setEditing({ row, col, draft });
  };

  const commit = (then?: { row: number; col: number }) => {
    if (!editing) return;
    const record = records[editing.row];
    const name = columns[editing.col - 1];
    setEditing(undefined);
    focusPending.current = true;
    if (record && name) {
      const original = record.properties[name] ?? null;
      const next = setEdit(edits, record.id, name, editing.draft, original);
      if (JSON.stringify(next) !== JSON.stringify(edits)) {
        onEditsChange(next);
        const label = fieldLabel(fields, name);
        const field = fields.get(name);
        const problem = field ? checkValue(field, editing.draft) : undefined;
        setAnnouncement(
          findEdit(next, record.id, name)
            ? `${label} of record ${record.id} edited: was ${original || "empty"}${problem ? `; ${problem}` : ""}`
            : `${label} of record ${record.id} is back to ${original || "empty"}`,
        );
      }
    }
    if (then) moveTo(then.row, then.col);
  };

  const cancel = () => {
    setEditing(undefined);
    focusPending.current = true;
  };

  /** The next (or previous) cell in reading order, for Tab. */
  const step = (row: number, col: number, back: boolean) => {
    if (back) return col > 1 ? { row, col: col - 1 } : { row: Math.max(0, row - 1), col: lastCol };
    return col < lastCol ? { row, col: col + 1 } : { row: Math.min(records.length - 1, row + 1), col: 1 };
  };

  const cellOf = (target: EventTarget | null): { row: number; col: number } | undefined => {
    const el = (target as HTMLElement | null)?.closest?.("[data-row]");
    if (!el) return undefined;
    return { row: Number(el.getAttribute("data-row")), col: Number(el.getAttribute("data-col")) };
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTableElement>) => {
    if (editing) {
      if (e.key === "Enter") {
        e.preventDefault();
        commit();
      } else if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        cancel();
      } else if (e.key === "Tab") {
        e.preventDefault();
        commit(step(editing.row, editing.col, e.shiftKey));
      }
      return;
    }
    const at = cellOf(e.target);
    if (!at) return;
    const keys: Record<string, () => void> = {
      ArrowDown: () => moveTo(at.row + 1, at.col),
      ArrowUp: () => moveTo(at.row - 1, at.col),
      ArrowRight: () => moveTo(at.row, at.col + 1),
      ArrowLeft: () => moveTo(at.row, at.col - 1),
      PageDown: () => moveTo(at.row + 10, at.col),
      PageUp: () => moveTo(at.row - 10, at.col),
      Home: () => moveTo(e.ctrlKey ? 0 : at.row, 0),
      End: () => moveTo(e.ctrlKey ? records.length - 1 : at.row, lastCol),
      Enter: () => startEdit(at.row, at.col),
      F2: () => startEdit(at.row, at.col),
    };
    const act = keys[e.key];
    if (act) {
      e.preventDefault();
      act();
    } else if (e.key.length === 1 && !e.ctrlKey && !e.metaKey && !e.altKey && writableAt(at.col)) {
      const type = fields.get(columns[at.col - 1] ?? "")?.type;
      if (type !== "enumeration" && type !== "bool") {
        // Typing on a cell replaces its value, as in a spreadsheet.
        e.preventDefault();
        startEdit(at.row, at.col, e.key);
      }
    }
  };

  const onClick = (e: MouseEvent<HTMLTableElement>) => {
    if ((e.target as HTMLElement).closest("[data-cell-editor]")) return;
    const at = cellOf(e.target);
    if (!at) return;
    if (editing && (editing.row !== at.row || editing.col !== at.col)) commit();
    setActive(at);
    if (writableAt(at.col)) startEdit(at.row, at.col);
  };

  const onFocus = (e: FocusEvent<HTMLTableElement>) => {
    const at = cellOf(e.target);
    if (at && !editing && (at.row !== active.row || at.col !== active.col)) setActive(at);
  };

  // Leaving the editor (clicking elsewhere on the page) keeps what was typed.
  const onBlur = (e: FocusEvent<HTMLTableElement>) => {
    if (!editing || !(e.target as HTMLElement).hasAttribute("data-cell-editor")) return;
    if (table.current?.contains(e.relatedTarget as Node | null)) return;
    commit();
  };

  const renderedRows = items.filter((i) => i.index < records.length);
  const activeRendered = renderedRows.some((i) => i.index === active.row);
  const tabbableRow = activeRendered ? active.row : (renderedRows[0]?.index ?? 0);
  const paddingTop = first ? first.start : 0;
  const paddingBottom = last ? virtualizer.getTotalSize() - last.end : 0;
  const colSpan = columns.length + 1;

  return (
    <>
      <div ref={scroller} className={classes.scroller} data-grid-scroller="">
        <table
          ref={table}
          role="grid"
          className={classes.table}
          aria-label={`Records of ${object}`}
          aria-rowcount={hasMore ? -1 : records.length + 1}
          aria-colcount={colSpan}
          aria-readonly={readOnly || undefined}
          style={{ width: ID_WIDTH + columns.reduce((w, c) => w + columnWidth(fields.get(c)), 0) }}
          onKeyDown={onKeyDown}
          onClick={onClick}
          onFocus={onFocus}
          onBlur={onBlur}
        >
          <colgroup>
            <col style={{ width: ID_WIDTH }} />
            {columns.map((c) => (
              <col key={c} style={{ width: columnWidth(fields.get(c)) }} />
            ))}
          </colgroup>
          <thead>
            <tr aria-rowindex={1}>
              <th scope="col">Record ID</th>
              {columns.map((c) => {
                const f = fields.get(c);
                return (
                  <th scope="col" key={c} title={c}>
                    {fieldLabel(fields, c)}
                    {f && !f.writable && <VisuallyHidden> (read-only)</VisuallyHidden>}
                    {f && !f.writable && <span aria-hidden="true"> 🔒</span>}
                  </th>
                );
              })}
            </tr>
          </thead>
          <tbody>
            {paddingTop > 0 && (
              <tr aria-hidden="true">
                <td colSpan={colSpan} style={{ height: paddingTop, padding: 0, border: 0 }} />
              </tr>
            )}
            {items.map((item) => {
              const record = records[item.index];
              if (!record) {
                return (
                  <tr key="more" className={classes.loaderRow} aria-hidden="true">
                    <td colSpan={colSpan}>Loading more records…</td>
                  </tr>
                );
              }
              const isActiveRow = item.index === active.row;
              return (
                <Row
                  key={record.id}
                  index={item.index}
                  record={record}
                  columns={columns}
                  fields={fields}
                  rowEdits={editsByRow.get(record.id)}
                  rowProblems={problemsByRow.get(record.id)}
                  activeCol={isActiveRow ? active.col : -1}
                  tabbableCol={item.index === tabbableRow ? (isActiveRow ? active.col : 1) : -1}
                  editing={editing && editing.row === item.index ? editing : undefined}
                  readOnly={readOnly}
                  idPrefix={idPrefix}
                  onDraft={onDraft}
                />
              );
            })}
            {paddingBottom > 0 && (
              <tr aria-hidden="true">
                <td colSpan={colSpan} style={{ height: paddingBottom, padding: 0, border: 0 }} />
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <VisuallyHidden role="status" aria-live="polite">
        {announcement}
      </VisuallyHidden>
    </>
  );
}
