// The input a cell shows while it is edited, by the field's type: a list for picklists and
// true/false, text otherwise (so a wrong value can be typed and its problem shown at once).
import { useEffect, useRef } from "react";
import type { CrmField } from "../../../../components/crm";
import classes from "./grid.module.css";

const PLACEHOLDER: Partial<Record<CrmField["type"], string>> = {
  number: "a number, e.g. 1500",
  date: "YYYY-MM-DD",
  date_time: "2024-01-31T09:00:00Z",
  email: "name@example.com",
};

export function CellEditor({
  field,
  label,
  draft,
  problem,
  problemId,
  onDraft,
}: {
  field: CrmField;
  label: string;
  draft: string;
  problem: string | undefined;
  problemId: string;
  onDraft: (value: string) => void;
}) {
  const ref = useRef<HTMLInputElement & HTMLSelectElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.focus({ preventScroll: true });
    if (el instanceof HTMLInputElement) el.setSelectionRange(el.value.length, el.value.length);
  }, []);

  const common = {
    ref,
    "aria-label": label,
    "aria-invalid": problem ? true : undefined,
    "aria-describedby": problem ? problemId : undefined,
    className: classes.editorInput,
    "data-cell-editor": "",
  } as const;

  let input;
  if (field.type === "enumeration" || field.type === "bool") {
    const options = field.type === "bool" ? ["true", "false"] : field.options;
    const known = draft === "" || options.includes(draft) || (field.type === "bool" && options.includes(draft.toLowerCase()));
    input = (
      <select {...common} value={field.type === "bool" && known ? draft.toLowerCase() : draft} onChange={(e) => onDraft(e.currentTarget.value)}>
        <option value="">(empty)</option>
        {!known && <option value={draft}>{draft} (not an option)</option>}
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    );
  } else {
    input = (
      <input
        {...common}
        type="text"
        inputMode={field.type === "number" ? "decimal" : field.type === "email" ? "email" : undefined}
        placeholder={PLACEHOLDER[field.type]}
        value={draft}
        spellCheck={false}
        autoComplete="off"
        onChange={(e) => onDraft(e.currentTarget.value)}
      />
    );
  }
  return (
    <>
      {input}
      {problem && (
        <div id={problemId} className={classes.message} role="alert">
          {problem}
        </div>
      )}
    </>
  );
}
