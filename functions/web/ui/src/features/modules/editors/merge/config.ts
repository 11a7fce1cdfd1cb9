// The merge editor's config logic, apart from React: every edit a person makes is one of these
// pure functions over the MergeConfig the API reads, so what the editor sends is exactly
// what these produce (tested against the API's own JSON Schema in config.test.ts).
import type { components } from "../../../../api/schema";

type S = components["schemas"];
/** The merge config: rule sets, a score (scored matching), or both (`rules` may be absent). */
export type MergeConfig = S["MergeConfig"];
export type RuleSet = S["RuleSet"];
export type Comparison = S["Comparison"];
export type Compare = S["Compare"];
export type Normalizer = S["Normalizer"];
export type MasterRule = S["MasterRule"];
export type MasterMode = S["MasterMode"];
export type FieldRule = S["FieldRule"];
export type FieldRuleName = Extract<FieldRule, string>;

/** What the API uses when a config leaves `master` out (MergeConfig's schema default). */
export const DEFAULT_MASTER_RULES: MasterRule[] = [{ rule: "oldest_created" }, { rule: "most_complete" }];
export const DEFAULT_MAX_GROUP_SIZE = 20;

export const COMPARES: { value: Compare; label: string }[] = [
  { value: "exact", label: "Exactly equal" },
  { value: "normalized", label: "Equal once normalized" },
  { value: "similar", label: "Similar (a score from 0 to 1)" },
  { value: "first_words", label: "First words equal" },
  { value: "first_chars", label: "First characters equal" },
];

export const NORMALIZERS: { value: Normalizer; label: string }[] = [
  { value: "text", label: "Text (case, accents and punctuation ignored)" },
  { value: "compact", label: "Text without spaces" },
  { value: "name", label: "Person's name" },
  { value: "nickname", label: "First name, nicknames as formal names" },
  { value: "company", label: "Company name (legal forms ignored)" },
  { value: "email", label: "Email address" },
  { value: "phone", label: "Phone number" },
  { value: "domain", label: "Web domain" },
  { value: "country", label: "Country" },
];

export type MasterRuleKind = MasterRule["rule"];
export const MASTER_RULES: { value: MasterRuleKind; label: string; field: boolean }[] = [
  { value: "oldest_created", label: "Created first", field: false },
  { value: "newest_created", label: "Created last", field: false },
  { value: "last_modified", label: "Modified last", field: false },
  { value: "most_complete", label: "Most fields filled in", field: false },
  { value: "priority", label: "A field's value, in order of preference", field: true },
  { value: "max", label: "Largest value of a field", field: true },
  { value: "min", label: "Smallest value of a field", field: true },
];

export const FIELD_RULES: { value: FieldRuleName; label: string }[] = [
  { value: "master_unless_empty", label: "Master's value, unless empty" },
  { value: "keep_master", label: "Master's value, even when empty" },
  { value: "newest", label: "Newest record's value" },
  { value: "oldest", label: "Oldest record's value" },
  { value: "most_common", label: "Most common value" },
  { value: "concatenate", label: "Every value, joined" },
  { value: "union", label: "Every option (multi-select)" },
  { value: "max", label: "Largest value" },
  { value: "min", label: "Smallest value" },
];

/** The field a new template matches on first, per object the sandbox and real CRMs have. */
const FIRST_MATCH: Record<string, { field: string; as: Normalizer; name: string }> = {
  contacts: { field: "email", as: "email", name: "Same email" },
  Contact: { field: "Email", as: "email", name: "Same email" },
  Lead: { field: "Email", as: "email", name: "Same email" },
  companies: { field: "domain", as: "domain", name: "Same domain" },
  Account: { field: "Website", as: "domain", name: "Same website" },
};

/**
 * A new template that can be previewed as it is: one rule set matching the object's email
 * (or domain), the API's default master rules, written out so a person sees and edits them.
 */
export function emptyConfig(object: string): MergeConfig {
  const first = FIRST_MATCH[object];
  const comparison: Comparison = first
    ? { field: first.field, compare: "normalized", as: first.as }
    : { field: "", compare: "exact" };
  return {
    object,
    rules: [{ name: first?.name ?? "Rule 1", all: [comparison] }],
    master: { mode: "by_priority", rules: [...DEFAULT_MASTER_RULES] },
  };
}

/** A new object: a config starting over on it (the old fields were the old object's). */
export function changeObject(config: MergeConfig, object: string): MergeConfig {
  if (object === config.object) return config;
  const fresh = emptyConfig(object);
  return { ...fresh, ...(config.max_group_size !== undefined ? { max_group_size: config.max_group_size } : {}) };
}

/** The config's rule sets (none when it matches by score only). */
export function rulesOf(config: MergeConfig): RuleSet[] {
  return config.rules ?? [];
}

function replaceAt<T>(list: readonly T[], i: number, item: T): T[] {
  return list.map((x, k) => (k === i ? item : x));
}
function removeAt<T>(list: readonly T[], i: number): T[] {
  return list.filter((_, k) => k !== i);
}
/** `list` with item `i` moved by `by` places (clamped to the list). */
export function move<T>(list: readonly T[], i: number, by: number): T[] {
  const to = Math.max(0, Math.min(list.length - 1, i + by));
  if (to === i || i < 0 || i >= list.length) return [...list];
  const out = [...list];
  const [item] = out.splice(i, 1);
  out.splice(to, 0, item as T);
  return out;
}

// --- Rule sets (OR) and their comparisons (AND) ---

export function newComparison(): Comparison {
  return { field: "", compare: "normalized", as: "text" };
}

export function addRuleSet(config: MergeConfig): MergeConfig {
  const rules = [...rulesOf(config), { name: `Rule ${rulesOf(config).length + 1}`, all: [newComparison()] }];
  return { ...config, rules };
}

export function removeRuleSet(config: MergeConfig, i: number): MergeConfig {
  return { ...config, rules: removeAt(rulesOf(config), i) };
}

export function renameRuleSet(config: MergeConfig, i: number, name: string): MergeConfig {
  const set = rulesOf(config)[i];
  if (!set) return config;
  const renamed: RuleSet = { ...set, name };
  if (!name) delete renamed.name;
  return { ...config, rules: replaceAt(rulesOf(config), i, renamed) };
}

export function addComparison(config: MergeConfig, i: number): MergeConfig {
  const set = rulesOf(config)[i];
  if (!set) return config;
  return { ...config, rules: replaceAt(rulesOf(config), i, { ...set, all: [...set.all, newComparison()] }) };
}

export function removeComparison(config: MergeConfig, i: number, j: number): MergeConfig {
  const set = rulesOf(config)[i];
  if (!set) return config;
  return { ...config, rules: replaceAt(rulesOf(config), i, { ...set, all: removeAt(set.all, j) }) };
}

export function updateComparison(config: MergeConfig, i: number, j: number, change: (c: Comparison) => Comparison): MergeConfig {
  const set = rulesOf(config)[i];
  const c = set?.all[j];
  if (!set || !c) return config;
  return { ...config, rules: replaceAt(rulesOf(config), i, { ...set, all: replaceAt(set.all, j, change(c)) }) };
}

/** The field names a comparison compares (`field`, or `fields`). */
export function comparisonFields(c: Comparison): string[] {
  if (c.fields && c.fields.length > 0) return c.fields;
  return c.field ? [c.field] : [];
}

/**
 * The fields picked: one is `field`, several are `fields` (compared as one). A comparison
 * already written with `fields` keeps that form for one field too, so a loaded template
 * is sent back as it came.
 */
export function setFields(c: Comparison, names: string[]): Comparison {
  const now = comparisonFields(c);
  if (now.length === names.length && now.every((f, i) => f === names[i])) return c;
  const rest = withoutKeys(c, ["field", "fields"]);
  if (names.length > 1 || (names.length === 1 && c.fields !== undefined && c.field == null)) return { ...rest, fields: names };
  return { ...rest, field: names[0] ?? "" };
}

/** Keys only some comparisons take; the API refuses them elsewhere. */
function withoutKeys(c: Comparison, keys: (keyof Comparison)[]): Comparison {
  const out = { ...c };
  for (const k of keys) delete out[k];
  return out;
}

/**
 * A new comparison kind: keys it does not take go (threshold and method are `similar`'s,
 * n is `first_*`'s, `as` is not `exact`'s), keys it needs get a sensible start.
 */
export function setCompare(c: Comparison, compare: Compare): Comparison {
  let out: Comparison = { ...c, compare };
  if (compare !== "similar") out = withoutKeys(out, ["threshold", "method"]);
  else if (out.threshold == null) out.threshold = 0.9;
  if (compare !== "first_words" && compare !== "first_chars") out = withoutKeys(out, ["n"]);
  else if (out.n == null) out.n = compare === "first_chars" ? 3 : 1;
  if (compare === "exact") out = withoutKeys(out, ["as", "ignore_dots", "ignore_plus", "default_region", "region_field"]);
  return out;
}

/** A new normalizer: email's and phone's own options go when it is neither. */
export function setNormalizer(c: Comparison, as: Normalizer): Comparison {
  let out: Comparison = { ...c, as };
  if (as !== "email") out = withoutKeys(out, ["ignore_dots", "ignore_plus"]);
  if (as !== "phone") out = withoutKeys(out, ["default_region", "region_field"]);
  return out;
}

/** `key` set to `value`, or removed when the value is empty (absent means the API's default). */
export function setOption<K extends keyof Comparison>(c: Comparison, key: K, value: Comparison[K] | undefined): Comparison {
  const out = { ...c };
  if (value === undefined || value === null || value === "" || value === false) delete out[key];
  else out[key] = value;
  return out;
}

export const takesNormalizer = (c: Comparison) => c.compare !== "exact";
export const takesThreshold = (c: Comparison) => c.compare === "similar";
export const takesCount = (c: Comparison) => c.compare === "first_words" || c.compare === "first_chars";

// --- Master rules, in order ---

export function masterRules(config: MergeConfig): MasterRule[] {
  return config.master?.rules ?? DEFAULT_MASTER_RULES;
}
export function masterMode(config: MergeConfig): MasterMode {
  return config.master?.mode ?? "by_priority";
}

function withMaster(config: MergeConfig, rules: MasterRule[], mode = masterMode(config)): MergeConfig {
  return { ...config, master: { ...config.master, mode, rules } };
}

export function setMasterMode(config: MergeConfig, mode: MasterMode): MergeConfig {
  return withMaster(config, masterRules(config), mode);
}

export function newMasterRule(kind: MasterRuleKind, field = ""): MasterRule {
  switch (kind) {
    case "priority":
      return { rule: "priority", field, values: [] };
    case "max":
    case "min":
      return { rule: kind, field };
    default:
      return { rule: kind };
  }
}

/** A master rule not yet in the list (so a new one decides something), else `last_modified`. */
export function addMasterRule(config: MergeConfig): MergeConfig {
  const rules = masterRules(config);
  const used = new Set(rules.map((r) => r.rule));
  const kind = (["oldest_created", "most_complete", "last_modified", "newest_created"] as const).find((k) => !used.has(k)) ?? "last_modified";
  return withMaster(config, [...rules, newMasterRule(kind)]);
}

export function removeMasterRule(config: MergeConfig, i: number): MergeConfig {
  return withMaster(config, removeAt(masterRules(config), i));
}

export function moveMasterRule(config: MergeConfig, i: number, by: number): MergeConfig {
  return withMaster(config, move(masterRules(config), i, by));
}

/** A different kind of rule at `i`, keeping its field where both take one. */
export function setMasterRuleKind(config: MergeConfig, i: number, kind: MasterRuleKind): MergeConfig {
  const rules = masterRules(config);
  const old = rules[i];
  if (!old || old.rule === kind) return config;
  const field = "field" in old ? old.field : "";
  return withMaster(config, replaceAt(rules, i, newMasterRule(kind, field)));
}

export function updateMasterRule(config: MergeConfig, i: number, rule: MasterRule): MergeConfig {
  return withMaster(config, replaceAt(masterRules(config), i, rule));
}

// --- Survivorship per field ---

export function fieldRuleName(rule: FieldRule | undefined): FieldRuleName {
  if (rule === undefined) return "master_unless_empty";
  return typeof rule === "string" ? rule : rule.rule;
}

export function fieldRuleSeparator(rule: FieldRule | undefined): string | undefined {
  return typeof rule === "object" && rule.rule === "concatenate" ? (rule.separator ?? "; ") : undefined;
}

/** The rule as the API reads it: a name, or concatenate with its separator. */
export function fieldRule(name: FieldRuleName, separator?: string): FieldRule {
  return name === "concatenate" ? { rule: "concatenate", separator: separator ?? "; " } : name;
}

export function survivorshipEntries(config: MergeConfig): [string, FieldRule][] {
  return Object.entries(config.survivorship?.fields ?? {});
}

export function setSurvivorshipDefault(config: MergeConfig, rule: FieldRule): MergeConfig {
  return { ...config, survivorship: { ...config.survivorship, default: rule } };
}

/** Sets `field`'s rule (a new field goes last; an existing one keeps its place). */
export function setFieldRule(config: MergeConfig, field: string, rule: FieldRule): MergeConfig {
  const fields = { ...config.survivorship?.fields, [field]: rule };
  return { ...config, survivorship: { ...config.survivorship, fields } };
}

/** Renames a field's rule in place (the rule and its position stay). */
export function renameFieldRule(config: MergeConfig, from: string, to: string): MergeConfig {
  if (from === to) return config;
  const fields = Object.fromEntries(
    survivorshipEntries(config)
      .filter(([f]) => f !== to)
      .map(([f, r]) => [f === from ? to : f, r]),
  );
  return { ...config, survivorship: { ...config.survivorship, fields } };
}

export function removeFieldRule(config: MergeConfig, field: string): MergeConfig {
  const fields = Object.fromEntries(survivorshipEntries(config).filter(([f]) => f !== field));
  const survivorship = { ...config.survivorship };
  if (Object.keys(fields).length > 0) survivorship.fields = fields;
  else delete survivorship.fields;
  return { ...config, survivorship };
}

// --- The rest ---

export function setMaxGroupSize(config: MergeConfig, size: number | undefined): MergeConfig {
  const out = { ...config };
  if (size === undefined) delete out.max_group_size;
  else out.max_group_size = size;
  return out;
}

export function setReadOnly(config: MergeConfig, fields: string[]): MergeConfig {
  const out = { ...config };
  if (fields.length === 0) delete out.read_only;
  else out.read_only = fields;
  return out;
}

/** RFC 6901: a map key as a pointer segment (the API names survivorship fields so). */
export function pointerSegment(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

/**
 * The pointers the editor shows beside an input (so the page's alert leaves them out). It
 * mirrors what the editor renders: an option it hides (a threshold on `exact`) is left to
 * the alert.
 */
export function claims(config: MergeConfig, pointer: string): boolean {
  if (["/config/object", "/config/rules", "/config/master", "/config/master/rules", "/config/master/mode", "/config/max_group_size", "/config/read_only", "/config/survivorship/default", "/config/survivorship/default/separator"].includes(pointer)) return true;
  if (/^\/config\/read_only\/\d+$/.test(pointer)) return true;
  let m = /^\/config\/rules\/(\d+)(?:\/(name|all))?$/.exec(pointer);
  if (m) return true;
  m = /^\/config\/rules\/(\d+)\/all\/(\d+)(?:\/([a-z_]+))?(?:\/\d+)?$/.exec(pointer);
  if (m) {
    const c = rulesOf(config)[Number(m[1])]?.all[Number(m[2])];
    if (!c) return false;
    const key = m[3];
    if (key === undefined || key === "field" || key === "fields" || key === "compare" || key === "allow_empty") return true;
    if (key === "as") return takesNormalizer(c);
    if (key === "threshold" || key === "method") return takesThreshold(c);
    if (key === "n") return takesCount(c);
    if (key === "ignore_dots" || key === "ignore_plus") return takesNormalizer(c) && c.as === "email";
    if (key === "default_region" || key === "region_field") return takesNormalizer(c) && c.as === "phone";
    return false;
  }
  m = /^\/config\/master\/rules\/(\d+)(?:\/(rule|field|values)(?:\/\d+)?)?$/.exec(pointer);
  if (m) return masterRules(config)[Number(m[1])] !== undefined;
  m = /^\/config\/survivorship\/fields\/([^/]+)(?:\/(separator|rule))?$/.exec(pointer);
  if (m) {
    const key = (m[1] ?? "").replace(/~1/g, "/").replace(/~0/g, "~");
    return survivorshipEntries(config).some(([f]) => f === key);
  }
  return false;
}
