// Each module's editor, loaded when its page opens (one chunk per editor): its empty config,
// its component, and which API error pointers it shows beside an input.
import type { ComponentType } from "react";
import type { Me, ModuleId } from "../../../api/session";
import type { Configs, EditorProps } from "./types";
import type { GridEditsProps } from "./grid";

export type AnyConfig = Configs[ModuleId];

export interface EditorModule {
  /** The config a new template starts with. */
  emptyConfig: (object: string) => AnyConfig;
  /** The editor (grid's also takes the cells edited so far). */
  Editor: ComponentType<EditorProps<AnyConfig> & Partial<GridEditsProps>>;
  /** Whether the editor shows the error at `pointer` beside an input (else the page's alert does). */
  claims: (config: AnyConfig, pointer: string) => boolean;
}

/** An editor that claims nothing: every problem also goes to the page's alert. */
const none = () => false;

function as<C extends AnyConfig, P>(Editor: ComponentType<EditorProps<C> & P>): EditorModule["Editor"] {
  return Editor as unknown as EditorModule["Editor"];
}

const loaders: Record<ModuleId, () => Promise<EditorModule>> = {
  merge: () => import("./merge").then((m) => ({ emptyConfig: m.emptyConfig, Editor: as(m.MergeEditor), claims: m.claims as EditorModule["claims"] })),
  bulk: () => import("./bulk").then((m) => ({ emptyConfig: m.emptyConfig, Editor: as(m.BulkEditor), claims: claimsOf(m) })),
  transform: () => import("./transform").then((m) => ({ emptyConfig: m.emptyConfig, Editor: as(m.TransformEditor), claims: claimsOf(m) })),
  grid: () => import("./grid").then((m) => ({ emptyConfig: m.emptyConfig, Editor: as(m.GridEditor), claims: claimsOf(m) })),
  validate: () => import("./validate").then((m) => ({ emptyConfig: m.emptyConfig, Editor: as(m.ValidateEditor), claims: claimsOf(m) })),
};

/** An editor module may export `claims(config, pointer)`; those that do not claim nothing. */
function claimsOf(m: object): EditorModule["claims"] {
  const c = (m as { claims?: unknown }).claims;
  return typeof c === "function" ? (c as EditorModule["claims"]) : none;
}

const loaded = new Map<ModuleId, Promise<EditorModule>>();

/** The module's editor, loaded once (the same promise each time, for React's `use`). */
export function loadEditor(module: ModuleId): Promise<EditorModule> {
  let p = loaded.get(module);
  if (!p) {
    p = loaders[module]();
    loaded.set(module, p);
  }
  return p;
}

/** The object a new template starts on, per CRM. */
export function defaultObject(crm: Me["account"]["crm"]): string {
  return crm === "salesforce" ? "Contact" : "contacts";
}
